//! Contract tests of the second connector, the HTTP connector ("make a REST
//! API call"), against its own test server (`connector_testkit::http_server`):
//! every authentication scheme the host performs, what the guest sees of
//! it, where requests may go, how errors and text answers come back, and
//! the operator's policy over a tenant-supplied base URL.

use connector_runtime::{Error, Limits, NetworkPolicy, Runtime, RuntimeConfig, Tenant, Trust};
use connector_testkit::http_server::{Credentials, TestServer};
use connector_testkit::{test_config, HTTP_CONNECTOR};
use serde_json::{json, Map, Value};

struct World {
    server: TestServer,
    runtime: Runtime,
}

impl World {
    async fn start() -> World {
        World::with(NetworkPolicy::default()).await
    }

    async fn with(network: NetworkPolicy) -> World {
        World {
            server: TestServer::start(Credentials::default()).await,
            runtime: connector_testkit::runtime(RuntimeConfig {
                network,
                ..test_config()
            })
            .await,
        }
    }

    fn connect(&self, settings: Value, trust: Trust) -> Result<Tenant, Error> {
        let connector = self.runtime.connector(HTTP_CONNECTOR).unwrap();
        let settings: Map<String, Value> = settings.as_object().cloned().unwrap();
        Tenant::connected(&connector, settings, trust, Limits::default())
    }

    fn operator(&self, settings: Value) -> Tenant {
        self.connect(settings, Trust::Operator)
            .expect("valid settings")
    }

    async fn call(&self, tenant: &Tenant, input: Value) -> Result<Value, Error> {
        self.runtime
            .invoke(tenant, "makeRestApiCall", &input.to_string())
            .await
    }
}

#[tokio::test]
async fn every_auth_scheme_is_added_by_the_host_and_hidden_from_the_guest() {
    let w = World::start().await;
    let c = w.server.credentials().clone();
    let base = w.server.url();
    let schemes = [
        ("none", json!({ "baseUrl": format!("{base}/open") }), None),
        (
            "apiKey",
            json!({ "baseUrl": format!("{base}/key"), "authType": "apiKey", "apiKey": c.api_key }),
            Some(("x-api-key", c.api_key.clone())),
        ),
        (
            "apiKey, own header",
            json!({ "baseUrl": format!("{base}/key"), "authType": "apiKey", "apiKeyHeader": "X-Custom-Key", "apiKey": c.api_key }),
            Some(("x-custom-key", c.api_key.clone())),
        ),
        (
            "bearer",
            json!({ "baseUrl": format!("{base}/bearer"), "authType": "bearer", "bearerToken": c.bearer }),
            Some(("authorization", format!("Bearer {}", c.bearer))),
        ),
        (
            "oauth2 (client_secret_basic)",
            json!({ "baseUrl": format!("{base}/oauth"), "authType": "oauth2", "tokenUrl": format!("{base}/token"),
                    "clientId": c.client_id, "clientSecret": c.client_secret, "scope": "read write" }),
            None,
        ),
        (
            "oauth2 (client_secret_post)",
            json!({ "baseUrl": format!("{base}/oauth"), "authType": "oauth2Post", "tokenUrl": format!("{base}/token"),
                    "clientId": c.client_id, "clientSecret": c.client_secret }),
            None,
        ),
    ];
    for (name, settings, header) in schemes {
        let tenant = w.operator(settings);
        let tokens_before = w.server.token_requests();
        for n in 0..2 {
            let out = w
                .call(
                    &tenant,
                    json!({ "method": "POST", "path": format!("items/{n}"), "query": { "q": "a b" },
                            "headers": { "X-Trace": "t-1" }, "body": { "n": n } }),
                )
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out["statusCode"], 200, "{name}");
            let echo = &out["rawResponse"];
            assert_eq!(echo["method"], "POST", "{name}");
            assert!(
                echo["path"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/items/{n}")),
                "{name}"
            );
            assert_eq!(echo["query"], "q=a%20b", "{name}");
            assert_eq!(echo["headers"]["x-trace"], "t-1", "{name}");
            assert_eq!(echo["body"], json!({ "n": n }).to_string(), "{name}");
            // The server echoed the credential; the guest's copy is masked.
            let shown = out.to_string();
            for secret in [&c.api_key, &c.bearer, &c.client_secret] {
                assert!(
                    !shown.contains(secret.as_str()),
                    "{name}: a secret reached the output"
                );
            }
            for token in w.server.issued_tokens() {
                assert!(
                    !shown.contains(&token),
                    "{name}: a token reached the output"
                );
            }
            let sent = w.server.requests().pop().unwrap();
            if let Some((header, value)) = &header {
                assert_eq!(
                    sent.headers.get(*header),
                    Some(value),
                    "{name}: the host added it"
                );
                let masked = echo["headers"][*header].as_str().unwrap();
                assert!(masked.contains("****"), "{name}: {masked}");
            }
        }
        if name.starts_with("oauth2") {
            assert_eq!(
                w.server.token_requests() - tokens_before,
                1,
                "{name}: one token for both calls"
            );
            assert_eq!(tenant.token_fetches(), 1);
        } else {
            assert_eq!(w.server.token_requests(), tokens_before, "{name}: no token");
        }
    }
}

