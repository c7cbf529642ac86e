//! Worker-app access tokens, fetched by the host with client credentials
//! and cached per tenant. The guest never sees a token or the secret: the
//! outbound hook attaches `Authorization: Bearer` after the guest is done
//! with the request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::outbound::HttpClient;
use crate::tenant::TenantInner;

/// Why no token could be had.
#[derive(Debug, Clone)]
pub(crate) struct TokenError {
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
}

struct Cached {
    /// The ready `Bearer ...` header, marked sensitive so hyper never logs it.
    header: http::HeaderValue,
    refresh_at: Instant,
}

/// One tenant's token. The mutex is held while fetching, so concurrent first
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
        tenant: &TenantInner,
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
        let (token, lifetime) = tokio::time::timeout(timeout, fetch(tenant, client))
            .await
            .map_err(|_| TokenError {
                status: None,
                code: "timeout".into(),
                message: format!("the token endpoint did not answer within {timeout:?}"),
            })??;
        // Refresh a little before PingOne would reject the token.
        let margin = (lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut header =
            http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| TokenError {
                status: None,
                code: "invalid_token".into(),
                message: "the token endpoint returned a token that is not a valid header value"
                    .into(),
            })?;
        header.set_sensitive(true);
        *slot = Some(Cached {
            header: header.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(header)
    }

    /// Forgets the cached token (PingOne said it is no longer valid).
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

/// `POST {auth}/{envId}/as/token` with `client_secret_basic`.
async fn fetch(
    tenant: &TenantInner,
    client: &HttpClient,
) -> Result<(String, Duration), TokenError> {
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        tenant.settings.client_id,
        tenant.settings.client_secret.expose()
    ));
    let mut authorization =
        http::HeaderValue::from_str(&format!("Basic {credentials}")).map_err(|_| TokenError {
            status: None,
            code: "invalid_client".into(),
            message: "the client ID or secret contains characters that cannot be sent".into(),
        })?;
    authorization.set_sensitive(true);
    let request = http::Request::post(&tenant.token_url)
        .header(http::header::AUTHORIZATION, authorization)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from_static(
            b"grant_type=client_credentials",
        )))
        .map_err(|e| TokenError {
            status: None,
            code: "invalid_request".into(),
            message: format!("cannot build the token request: {e}"),
        })?;
    let response = client.request(request).await.map_err(|e| TokenError {
        status: None,
        code: if e.is_connect() {
            "connection-refused"
        } else {
            "transport"
        }
        .into(),
        message: format!(
            "the token endpoint {} could not be reached",
            tenant.token_url
        ),
    })?;
    let status = response.status().as_u16();
    let body = http_body_util::Limited::new(response.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|_| TokenError {
            status: Some(status),
            code: "transport".into(),
            message: "the token response could not be read".into(),
        })?
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !(200..300).contains(&status) {
        let text = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        return Err(TokenError {
            status: Some(status),
            code: text("error")
                .or_else(|| text("code"))
                .unwrap_or_else(|| format!("HTTP_{status}")),
            message: text("error_description")
                .or_else(|| text("message"))
                .unwrap_or_else(|| "the token endpoint refused the client credentials".into()),
        });
    }
    let token = json
        .get("access_token")
        .and_then(|v| v.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError {
            status: Some(status),
            code: "invalid_response".into(),
            message: "the token response has no access_token".into(),
        })?;
    let lifetime = json
        .get("expires_in")
        .and_then(|v| v.as_u64())
        .unwrap_or(3600);
    Ok((token.to_owned(), Duration::from_secs(lifetime)))
}
