//! Every route answering its documented success: the open and catalog
//! routes, an invocation, the metrics, and the admin API.

use super::*;

#[tokio::test]
async fn public_and_catalog_routes_invoke_and_metrics_answer() {
    let w = World::start(Options::default()).await;
    let anyone = w.served.client(None);
    let health = expect(anyone.get("/healthz").await, 200, None);
    assert_eq!(health.json, json!({ "status": "ok" }));
    let ready = expect(anyone.get("/readyz").await, 200, None);
    assert_eq!(
        (
            ready.json["status"].as_str(),
            ready.json["connectors"].as_u64()
        ),
        (Some("ready"), Some(3))
    );
    let document = expect(w.acme.get("/openapi.json").await, 200, None);
    assert_eq!(document.json, openapi::document());

    let listed = expect(w.acme.get("/v1/connectors").await, 200, None);
    let connectors = listed.json["connectors"].as_array().unwrap();
    for name in [PINGONE, HTTP_CONNECTOR] {
        let c = connectors
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {}", listed.text));
        let capabilities = c["capabilities"].as_array().unwrap();
        assert!(!capabilities.is_empty(), "{name}");
        for cap in capabilities {
            for field in ["id", "witFunction", "title"] {
                assert!(cap[field].is_string(), "{name}: {field} in {cap}");
            }
        }
    }
    let manifest = expect(w.acme.get("/v1/connectors/pingone-mfa").await, 200, None);
    assert_eq!(manifest.json["name"], PINGONE);
    assert!(
        manifest.json["capabilities"].is_array(),
        "{}",
        manifest.text
    );
    let path = "/v1/connectors/pingone-mfa/capabilities/readUserMFAEnabled";
    let capability = expect(w.acme.get(path).await, 200, None);
    assert_eq!(capability.json["id"], "readUserMFAEnabled");
    assert!(
        capability.json["inputSchema"]["properties"]["userId"].is_object(),
        "{}",
        capability.text
    );
    assert!(
        capability.json["outputSchema"].is_object(),
        "{}",
        capability.text
    );

    let user = json!({ "userId": w.user() });
    let out = expect(
        w.acme
            .invoke("acme", PINGONE, "readUserMFAEnabled", &user)
            .await,
        200,
        None,
    );
    assert_eq!(out.json["mfaEnabled"], false);

    let metrics = expect(w.admin.get("/metrics").await, 200, None);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let counter = r#"connector_invocations_total{tenant="acme",connector="pingone-mfa",capability="readUserMFAEnabled",outcome="ok"} 1"#;
    assert!(metrics.text.contains(counter), "{}", metrics.text);
    let seed = w.emulator.seed();
    for secret in [
        ADMIN_KEY,
        ACME_KEY,
        &digest_hex(ADMIN_KEY),
        &digest_hex(ACME_KEY),
        &seed.client_secret,
    ] {
        assert!(
            !metrics.text.contains(secret),
            "a key or secret in the metrics"
        );
    }
}

