//! Flow runs from their graph: each node marked as the run reaches it,
//! waits answered in the page or by the emulator's end user, a step's
//! input and output on click, a run stopped.

use super::*;

#[test]
fn a_flow_runs_from_its_graph_each_node_marked_as_reached_its_otp_answered_in_the_page() {
    let Some((browser, dev)) = open_page(1280, 800) else {
        return;
    };
    run_one_time_flow(&browser, &dev, "page.runner@example.com", "watcher");
    let state = wait_for_run(&browser, "WAITING");
    assert!(state.contains("at askOtp"), "{state}");
    assert_eq!(nodes_marked(&browser, "reached"), json!(["start"]));
    assert_eq!(nodes_marked(&browser, "current"), json!(["askOtp"]));
    // The answer field has the focus; a wrong code first.
    let focused = browser.execute("return document.activeElement.id;", json!([]));
    assert_eq!(focused, json!("wait-answer"));
    browser.type_into("#wait-answer", "000000");
    browser.click("#wait-submit");
    // The flow asks again (its seventh state line counts four steps), and
    // the code comes from the emulator's outbox this time.
    wait_for_run(&browser, "WAITING at askOtp · 4 steps");
    assert_eq!(
        nodes_marked(&browser, "reached"),
        json!(["start", "askOtp", "check", "wrongOtp"])
    );
    browser.click("#wait-read-otp");
    let otp = browser.wait_for(
        "the OTP from the outbox",
        "const v = document.getElementById('wait-answer').value; return /^[0-9]{6}$/.test(v) && v;",
    );
    browser.click("#wait-submit");
    wait_for_run(&browser, "COMPLETED");
    assert_eq!(
        nodes_marked(&browser, "reached"),
        json!(["start", "askOtp", "check", "wrongOtp", "done"])
    );
    assert_eq!(nodes_marked(&browser, "current"), json!([]));
    let result = browser.text("#run-result");
    assert!(result.contains("COMPLETED"), "{result}");
    let steps = browser.execute(
        "return [...document.querySelectorAll('#run-steps button.step')].map(b => b.getAttribute('data-node'));",
        json!([]),
    );
    assert_eq!(
        steps,
        json!(["start", "askOtp", "check", "wrongOtp", "askOtp", "check", "done"])
    );
    // A click on a node shows its definition and both of its steps: the
    // code each was given and what PingOne answered.
    browser.click("#flow-graph .node[data-node=\"check\"]");
    let details = browser.execute(
        "return [...document.querySelectorAll('#flow-node .step-details [data-part=\"input\"]')].map(d => d.textContent);",
        json!([]),
    );
    let details = details.as_array().expect("the steps at the node");
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(
        details[0].as_str().unwrap().contains("000000"),
        "{details:?}"
    );
    assert!(
        details[1].as_str().unwrap().contains(otp.as_str().unwrap()),
        "{details:?}"
    );
    // A click on a step in the list shows that step.
    browser.click("#run-steps button.step[data-step=\"3\"]");
    let title = browser.text("#flow-node-title");
    assert!(title.contains("EVAL"), "{title}");
    assert_no_sideways_scroll(&browser);
    browser.execute(
        "document.getElementById('flow-title').scrollIntoView();",
        json!([]),
    );
    save_screenshot(&browser, "flow-run.png");
    // A second run, stopped at its wait: it ends CANCELLED, no longer asking.
    browser.click("#run-start");
    wait_for_run(&browser, "WAITING");
    browser.click("#run-cancel");
    wait_for_run(&browser, "CANCELLED");
    let asking = browser.execute(
        "return document.querySelector('#wait-form') !== null;",
        json!([]),
    );
    assert_eq!(asking, json!(false));
}

#[test]
fn a_flow_run_answered_by_the_emulators_end_user_marks_every_node_it_reaches() {
    let Some((browser, dev)) = open_page(1280, 800) else {
        return;
    };
    run_one_time_flow(&browser, &dev, "end.user@example.com", "endUser");
    wait_for_run(&browser, "COMPLETED");
    assert_eq!(
        nodes_marked(&browser, "reached"),
        json!(["start", "askOtp", "check", "done"])
    );
    // The end user read the code the emulator sent and answered with it.
    browser.click("#run-steps button.step[data-step=\"1\"]");
    let answer = browser.execute(
        "return document.querySelector('#flow-node .step-details [data-part=\"output\"]').textContent;",
        json!([]),
    );
    assert!(
        answer
            .as_str()
            .is_some_and(|a| a.chars().filter(char::is_ascii_digit).count() == 6),
        "{answer}"
    );
    // A bad input is marked in the run's form, as in a capability's.
    browser.click("[data-flow=\"one-time-device-authentication\"]");
    set_in(&browser, "#run-fields", "/userId", &first_user(&dev));
    browser.click("#run-start");
    let error = browser.text("#run-error");
    assert!(error.contains("flowInput"), "{error}");
    let invalid = browser.execute(
        "return [...document.querySelectorAll('#run-fields [aria-invalid]')].map(n => n.getAttribute('data-pointer'));",
        json!([]),
    );
    assert_eq!(
        invalid,
        json!(["/deviceType"]),
        "the missing field is marked"
    );
}