#[tokio::test]
async fn a_wrong_credential_is_the_servers_refusal_and_the_token_endpoint_is_reserved() {
    let w = World::start().await;
    let c = w.server.credentials().clone();
    let base = w.server.url();
    let wrong_key = w.operator(json!({ "baseUrl": format!("{base}/key"), "authType": "apiKey", "apiKey": "not-the-right-key" }));
    match w.call(&wrong_key, json!({ "path": "x" })).await {
        Err(Error::Api {
            status: 401, code, ..
        }) => assert_eq!(code, "UNAUTHORIZED"),
        other => panic!("expected the server's 401, got {other:?}"),
    }
    let wrong_client = w.operator(json!({ "baseUrl": format!("{base}/oauth"), "authType": "oauth2",
        "tokenUrl": format!("{base}/token"), "clientId": c.client_id, "clientSecret": "not-the-right-secret" }));
    match w.call(&wrong_client, json!({ "path": "x" })).await {
        Err(Error::Token {
            status: Some(401),
            code,
            ..
        }) => assert_eq!(code, "invalid_client"),
        other => panic!("expected a token error, got {other:?}"),
    }
    // A base over the whole server would include the token endpoint: the
    // host keeps it to itself.
    let root = w.operator(
        json!({ "baseUrl": base, "authType": "oauth2", "tokenUrl": format!("{base}/token"),
        "clientId": c.client_id, "clientSecret": c.client_secret }),
    );
    match w
        .call(&root, json!({ "method": "POST", "path": "token" }))
        .await
    {
        Err(Error::Denied { reason, .. }) => assert!(reason.contains("reserved"), "{reason}"),
        other => panic!("expected the token endpoint to be denied, got {other:?}"),
    }
    w.call(&root, json!({ "path": "oauth/items" }))
        .await
        .expect("the rest of the base is served");
}

#[tokio::test]
async fn requests_stay_under_the_base_and_errors_keep_their_status() {
    let w = World::start().await;
    let base = w.server.url();
    let open = w.operator(json!({ "baseUrl": format!("{base}/open") }));
    for (input, pointer) in [
        (json!({ "path": "../key/x" }), ""),
        (
            json!({ "headers": { "Authorization": "Bearer forged" } }),
            "/headers/Authorization",
        ),
        (json!({ "headers": { "bad header": "x" } }), "/headers"),
        (json!({ "method": "CONNECT" }), "/method"),
    ] {
        match w.call(&open, input.clone()).await {
            Err(Error::InvalidInput { pointer: p, .. }) => assert_eq!(p, pointer, "{input}"),
            other => panic!("{input}: expected invalid input, got {other:?}"),
        }
    }
    // An encoded dot segment is only text: it is encoded again, so the
    // server cannot decode it into a step up.
    let sent = w
        .call(&open, json!({ "path": "a/%2e%2e/b" }))
        .await
        .unwrap();
    assert_eq!(sent["rawResponse"]["path"], "/open/a/%252e%252e/b");
    let status = w.operator(json!({ "baseUrl": format!("{base}/status/418") }));
    match w.call(&status, json!({ "path": "brew" })).await {
        Err(Error::Api {
            status: 418,
            code,
            message,
            id,
            ..
        }) => {
            assert_eq!(code, "E418");
            assert!(message.contains("418"));
            assert_eq!(id.as_deref(), Some("test-error"));
        }
        other => panic!("expected the server's 418, got {other:?}"),
    }
    let root = w.operator(json!({ "baseUrl": base }));
    let text = w.call(&root, json!({ "path": "text" })).await.unwrap();
    assert_eq!(text["rawResponse"], "hello, world");
    assert_eq!(text["headers"]["content-type"], "text/plain");
    let sent = w
        .call(&open, json!({ "method": "put", "path": "notes", "bodyText": "plain words", "contentType": "text/markdown" }))
        .await
        .unwrap();
    assert_eq!(sent["rawResponse"]["body"], "plain words");
    assert_eq!(
        sent["rawResponse"]["headers"]["content-type"],
        "text/markdown"
    );
}

