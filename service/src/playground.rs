//! The playground page at `/`: plain HTML, CSS and JavaScript embedded in
//! the binary (no framework, no build step, nothing fetched from elsewhere;
//! the page is small enough that a framework would be most of it). It
//! drives the service's own API with the key entered in the page.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The page.
pub const INDEX: &str = include_str!("../playground/index.html");
/// Its script.
pub const SCRIPT: &str = include_str!("../playground/app.js");
/// Its flow runs' script (watching a run on the graph, answering waits).
pub const RUNS_SCRIPT: &str = include_str!("../playground/runs.js");
/// Its style sheet.
pub const STYLE: &str = include_str!("../playground/app.css");

/// The media type each asset is served with.
pub fn content_type(operation: &str) -> Option<&'static str> {
    match operation {
        "playground" => Some("text/html; charset=utf-8"),
        "playgroundScript" | "playgroundRunsScript" => Some("text/javascript; charset=utf-8"),
        "playgroundStyle" => Some("text/css; charset=utf-8"),
        _ => None,
    }
}

/// An asset with headers that keep the page to itself: scripts, styles and
/// requests only from this origin, no inline script, no framing, no
/// referrer (the key never travels in a URL, but the page's address may
/// hold it in its fragment until the script removes it).
fn asset(operation: &str, body: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                content_type(operation).unwrap_or("text/plain"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                 img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn index() -> Response {
    asset("playground", INDEX)
}

pub(crate) async fn script() -> Response {
    asset("playgroundScript", SCRIPT)
}

pub(crate) async fn runs_script() -> Response {
    asset("playgroundRunsScript", RUNS_SCRIPT)
}

pub(crate) async fn style() -> Response {
    asset("playgroundStyle", STYLE)
}
