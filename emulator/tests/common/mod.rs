//! A tiny HTTP/1.1 client over a raw TCP socket (no extra dependencies), so
//! the tests drive the emulator over real HTTP on 127.0.0.1.
#![allow(dead_code)]

use base64::Engine;
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub async fn raw_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Resp {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..nl])
                    .split(';')
                    .next()
                    .unwrap()
                    .trim(),
                16,
            )
            .unwrap();
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Resp {
        status,
        headers,
        body,
    }
}

/// An emulator plus a token for its first environment.
pub struct Ctx {
    pub emu: Emulator,
    pub token: String,
    pub env: String,
}

pub async fn start() -> Ctx {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> Ctx {
    let emu = Emulator::start(config).await.expect("start emulator");
    let seed = emu.seed().clone();
    let token = get_token(
        emu.port(),
        &seed.environment_id,
        &seed.client_id,
        &seed.client_secret,
    )
    .await;
    Ctx {
        env: seed.environment_id.clone(),
        emu,
        token,
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

pub async fn get_token(port: u16, env: &str, id: &str, secret: &str) -> String {
    let r = raw_request(
        port,
        "POST",
        &format!("/{env}/as/token"),
        &[
            ("Authorization", &basic(id, secret)),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["access_token"].as_str().unwrap().to_string()
}

pub const ACTIVATE: &str = "application/vnd.pingidentity.device.activate+json";
pub const RESEND: &str = "application/vnd.pingidentity.device.sendActivationCode+json";
pub const REORDER: &str = "application/vnd.pingidentity.devices.reorder+json";
pub const ORDER_REMOVE: &str = "application/vnd.pingidentity.devices.order.remove+json";

impl Ctx {
    pub fn user(&self, i: usize) -> String {
        self.emu.seed().users[i].id.clone()
    }

    /// `{env}/...` relative path under /v1/environments/{env}.
    pub fn p(&self, rest: &str) -> String {
        format!("/v1/environments/{}{rest}", self.env)
    }

    pub async fn call(&self, method: &str, path: &str, ct: Option<&str>, body: &str) -> Resp {
        let auth = format!("Bearer {}", self.token);
        let mut h: Vec<(&str, &str)> = vec![("Authorization", &auth)];
        if let Some(ct) = ct {
            h.push(("Content-Type", ct));
        }
        raw_request(self.emu.port(), method, path, &h, body.as_bytes()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None, "").await
    }

    pub async fn post(&self, path: &str, ct: &str, body: &Value) -> Resp {
        self.call("POST", path, Some(ct), &body.to_string()).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.call("PUT", path, Some("application/json"), &body.to_string())
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None, "").await
    }

    /// Creates a device for user `u`; asserts 201 and returns the body.
    pub async fn create(&self, u: &str, body: Value) -> Value {
        let r = self
            .post(
                &self.p(&format!("/users/{u}/devices")),
                "application/json",
                &body,
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    pub async fn activate(&self, u: &str, d: &str, body: Value) -> Resp {
        self.post(&self.p(&format!("/users/{u}/devices/{d}")), ACTIVATE, &body)
            .await
    }

    pub async fn list(&self, u: &str, query: &str) -> Value {
        let r = self
            .get(&self.p(&format!("/users/{u}/devices{query}")))
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    pub async fn stop(self) {
        self.emu.shutdown().await;
    }
}

pub fn ids(list: &Value) -> Vec<String> {
    list["_embedded"]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn order_ids(list: &Value) -> Vec<String> {
    list["_embedded"]["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn assert_error(r: &Resp, status: u16, code: &str) -> Value {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["code"], code, "{v}");
    assert!(v["id"].as_str().is_some_and(|s| s.len() == 36), "{v}");
    assert!(v["message"].is_string(), "{v}");
    v
}

pub fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
