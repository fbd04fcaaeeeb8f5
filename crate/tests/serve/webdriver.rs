//! Just enough of the W3C WebDriver protocol to drive Debian's headless Chromium through
//! chromedriver: a session, navigation, elements, scripts, the window size and screenshots.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fashion_lab::serve::client;
use serde_json::{json, Value};

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both end when it is dropped.
pub struct Browser {
    driver: Child,
    host_port: String,
    session: String,
}

/// A file that must exist, else the test fails saying how to install it (set-up does).
pub fn required(path: &str) -> &str {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: the browser test needs Debian's Chromium and chromedriver. \
         Run `make setup` (tools/setup-chromium.sh), or `apt-get install chromium chromium-driver`"
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium of `width`×`height` whose profile lives in
    /// `profile` (a fresh folder).
    pub fn start(
        chromium: &str,
        chromedriver: &str,
        profile: &Path,
        width: u32,
        height: u32,
    ) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--log-level=SEVERE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut browser = Browser {
            driver,
            host_port: format!("127.0.0.1:{port}"),
            session: String::new(),
        };
        let started = Instant::now();
        while !browser
            .raw("GET", "/status", None)
            .is_some_and(|v| v["value"]["ready"] == true)
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let answer = browser.call("POST", "/session", Some(capabilities));
        browser.session = answer["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let kind = (method == "POST").then_some("application/json");
        client::request(
            &self.host_port,
            method,
            path,
            kind,
            body.as_bytes(),
            Duration::from_secs(60),
        )
        .ok()?
        .json()
        .ok()
    }

    /// A WebDriver command's `value`; a WebDriver error fails the test with its message.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = match (method, body) {
            ("POST", None) => Some(json!({})),
            (_, body) => body,
        };
        let answer = self
            .raw(method, path, body)
            .unwrap_or_else(|| panic!("chromedriver did not answer {method} {path}"));
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!(
                "WebDriver {method} {path}: {error}: {}",
                answer["value"]["message"]
            );
        }
        answer["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn navigate(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The first element `css` matches.
    pub fn find(&self, css: &str) -> String {
        let found = self.session_call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found[ELEMENT].as_str().expect("an element").to_string()
    }

    /// Types into an element; for a file input, the paths of the files (one a line).
    pub fn send_keys(&self, element: &str, text: &str) {
        self.session_call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn click(&self, element: &str) {
        self.session_call("POST", &format!("/element/{element}/click"), None);
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns what it returns.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script`, which ends by calling its last argument with the result (a promise's
    /// `then`, say).
    pub fn execute_async(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Runs `script` until it returns something other than null or false, every 50 ms, at most
    /// `timeout`.
    pub fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let started = Instant::now();
        loop {
            let value = self.execute(script, json!([]));
            if !value.is_null() && value != false {
                return value;
            }
            assert!(started.elapsed() < timeout, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn set_window(&self, width: u32, height: u32) {
        self.session_call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// The viewport as a PNG.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.session_call("GET", "/screenshot", None);
        base64_decode(encoded.as_str().expect("base64 text"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        self.driver.kill().ok();
        self.driver.wait().ok();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    sextets
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().fold(0u32, |n, &s| n << 6 | u32::from(s)) << (6 * (4 - c.len()));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            bytes.into_iter().take(c.len().saturating_sub(1))
        })
        .collect()
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGVsbG8h"), b"hello!");
    assert_eq!(base64_decode("aGk="), b"hi");
}
