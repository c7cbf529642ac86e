//! The playground page in a real browser: `connector-host serve --dev`
//! (the binary, on a loopback port) driven by headless Chromium over
//! WebDriver. Skipped, with the reason, only where no browser is installed
//! (`.ci/run` installs Debian's `chromium` and `chromium-driver`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use connector_testkit::webdriver::{keys, Browser};
use serde_json::{json, Value};

#[path = "playground/flow_runs.rs"]
mod flow_runs;
#[path = "playground/keyboard.rs"]
mod keyboard;

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

/// Saves what the browser shows as `name` under [`artifacts`].
fn save_screenshot(browser: &Browser, name: &str) {
    std::fs::write(artifacts().join(name), browser.screenshot()).expect("the screenshot");
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
    save_screenshot(&browser, "create-device.png");

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
    save_screenshot(&browser, "invalid-input.png");
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
    save_screenshot(&browser, "enrolled.png");
}

#[test]
fn a_narrow_window_scrolls_down_not_sideways() {
    let Some((browser, dev)) = open_page(420, 800) else {
        return;
    };
    browser.click("[data-capability=\"pingone-mfa/createDevice\"]");
    browser.find("#fields [data-pointer=\"/userId\"]");
    assert_no_sideways_scroll(&browser);
    save_screenshot(&browser, "narrow.png");
    // A flow's graph scrolls in its own box, and a run's form and steps fit.
    run_one_time_flow(&browser, &dev, "narrow@example.com", "endUser");
    wait_for_run(&browser, "COMPLETED");
    assert_no_sideways_scroll(&browser);
    save_screenshot(&browser, "narrow-flow-run.png");
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
    save_screenshot(&browser, "flow-graph.png");
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
