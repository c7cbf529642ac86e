//! The playground page in a real browser: `connector-host serve --dev`
//! (the binary, on a loopback port) driven by headless Chromium over
//! WebDriver. Skipped, with the reason, only where no browser is installed
//! (`.ci/run` installs Debian's `chromium` and `chromium-driver`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use connector_testkit::webdriver::{keys, Browser};
use serde_json::{json, Value};

/// `serve --dev` on a free port, and its announcement line.
struct Dev {
    child: Child,
    announced: Value,
}

impl Dev {
    fn start() -> Dev {
        let mut child = Command::new(env!("CARGO_BIN_EXE_connector-host"))
            .args(["serve", "--dev", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the announcement");
        let announced = serde_json::from_str(&line).expect("a JSON announcement");
        Dev { child, announced }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots are kept: `target/playground/`.
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/playground");
    std::fs::create_dir_all(&dir).expect("the artifacts directory");
    dir
}

/// A browser at `width` x `height` on a fresh `serve --dev`'s page; `None`
/// where no browser is installed.
fn open_page(width: u32, height: u32) -> Option<(Browser, Dev)> {
    let browser = Browser::start(width, height)?;
    let dev = Dev::start();
    browser.goto(dev.announced["page"].as_str().expect("the page URL"));
    Some((browser, dev))
}

/// The emulator's first user.
fn first_user(dev: &Dev) -> String {
    dev.announced["emulator"]["users"][0]["id"]
        .as_str()
        .expect("a user")
        .to_owned()
}

/// The page is no wider than the window: it scrolls down, not sideways.
fn assert_no_sideways_scroll(browser: &Browser) {
    let overflow = browser.execute(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        json!([]),
    );
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "{overflow} px wider than the window"
    );
}

/// Sets the capability form's field at JSON pointer `pointer` (a text
/// input or a select).
fn set(browser: &Browser, pointer: &str, value: &str) {
    set_in(browser, "#fields", pointer, value);
}

/// Sets the field at JSON pointer `pointer` of the form `root` (a CSS
/// selector).
fn set_in(browser: &Browser, root: &str, pointer: &str, value: &str) {
    browser.execute(
        "const node = document.querySelector(arguments[0] + ' [data-pointer=\"' + arguments[1] + '\"]');\
         node.value = node.tagName === 'SELECT' ? JSON.stringify(arguments[2]) : arguments[2];\
         node.dispatchEvent(new Event('input', { bubbles: true }));",
        json!([root, pointer, value]),
    );
}

#[test]
fn create_device_from_its_form_and_a_bad_field_marked() {
    let Some((browser, dev)) = open_page(1280, 800) else {
        return;
    };
    let user = first_user(&dev);
    // The key came in the fragment and left the address bar.
    let address = browser.execute("return location.href;", json!([]));
    assert!(
        !address.as_str().unwrap_or_default().contains("key="),
        "{address}"
    );

    browser.click("[data-capability=\"pingone-mfa/createDevice\"]");
    browser.find("#fields [data-pointer=\"/userId\"]");
    // Every field has a label.
    let unlabelled = browser.execute(
        "return [...document.querySelectorAll('#fields input, #fields select, #fields textarea')]\
         .filter(n => !document.querySelector('label[for=\"' + n.id + '\"]')).length;",
        json!([]),
    );
    assert_eq!(unlabelled, json!(0));

    set(&browser, "/userId", &user);
    set(&browser, "/deviceType", "SMS");
    set(&browser, "/status", "ACTIVE");
    set(&browser, "/phone", "+15125550101");
    set(&browser, "/createDeviceTestMode", "true");
    browser.click("#invoke");
    let output = browser.wait_for(
        "the output",
        "const o = document.querySelector('#output'); return o && o.textContent;",
    );
    let output = output.as_str().unwrap_or_default();
    assert!(output.contains("SMS"), "{output}");
    assert!(output.contains("rawResponse"), "{output}");
    std::fs::write(artifacts().join("create-device.png"), browser.screenshot())
        .expect("the screenshot");

    // A value the schema refuses: the field is marked, with the reason.
    set(&browser, "/status", "BOGUS");
    browser.click("#invoke");
    let marked = browser.wait_for(
        "the marked field",
        "const n = document.querySelector('#fields [data-pointer=\"/status\"]');\
         return n && n.getAttribute('aria-invalid') === 'true' && document.activeElement === n;",
    );
    assert_eq!(marked, json!(true));
    let kind = browser.execute(
        "return document.querySelector('[data-error-field=\"kind\"]').textContent;",
        json!([]),
    );
    assert_eq!(kind, json!("invalidInput"));
    std::fs::write(artifacts().join("invalid-input.png"), browser.screenshot())
        .expect("the screenshot");
}

/// The status heading of the execution the page shows, once it is `wanted`.
fn wait_for_status(browser: &Browser, wanted: &str) {
    let script = format!(
        "const h = document.querySelector('#enrollment-status'); return h && h.textContent === {};",
        json!(wanted)
    );
    browser.wait_for(wanted, &script);
}

#[test]
fn enrollment_step_by_hand_to_enrolled_with_the_otp_from_the_outbox() {
    let Some((browser, dev)) = open_page(1280, 800) else {
        return;
    };
    let user = first_user(&dev);
    browser.click("#open-enrollment");
    browser.type_into("#enroll-user", &user);
    browser.click("#enroll-start");
    wait_for_status(&browser, "DEVICE_ENROLLMENT_REQUIRED");
    let allowed = browser.execute(
        "return [...document.querySelectorAll('#create-type option')].map(o => o.value);",
        json!([]),
    );
    assert!(
        allowed.as_array().unwrap().contains(&json!("SMS")),
        "{allowed}"
    );
    browser.execute(
        "document.querySelector('#create-type').value = 'SMS';",
        json!([]),
    );
    browser.click("form[data-action=\"device.create\"] button[type=\"submit\"]");
    wait_for_status(&browser, "ACTIVATION_REQUIRED");
    browser.click("#read-otp");
    browser.wait_for(
        "the OTP from the outbox",
        "return document.querySelector('#activate-otp').value;",
    );
    browser.click("form[data-action=\"device.activate\"] button[type=\"submit\"]");
    wait_for_status(&browser, "COMPLETED: ENROLLED");
    std::fs::write(artifacts().join("enrolled.png"), browser.screenshot()).expect("the screenshot");
}

#[test]
fn a_narrow_window_scrolls_down_not_sideways() {
    let Some((browser, dev)) = open_page(420, 800) else {
        return;
    };
    browser.click("[data-capability=\"pingone-mfa/createDevice\"]");
    browser.find("#fields [data-pointer=\"/userId\"]");
    assert_no_sideways_scroll(&browser);
    std::fs::write(artifacts().join("narrow.png"), browser.screenshot()).expect("the screenshot");
    // A flow's graph scrolls in its own box, and a run's form and steps fit.
    run_one_time_flow(&browser, &dev, "narrow@example.com", "endUser");
    wait_for_run(&browser, "COMPLETED");
    assert_no_sideways_scroll(&browser);
    std::fs::write(
        artifacts().join("narrow-flow-run.png"),
        browser.screenshot(),
    )
    .expect("the screenshot");
}

#[test]
fn a_flow_definition_as_a_graph_with_its_node_types() {
    let Some((browser, _dev)) = open_page(1280, 800) else {
        return;
    };
    browser.click("[data-flow=\"sign-on-and-mfa\"]");
    browser.find("#flow-graph svg");
    let definition: Value = serde_json::from_slice(
        &std::fs::read(connector_testkit::templates::flows_dir().join("sign-on-and-mfa.json"))
            .expect("the flow file"),
    )
    .expect("JSON");
    let elements = &definition["graphData"]["elements"];
    let counts = browser.execute(
        "return [document.querySelectorAll('#flow-graph .node').length,\
                 document.querySelectorAll('#flow-graph .edge').length,\
                 [...document.querySelectorAll('#flow-graph .node')].map(n => n.getAttribute('data-type'))];",
        json!([]),
    );
    assert_eq!(
        counts[0],
        json!(elements["nodes"].as_array().unwrap().len())
    );
    assert_eq!(
        counts[1],
        json!(elements["edges"].as_array().unwrap().len())
    );
    let types: Vec<&str> = elements["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["data"]["nodeType"].as_str().unwrap())
        .collect();
    assert_eq!(counts[2], json!(types));
    browser.click("#flow-graph .node[data-node=\"readUser\"]");
    let title = browser.wait_for(
        "the node's details",
        "const h = document.querySelector('#flow-node-title'); return h && h.textContent;",
    );
    assert_eq!(title, json!("CONNECTION: Read the user's MFA state"));
    // The graph scrolls in its own box; the page does not scroll sideways.
    assert_no_sideways_scroll(&browser);
    std::fs::write(artifacts().join("flow-graph.png"), browser.screenshot())
        .expect("the screenshot");
}

#[test]
fn a_connection_is_saved_with_its_secret_write_only() {
    let Some((browser, _dev)) = open_page(1280, 800) else {
        return;
    };
    browser.click("[data-connect=\"pingone-mfa\"]");
    browser.find("#connection-fields [data-pointer=\"/clientSecret\"]");
    let secret_input = browser.execute(
        "const n = document.querySelector('#connection-fields [data-pointer=\"/clientSecret\"]');\
         return n && [n.type, n.value];",
        json!([]),
    );
    assert_eq!(secret_input, json!(["password", ""]));
    let secret = "page-secret-0123456789";
    browser.type_into("#connection-tenant", "acme-page");
    for (pointer, value) in [
        ("/environmentId", "0b4a8f6e-5a1c-4c8e-9d7e-1f2a3b4c5d6e"),
        ("/clientId", "0b4a8f6e-5a1c-4c8e-9d7e-1f2a3b4c5d6f"),
        ("/clientSecret", secret),
    ] {
        browser.type_into(
            &format!("#connection-fields [data-pointer=\"{pointer}\"]"),
            value,
        );
    }
    browser.click("#connect");
    let saved = browser.wait_for(
        "the saved connection",
        "const o = document.querySelector('#connection-saved'); return o && o.textContent;",
    );
    assert!(
        saved.as_str().unwrap_or_default().contains("acme-page"),
        "{saved}"
    );
    // Written once, then gone: in no field, no text and no storage of the page.
    let seen = browser.execute(
        "const values = [...document.querySelectorAll('input')].map(n => n.value).join(' ');\
         const stored = JSON.stringify(Object.assign({}, sessionStorage, localStorage));\
         return [document.body.innerText, values, stored].some(t => t.includes(arguments[0]));",
        json!([secret]),
    );
    assert_eq!(seen, json!(false));
}

/// What the focused element is, read from the page without changing it:
/// its tag, id and form pointer, its accessible name (from
/// `aria-labelledby`, `aria-label`, its `<label>`s or, for a button, its
/// own text), whether it can be seen (it has a size, lies in the viewport,
/// give or take the pixel that scrolling it into view may leave, and is
/// the element actually drawn at its centre), whether the browser
/// counts the focus as one to show (`:focus-visible`), and the outline,
/// box shadow or, for a graph's node (SVG), the thick stroke of its box
/// that shows it.
const FOCUS: &str = "const n = document.activeElement;\
    if (!n || n === document.body) return null;\
    const text = (ids) => ids.split(/\\s+/).map((id) => document.getElementById(id))\
        .filter(Boolean).map((e) => e.textContent).join(' ');\
    const own = n.tagName === 'BUTTON' || n.tagName === 'SUMMARY' || n.getAttribute('role') === 'button';\
    const name = [n.getAttribute('aria-labelledby') ? text(n.getAttribute('aria-labelledby')) : '',\
        n.getAttribute('aria-label') || '', [...(n.labels || [])].map((l) => l.textContent).join(' '),\
        own ? n.textContent : ''].map((t) => t.trim()).find(Boolean) || '';\
    const r = n.getBoundingClientRect();\
    const style = getComputedStyle(n);\
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);\
    const visible = r.width > 0 && r.height > 0 && r.top >= -1 && r.left >= -1\
        && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1\
        && style.visibility === 'visible' && !!hit && (hit === n || n.contains(hit));\
    const transparent = (c) => c === 'transparent' || /^rgba\\(.*,\\s*0\\)$/.test(c);\
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0\
        && !transparent(style.outlineColor);\
    const box = n instanceof SVGElement ? n.querySelector('rect') : null;\
    const stroke = box ? getComputedStyle(box) : null;\
    const marked = !!stroke && parseFloat(stroke.strokeWidth) >= 3 && !transparent(stroke.stroke);\
    return { tag: n.tagName.toLowerCase(), id: n.id, pointer: n.getAttribute('data-pointer'),\
        capability: n.getAttribute('data-capability'), value: n.value === undefined ? null : n.value,\
        name, visible, focusVisible: n.matches(':focus-visible'),\
        indicator: outline ? style.outlineStyle + ' ' + style.outlineWidth + ' ' + style.outlineColor\
            : marked ? 'stroke ' + stroke.strokeWidth + ' ' + stroke.stroke\
            : (style.boxShadow !== 'none' ? style.boxShadow : '') };";

/// The focused element, as [`FOCUS`] reads it, after checking what a
/// keyboard user needs of every stop: that it is visible, has an
/// accessible name and shows that it has the focus.
fn focus_stop(browser: &Browser) -> Value {
    let stop = browser.execute(FOCUS, json!([]));
    assert!(!stop.is_null(), "nothing has the focus");
    assert_eq!(
        stop["visible"],
        json!(true),
        "focused but not visible: {stop}"
    );
    assert!(
        !stop["name"].as_str().unwrap_or_default().is_empty(),
        "focused but with no accessible name: {stop}"
    );
    assert_eq!(
        stop["focusVisible"],
        json!(true),
        "the browser does not show this focus: {stop}"
    );
    assert!(
        !stop["indicator"].as_str().unwrap_or_default().is_empty(),
        "focused with no outline or box shadow to show it: {stop}"
    );
    stop
}

/// Presses Tab until `wanted` (a read-only script; `arguments` are `args`)
/// says the focus is where the test wants it, checking each stop on the
/// way with [`focus_stop`]; fails the test after `max` presses. Returns the
/// stops in the order it passed them, the wanted one last.
fn tab_until(browser: &Browser, wanted: &str, args: Value, max: usize) -> Vec<Value> {
    let mut stops = Vec::new();
    for _ in 0..max {
        browser.press(keys::TAB);
        stops.push(focus_stop(browser));
        if browser.execute(wanted, args.clone()) == json!(true) {
            return stops;
        }
    }
    panic!("{max} presses of Tab did not reach the focus `{wanted}` wants");
}

/// The create-device walk of the first test by keyboard alone: Tab to the
/// capability, Enter to open it, keys typed into whatever has the focus,
/// Enter on the Invoke button. Scripts only read where the focus is, and
/// every stop on the way is checked by [`focus_stop`].
#[test]
fn a_keyboard_only_walkthrough() {
    let Some((browser, dev)) = open_page(1280, 800) else {
        return;
    };
    let user = first_user(&dev);
    // The catalog arrives after the page: wait for it before counting Tabs.
    browser.find("[data-capability=\"pingone-mfa/createDevice\"]");

    // From the top of the page, through the header and the catalog, to the
    // capability; Enter opens its form and puts the focus in it.
    let mut stops = tab_until(
        &browser,
        "return document.activeElement.getAttribute('data-capability') === 'pingone-mfa/createDevice';",
        json!([]),
        60,
    );
    let create = stops.last().expect("a stop");
    assert_eq!(create["tag"], json!("button"), "{create}");
    browser.press(keys::ENTER);
    browser.wait_for(
        "the focus in the capability's form",
        "return document.querySelector('#fields').contains(document.activeElement);",
    );

    // Every field on the way to the Invoke button is a stop; the test types
    // into those the create-device test fills, whatever their order.
    let mut wanted: Vec<(&str, &str)> = vec![
        ("/userId", &user),
        ("/deviceType", "SMS"),
        ("/status", "ACTIVE"),
        ("/phone", "+15125550101"),
        ("/createDeviceTestMode", "true"),
    ];
    stops.push(focus_stop(&browser));
    while let Some(stop) = stops.last().filter(|s| s["id"] != json!("invoke")) {
        let pointer = stop["pointer"].as_str().unwrap_or_default().to_owned();
        if let Some(at) = wanted.iter().position(|(p, _)| *p == pointer) {
            let (_, value) = wanted.remove(at);
            browser.press(value);
            let typed = browser.execute("return document.activeElement.value;", json!([]));
            assert_eq!(typed, json!(value), "typed into {pointer}");
        }
        let remaining: Vec<&str> = wanted.iter().map(|(p, _)| *p).collect();
        stops.extend(tab_until(
            &browser,
            "const n = document.activeElement;\
             return n.id === 'invoke' || arguments[0].includes(n.getAttribute('data-pointer'));",
            json!([remaining]),
            40,
        ));
    }
    assert!(wanted.is_empty(), "the form has no fields for {wanted:?}");

    // Shift+Tab goes back to the stop before the button, and Tab returns.
    browser.shift_tab();
    let back = focus_stop(&browser);
    assert_eq!(back["id"], stops[stops.len() - 2]["id"], "{back}");
    browser.press(keys::TAB);
    assert_eq!(focus_stop(&browser)["id"], json!("invoke"));

    browser.press(keys::ENTER);
    let output = browser.wait_for(
        "the output",
        "const o = document.querySelector('#output'); return o && o.textContent;",
    );
    let output = output.as_str().unwrap_or_default();
    assert!(output.contains("SMS"), "{output}");
    assert!(output.contains("rawResponse"), "{output}");
    assert!(output.contains(&user), "{output}");
    // The answer scrolls into view; the focus, still on the button, must
    // not be left behind out of sight.
    assert_eq!(focus_stop(&browser)["id"], json!("invoke"));
    std::fs::write(artifacts().join("keyboard-only.png"), browser.screenshot())
        .expect("the screenshot");
}

/// Opens the one-time device flow's graph and starts a run of it for the
/// first user's one-time email address, its waits answered by `answered_by`.
fn run_one_time_flow(browser: &Browser, dev: &Dev, email: &str, answered_by: &str) {
    browser.click("[data-flow=\"one-time-device-authentication\"]");
    browser.find("#run-form");
    set_in(browser, "#run-fields", "/userId", &first_user(dev));
    set_in(browser, "#run-fields", "/deviceType", "Email");
    set_in(browser, "#run-fields", "/email", email);
    browser.execute(
        "document.getElementById('run-answered-by').value = arguments[0];",
        json!([answered_by]),
    );
    browser.click("#run-start");
}

/// Waits until the run's state line starts with `wanted`; returns it.
fn wait_for_run(browser: &Browser, wanted: &str) -> String {
    let script = format!(
        "const h = document.querySelector('#run-state'); return h && h.textContent.startsWith({}) && h.textContent;",
        json!(wanted)
    );
    browser
        .wait_for(wanted, &script)
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The graph's nodes with `class`, in the graph's order.
fn nodes_marked(browser: &Browser, class: &str) -> Value {
    browser.execute(
        "return [...document.querySelectorAll('#flow-graph .node.' + arguments[0])].map(n => n.getAttribute('data-node'));",
        json!([class]),
    )
}

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
    std::fs::write(artifacts().join("flow-run.png"), browser.screenshot()).expect("the screenshot");
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

/// A flow run by keyboard alone: Tab to the flow, Enter to open it (the
/// focus goes to its first node), Tab through its nodes into the run's
/// form, keys typed into its fields, Enter to run; the wait's answer field
/// takes the focus, the OTP is read from the outbox with Enter on a button
/// and sent with Enter; then a step of the list opens with Enter. Every stop
/// is checked by [`focus_stop`].
#[test]
fn a_flow_run_by_keyboard_alone() {
    let Some((browser, dev)) = open_page(1280, 800) else {
        return;
    };
    let user = first_user(&dev);
    browser.find("[data-flow=\"one-time-device-authentication\"]");
    tab_until(
        &browser,
        "return document.activeElement.getAttribute('data-flow') === 'one-time-device-authentication';",
        json!([]),
        80,
    );
    browser.press(keys::ENTER);
    browser.wait_for(
        "the focus on the flow's first node",
        "return document.activeElement.getAttribute('data-node') === 'start';",
    );
    let node = focus_stop(&browser);
    assert!(
        node["name"].as_str().unwrap().starts_with("CONNECTION"),
        "{node}"
    );
    // Enter on a node shows its definition.
    browser.press(keys::ENTER);
    let title = browser.text("#flow-node-title");
    assert!(title.starts_with("CONNECTION"), "{title}");

    let mut wanted: Vec<(&str, &str)> = vec![
        ("/userId", &user),
        ("/deviceType", "Email"),
        ("/email", "keys.only@example.com"),
    ];
    while !wanted.is_empty() {
        let remaining: Vec<&str> = wanted.iter().map(|(p, _)| *p).collect();
        let stop = tab_until(
            &browser,
            "return arguments[0].includes(document.activeElement.getAttribute('data-pointer'));",
            json!([remaining]),
            40,
        )
        .pop()
        .expect("a stop");
        let pointer = stop["pointer"].as_str().unwrap_or_default().to_owned();
        let at = wanted
            .iter()
            .position(|(p, _)| *p == pointer)
            .expect("wanted");
        let (_, value) = wanted.remove(at);
        browser.press(value);
        let typed = browser.execute("return document.activeElement.value;", json!([]));
        // A select holds its option's JSON value.
        let shown = if pointer == "/deviceType" {
            json!(format!("\"{value}\""))
        } else {
            json!(value)
        };
        assert_eq!(typed, shown, "typed into {pointer}");
    }
    tab_until(
        &browser,
        "return document.activeElement.id === 'run-start';",
        json!([]),
        10,
    );
    browser.press(keys::ENTER);
    wait_for_run(&browser, "WAITING");
    browser.wait_for(
        "the focus on the wait's answer",
        "return document.activeElement.id === 'wait-answer';",
    );
    focus_stop(&browser);
    tab_until(
        &browser,
        "return document.activeElement.id === 'wait-read-otp';",
        json!([]),
        3,
    );
    browser.press(keys::ENTER);
    browser.wait_for(
        "the OTP in the focused field",
        "const n = document.activeElement; return n.id === 'wait-answer' && /^[0-9]{6}$/.test(n.value);",
    );
    browser.press(keys::ENTER);
    wait_for_run(&browser, "COMPLETED");
    assert_eq!(
        nodes_marked(&browser, "reached"),
        json!(["start", "askOtp", "check", "done"])
    );
    // The focus left with the answered form; from the top of the page,
    // Tab reaches the run's steps, and Enter opens one.
    browser.execute("document.activeElement.blur();", json!([]));
    tab_until(
        &browser,
        "return document.activeElement.getAttribute('data-step') === '2';",
        json!([]),
        120,
    );
    browser.press(keys::ENTER);
    let output = browser.text("#flow-node .step-details");
    assert!(
        output.contains("validateOtpDeviceAuthentication"),
        "{output}"
    );
}
