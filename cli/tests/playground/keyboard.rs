//! The page by keyboard alone: a capability's form and a flow run, every
//! focus stop checked to be visible, named and showing its focus.

use super::*;

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
    save_screenshot(&browser, "keyboard-only.png");
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
