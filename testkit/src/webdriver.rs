//! A headless Chromium driven over WebDriver, for the playground's browser
//! tests: `chromedriver` on a loopback port, one session, the handful of
//! commands the tests use. Blocking and dependency-free (WebDriver is JSON
//! over HTTP/1.1), so a test needs no async runtime of its own.

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// WebDriver's special keys: the protocol names each by a character of
/// Unicode's private-use area, so they go in the same string as the text
/// given to [`Browser::press`] (for example `"+1512\u{E004}"`, which types
/// the digits and then presses Tab).
pub mod keys {
    /// Tab: moves the focus to the next element in the tab order.
    pub const TAB: &str = "\u{E004}";
    /// Enter (Return): activates a button, submits a form from a text field.
    pub const ENTER: &str = "\u{E007}";
    /// Shift, as a modifier: see [`super::Browser::shift_tab`].
    pub const SHIFT: &str = "\u{E008}";
    /// Space, which WebDriver sends as the character itself.
    pub const SPACE: &str = " ";
    /// The down arrow: the next option of a select, the next radio button.
    pub const ARROW_DOWN: &str = "\u{E015}";
}

/// A browser session; the driver and the browser end when it is dropped.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

/// Where the browser and its driver are, when installed.
fn installed() -> Option<(&'static str, &'static str)> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    Some((chromium, driver))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at `width` x `height`;
    /// `None` (with the reason on stderr) when neither is installed.
    pub fn start(width: u32, height: u32) -> Option<Browser> {
        let Some((chromium, driver)) = installed() else {
            eprintln!("skipped: no chromium and chromedriver (Debian: apt-get install chromium chromium-driver)");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser = Browser {
            driver: child,
            port,
            session: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while browser.call("GET", "/status", None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": [
                "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                format!("--window-size={width},{height}")
            ] }
        } } });
        let created = browser
            .call("POST", "/session", Some(capabilities))
            .expect("a browser session");
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        Some(browser)
    }

    /// One WebDriver command: its `value`, or the driver's error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .map_err(|e| e.to_string())?;
        // Read one response by its framing: chromedriver keeps the
        // connection open whatever the request says.
        let mut reader = std::io::BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).map_err(|e| e.to_string())?;
        let (mut length, mut chunked) = (None, false);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let mut payload = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).map_err(|e| e.to_string())?;
                let size = usize::from_str_radix(size.trim(), 16).map_err(|e| e.to_string())?;
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).map_err(|e| e.to_string())?;
                if size == 0 {
                    break;
                }
                payload.extend_from_slice(&chunk[..size]);
            }
        } else {
            payload.resize(length.ok_or("no content-length")?, 0);
            reader.read_exact(&mut payload).map_err(|e| e.to_string())?;
        }
        let payload = String::from_utf8_lossy(&payload).into_owned();
        let head = status;
        let answer: Value =
            serde_json::from_str(&payload).map_err(|e| format!("{e}: {payload}"))?;
        let ok = head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200");
        if ok {
            Ok(answer["value"].clone())
        } else {
            Err(answer["value"].to_string())
        }
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body)
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"))
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let path = format!("/session/{}/element", self.session);
            let found = self.call(
                "POST",
                &path,
                Some(json!({ "using": "css selector", "value": css })),
            );
            if let Ok(element) = found {
                return element[ELEMENT]
                    .as_str()
                    .unwrap_or_else(|| panic!("not an element: {element}"))
                    .to_owned();
            }
            assert!(Instant::now() < deadline, "no element matches {css}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The text of the first element matching `css` (its `textContent`),
    /// waiting up to 10 s for it.
    pub fn text(&self, css: &str) -> String {
        self.find(css);
        self.execute(
            "return document.querySelector(arguments[0]).textContent;",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Clicks the element `css` names.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    /// Types `text` into the element `css` names.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Presses and releases each character of `keys` in turn, as a user
    /// typing on the keyboard: the strokes go to whatever element has the
    /// focus, not to an element the caller names, so a test can only reach
    /// a field the way a keyboard user would. Text and the special keys of
    /// [`keys`] mix freely.
    pub fn press(&self, keys: &str) {
        let strokes = keys
            .chars()
            .flat_map(|key| {
                let key = key.to_string();
                [
                    json!({ "type": "keyDown", "value": key }),
                    json!({ "type": "keyUp", "value": key }),
                ]
            })
            .collect();
        self.perform_keys(strokes);
    }

    /// Shift+Tab: moves the focus to the previous element in the tab order.
    pub fn shift_tab(&self) {
        self.perform_keys(vec![
            json!({ "type": "keyDown", "value": keys::SHIFT }),
            json!({ "type": "keyDown", "value": keys::TAB }),
            json!({ "type": "keyUp", "value": keys::TAB }),
            json!({ "type": "keyUp", "value": keys::SHIFT }),
        ]);
    }

    /// Performs `strokes` (`keyDown` and `keyUp` actions) through the W3C
    /// Actions API, as one keyboard's input source. Every key pressed is
    /// released within the same call, so no modifier stays held down for
    /// the next command.
    fn perform_keys(&self, strokes: Vec<Value>) {
        self.command(
            "POST",
            "/actions",
            Some(json!({ "actions": [
                { "type": "key", "id": "keyboard", "actions": strokes }
            ] })),
        );
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Waits up to 10 s for `script` to return a truthy value; returns it.
    pub fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let value = self.execute(script, json!([]));
            if !(value.is_null() || value == json!(false) || value == json!("")) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let data = self.command("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64"))
            .expect("a PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = self.call("DELETE", &path, None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
