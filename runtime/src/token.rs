//! OAuth 2 client-credentials tokens, fetched by the host and cached per
//! connection. The guest never sees a token or the secret: the outbound
//! hook attaches `Authorization: Bearer` after the guest is done with the
//! request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use connector_manifest::ClientAuth;

use crate::connection::OAuth2;
use crate::outbound::HttpClient;
use crate::resolver::refusal;
use crate::scrub::{Scrubber, MIN_SCRUBBED_LEN};

/// The longest token lifetime the host believes. Client-credentials tokens
/// typically live an hour; a larger `expires_in` (up to `u64::MAX` from a broken or
/// hostile endpoint) would overflow `Instant + Duration`.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The lifetime assumed when the token response has no `expires_in`
/// (RFC 6749 makes it optional).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Why no token could be had. Every text is already scrubbed of the
/// connection's credentials.
#[derive(Debug, Clone)]
pub(crate) struct TokenError {
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
    /// The network policy refused the token endpoint's address.
    pub refused: bool,
}

impl TokenError {
    fn new(status: Option<u16>, code: &str, message: impl Into<String>) -> TokenError {
        TokenError {
            status,
            code: code.into(),
            message: message.into(),
            refused: false,
        }
    }
}

struct Cached {
    /// The ready `Bearer ...` header, marked sensitive so hyper never logs it.
    header: http::HeaderValue,
    refresh_at: Instant,
}

/// One connection's token. The mutex is held while fetching, so concurrent first
/// calls wait for one token request instead of each sending their own.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: tokio::sync::Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

impl TokenCache {
    /// The `Authorization` header value, fetching a token when there is none
    /// or it is about to expire.
    pub async fn bearer(
        &self,
        grant: &OAuth2,
        scrubber: &Scrubber,
        client: &HttpClient,
        timeout: Duration,
    ) -> Result<http::HeaderValue, TokenError> {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref() {
            if Instant::now() < cached.refresh_at {
                return Ok(cached.header.clone());
            }
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let (token, lifetime) = tokio::time::timeout(timeout, fetch(grant, client))
            .await
            .map_err(|_| {
                TokenError::new(
                    None,
                    "timeout",
                    format!(
                        "the token endpoint did not answer within firstByteTimeoutMs ({} ms)",
                        timeout.as_millis()
                    ),
                )
            })?
            .map_err(|mut e| {
                // The endpoint may quote the credential it was sent.
                e.code = scrubber.text(&e.code);
                e.message = scrubber.text(&e.message);
                e
            })?;
        // Refresh a little before the server would reject the token.
        let margin = (lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut header = http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            TokenError::new(
                None,
                "invalid_token",
                "the token endpoint returned a token that is not a valid header value",
            )
        })?;
        header.set_sensitive(true);
        *slot = Some(Cached {
            header: header.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(header)
    }

    /// Forgets the cached token (the server said it is no longer valid).
    pub async fn invalidate(&self, rejected: &http::HeaderValue) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|c| c.header == *rejected) {
            *slot = None;
        }
    }

    /// How many tokens were requested.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

/// `POST {tokenUrl}` with `grant_type=client_credentials`, the client
/// authenticated by HTTP Basic or in the form body.
async fn fetch(grant: &OAuth2, client: &HttpClient) -> Result<(String, Duration), TokenError> {
    let mut form = String::from("grant_type=client_credentials");
    let mut add = |key: &str, value: &str| {
        form.push('&');
        form.push_str(key);
        form.push('=');
        form.push_str(&connector_manifest::template::encode(value));
    };
    if let Some(scope) = &grant.scope {
        add("scope", scope);
    }
    let mut request = http::Request::post(&grant.token_url);
    match grant.method {
        ClientAuth::ClientSecretBasic => {
            request = request.header(http::header::AUTHORIZATION, grant.basic.clone());
        }
        ClientAuth::ClientSecretPost => {
            add("client_id", &grant.client_id);
            add("client_secret", grant.client_secret.expose());
        }
    }
    let request = request
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from(form)))
        .map_err(|e| {
            TokenError::new(
                None,
                "invalid_request",
                format!("cannot build the token request: {e}"),
            )
        })?;
    let response = client.request(request).await.map_err(|e| {
        if let Some(reason) = refusal(&e) {
            return TokenError {
                refused: true,
                ..TokenError::new(None, "denied", reason)
            };
        }
        let code = if e.is_connect() {
            "connection-refused"
        } else {
            "transport"
        };
        TokenError::new(
            None,
            code,
            format!(
                "the token endpoint {} could not be reached",
                grant.token_url
            ),
        )
    })?;
    let status = response.status().as_u16();
    let body = http_body_util::Limited::new(response.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|_| {
            TokenError::new(
                Some(status),
                "transport",
                "the token response could not be read in full (at most 64 KiB)",
            )
        })?
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !(200..300).contains(&status) {
        let text = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        return Err(TokenError::new(
            Some(status),
            &text("error")
                .or_else(|| text("code"))
                .unwrap_or_else(|| format!("HTTP_{status}")),
            text("error_description")
                .or_else(|| text("message"))
                .unwrap_or_else(|| "the token endpoint refused the client credentials".into()),
        ));
    }
    let invalid = |message: &str| TokenError::new(Some(status), "invalid_response", message);
    let token = json
        .get("access_token")
        .and_then(|v| v.as_str())
        .ok_or_else(|| invalid("the token response has no access_token"))?;
    // A shorter token could not be masked where a server echoes it.
    if token.len() < MIN_SCRUBBED_LEN {
        return Err(invalid("the access_token is shorter than 8 characters"));
    }
    let lifetime = lifetime(json.get("expires_in")).map_err(|m| invalid(&m))?;
    Ok((token.to_owned(), lifetime))
}

/// The token's lifetime from `expires_in`: a positive number of seconds (a
/// numeric string too, which some servers send), capped at
/// [`MAX_TOKEN_LIFETIME`]; [`DEFAULT_TOKEN_LIFETIME`] when absent.
fn lifetime(expires_in: Option<&serde_json::Value>) -> Result<Duration, String> {
    use serde_json::Value;
    let seconds = match expires_in {
        None | Some(Value::Null) => return Ok(DEFAULT_TOKEN_LIFETIME),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match seconds {
        Some(s) if s.is_finite() && s >= 1.0 => Ok(Duration::from_secs_f64(
            s.min(MAX_TOKEN_LIFETIME.as_secs_f64()),
        )),
        _ => Err("expires_in must be a positive number of seconds".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifetimes_are_validated_and_capped() {
        let of = |v: serde_json::Value| lifetime(Some(&v));
        assert_eq!(lifetime(None), Ok(DEFAULT_TOKEN_LIFETIME));
        assert_eq!(of(json!(3600)), Ok(Duration::from_secs(3600)));
        assert_eq!(of(json!("120")), Ok(Duration::from_secs(120)));
        assert_eq!(of(json!(u64::MAX)), Ok(MAX_TOKEN_LIFETIME));
        assert_eq!(of(json!(1e300)), Ok(MAX_TOKEN_LIFETIME));
        for bad in [json!(-5), json!(0), json!("soon"), json!(true), json!([1])] {
            assert!(of(bad.clone()).is_err(), "{bad}");
        }
    }
}