#[tokio::test]
async fn settings_are_checked_against_the_connectors_schema() {
    let w = World::start().await;
    let base = w.server.url();
    for (settings, field) in [
        (json!({}), "baseUrl"),
        (json!({ "baseUrl": base, "authType": "magic" }), "authType"),
        (json!({ "baseUrl": base, "authType": "apiKey" }), "apiKey"),
        (
            json!({ "baseUrl": base, "authType": "oauth2", "clientId": "c", "clientSecret": "long-enough-secret" }),
            "tokenUrl",
        ),
        (json!({ "baseUrl": base, "unknown": 1 }), "unknown"),
        (json!({ "baseUrl": "ftp://example.com" }), "baseUrl"),
        (
            json!({ "baseUrl": base, "authType": "bearer", "bearerToken": "short" }),
            "bearerToken",
        ),
    ] {
        match w.connect(settings.clone(), Trust::Operator) {
            Err(Error::Tenant { field: f, message }) => {
                assert_eq!(f, field, "{settings}: {message}")
            }
            other => panic!("{settings}: expected a tenant error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_tenant_supplied_base_url_obeys_the_operators_policy() {
    let c = Credentials::default();
    // Without an allowance a tenant cannot point the connector at loopback.
    let w = World::start().await;
    let base = w.server.url();
    let settings =
        json!({ "baseUrl": format!("{base}/key"), "authType": "apiKey", "apiKey": c.api_key });
    match w.connect(settings.clone(), Trust::Tenant) {
        Err(Error::Tenant { field, .. }) => assert_eq!(field, "baseUrl"),
        other => panic!("expected the base URL to be refused, got {other:?}"),
    }
    for elsewhere in [
        "https://metadata.example.com",
        "http://169.254.169.254",
        "http://10.0.0.1/api",
    ] {
        match w.connect(json!({ "baseUrl": elsewhere }), Trust::Tenant) {
            Err(Error::Tenant { field, .. }) => assert_eq!(field, "baseUrl", "{elsewhere}"),
            other => panic!("{elsewhere}: expected a refusal, got {other:?}"),
        }
    }
    // The operator names the origin and allows the address: the same
    // tenant-supplied settings work, and a reference is still literal.
    let port = w.server.port();
    let allowing = World {
        server: w.server,
        runtime: connector_testkit::runtime(RuntimeConfig {
            network: NetworkPolicy {
                tenant_origins: vec![format!("http://127.0.0.1:{port}").parse().unwrap()],
                allow_internal: vec!["127.0.0.1/32".parse().unwrap()],
            },
            ..test_config()
        })
        .await,
    };
    let tenant = allowing.connect(settings, Trust::Tenant).unwrap();
    allowing
        .call(&tenant, json!({ "path": "x" }))
        .await
        .expect("an allowed origin is reached");
    std::env::set_var("HTTP_TEST_KEY", &c.api_key);
    let by_reference = json!({ "baseUrl": format!("{base}/key"), "authType": "apiKey", "apiKey": "env:HTTP_TEST_KEY" });
    let literal = allowing
        .connect(by_reference.clone(), Trust::Tenant)
        .unwrap();
    assert!(matches!(
        allowing.call(&literal, json!({ "path": "x" })).await,
        Err(Error::Api { status: 401, .. })
    ));
    let resolved = allowing.connect(by_reference, Trust::Operator).unwrap();
    allowing
        .call(&resolved, json!({ "path": "x" }))
        .await
        .expect("the operator's reference resolves");
    // The token endpoint of a tenant's OAuth settings is held to the policy too.
    let oauth = json!({ "baseUrl": format!("{base}/oauth"), "authType": "oauth2",
        "tokenUrl": "https://login.elsewhere.example/token", "clientId": c.client_id, "clientSecret": c.client_secret });
    match allowing.connect(oauth, Trust::Tenant) {
        Err(Error::Tenant { field, .. }) => assert_eq!(field, "tokenUrl"),
        other => panic!("expected the token URL to be refused, got {other:?}"),
    }
}