#[tokio::test]
async fn admin_routes_manage_tenants_connections_and_the_tenants_file() {
    let w = World::start(Options {
        tenants_may_reach_emulator: true,
        tenants_file: true,
        ..Options::default()
    })
    .await;
    let names = |a: &Answer| -> Vec<String> {
        a.json["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tenant"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = expect(w.admin.get("/v1/admin/tenants").await, 200, None);
    assert_eq!(names(&list), ["acme", "filed", "globex"]);
    let acme = expect(w.admin.get("/v1/admin/tenants/acme").await, 200, None);
    assert_eq!(
        acme.json["connections"],
        json!([{ "connector": "misbehaving", "trust": "operator" }, { "connector": PINGONE, "trust": "operator" }])
    );
    assert!(acme.json["stats"]["invocations"].is_u64(), "{}", acme.text);
    assert!(
        !acme.text.contains(&w.emulator.seed().client_secret),
        "settings are never shown"
    );
    expect(
        w.admin.get("/v1/admin/tenants/nobody").await,
        404,
        Some("notFound"),
    );

    // A tenant's settings are literal: its secret "env:HOME" is sent as
    // written, so it works once PingOne's secret is that very string (it
    // would fail had the service read $HOME instead).
    let seed = &w.emulator.seeds()[1];
    assert!(w
        .emulator
        .set_client_secret(&seed.environment_id, "env:HOME"));
    let mut settings = pingone_settings(&w.emulator, seed);
    settings.insert("clientSecret".into(), json!("env:HOME"));
    let put = "/v1/admin/tenants/newco/connections/pingone-mfa";
    let added = expect(
        w.admin
            .send("PUT", put, Value::Object(settings.clone()).to_string())
            .await,
        200,
        None,
    );
    assert_eq!(
        added.json["connections"],
        json!([{ "connector": PINGONE, "trust": "tenant" }])
    );
    let user = json!({ "userId": seed.users[0].id });
    expect(
        w.admin
            .invoke("newco", PINGONE, "readUserMFAEnabled", &user)
            .await,
        200,
        None,
    );

    // Even where the operator allows the emulator's origin, localhost is
    // never a tenant's to name; nothing is changed by a refused PUT.
    let mut local = settings.clone();
    local.insert(
        "authUrl".into(),
        json!(w.emulator.auth_url().replace("127.0.0.1", "localhost")),
    );
    let refused = expect(
        w.admin
            .send(
                "PUT",
                "/v1/admin/tenants/other/connections/pingone-mfa",
                Value::Object(local).to_string(),
            )
            .await,
        400,
        Some("tenant"),
    );
    expect_in_error(&refused, "field", "authUrl");
    expect(
        w.admin.get("/v1/admin/tenants/other").await,
        404,
        Some("notFound"),
    );
    expect(
        w.admin.send("PUT", put, "[1]").await,
        400,
        Some("badRequest"),
    );
    expect(
        w.admin
            .send("PUT", "/v1/admin/tenants/newco/connections/nothing", "{}")
            .await,
        404,
        Some("notFound"),
    );

    // Reloading replaces the file's tenants and keeps the admin API's; an
    // invalid file changes nothing.
    let file = w.folder.as_ref().unwrap().join("tenants.toml");
    std::fs::write(
        &file,
        tenants_toml(&w.emulator, w.emulator.seed(), &["filed", "filed2"]),
    )
    .unwrap();
    let reloaded = expect(
        w.admin.send("POST", "/v1/admin/reload", "").await,
        200,
        None,
    );
    assert_eq!(reloaded.json, json!({ "tenantsFromFile": 2 }));
    let mine = json!({ "userId": w.user() });
    expect(
        w.admin
            .invoke("filed2", PINGONE, "readUserMFAEnabled", &mine)
            .await,
        200,
        None,
    );
    for broken in [
        "this is not [toml",
        "[tenants.filed]\nenvironmentId = 5\n",
        "[tenants.filed3.limits]\nnoSuchLimit = 1\n",
    ] {
        std::fs::write(&file, broken).unwrap();
        let answer = w.admin.send("POST", "/v1/admin/reload", "").await;
        expect(answer, 400, Some("tenant"));
        let list = expect(w.admin.get("/v1/admin/tenants").await, 200, None);
        assert_eq!(
            names(&list),
            ["acme", "filed", "filed2", "globex", "newco"],
            "{broken}"
        );
    }
    expect(
        w.admin
            .invoke("filed", PINGONE, "readUserMFAEnabled", &mine)
            .await,
        200,
        None,
    );

    let connection = "/v1/admin/tenants/newco/connections/pingone-mfa";
    expect(w.admin.send("DELETE", connection, "").await, 204, None);
    expect(
        w.admin.send("DELETE", connection, "").await,
        404,
        Some("notFound"),
    );
    expect(
        w.admin
            .invoke("newco", PINGONE, "readUserMFAEnabled", &user)
            .await,
        500,
        Some("tenant"),
    );
    expect(
        w.admin.send("DELETE", "/v1/admin/tenants/newco", "").await,
        204,
        None,
    );
    expect(
        w.admin.send("DELETE", "/v1/admin/tenants/newco", "").await,
        404,
        Some("notFound"),
    );
    expect(
        w.admin
            .invoke("newco", PINGONE, "readUserMFAEnabled", &user)
            .await,
        404,
        Some("unknownTenant"),
    );
    if let Some(folder) = &w.folder {
        let _ = std::fs::remove_dir_all(folder);
    }
}
