//! Every error mapping of `errors.rs` HTTP can reach, the tenant's queue
//! and the host's pool, and the API keys with their scopes.

use super::*;

#[tokio::test]
async fn errors_map_to_their_statuses() {
    let server = ServerLimits {
        max_body_bytes: 2048,
        ..ServerLimits::default()
    };
    let w = World::start(Options {
        server,
        ..Options::default()
    })
    .await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut offline = w.settings();
    // The token comes from the emulator; the API is a closed port.
    offline.insert("apiUrl".into(), json!(format!("http://{closed}/v1")));
    let runtime = w.served.service.runtime();
    let pingone = runtime.connector(PINGONE).unwrap();
    let tenant = Tenant::connected(&pingone, offline, Trust::Operator, tight_limits()).unwrap();
    w.served.service.registry().insert("offline", tenant);
    let mut wrong = w.settings();
    wrong.insert("clientSecret".into(), json!("not-the-secret"));
    w.add_tenant("badsecret", Limits::default(), wrong);
    w.add_tenant("tight", tight_limits(), w.settings());
    w.emulator
        .inject(Fault::new("hang-user", FaultAction::Hang));

    let user = w.user();
    let c = &w.admin;
    let bad = expect(
        c.invoke("acme", PINGONE, "readUserMFAEnabled", &json!({}))
            .await,
        400,
        Some("invalidInput"),
    );
    assert_eq!(bad.json["error"]["pointer"], "/userId");
    let path = "/v1/tenants/acme/connectors/misbehaving/capabilities/echo";
    expect(
        c.send("POST", path, vec![0xff, 0xfe]).await,
        400,
        Some("invalidInput"),
    );
    expect(
        c.invoke("acme", PINGONE, "noSuchCapability", &json!({}))
            .await,
        404,
        Some("unknownCapability"),
    );
    expect(
        c.invoke(
            "acme",
            "no-such-connector",
            "readUserMFAEnabled",
            &json!({}),
        )
        .await,
        404,
        Some("unknownConnector"),
    );
    expect(
        c.invoke("nobody", PINGONE, "readUserMFAEnabled", &json!({}))
            .await,
        404,
        Some("unknownTenant"),
    );
    expect(
        c.get("/v1/connectors/no-such-connector").await,
        404,
        Some("unknownConnector"),
    );
    expect(
        c.get("/v1/connectors/pingone-mfa/capabilities/nothing")
            .await,
        404,
        Some("unknownCapability"),
    );

    // PingOne's own refusal is kept: its status, code and message.
    let api = expect(
        c.invoke(
            "acme",
            PINGONE,
            "readUserMFAEnabled",
            &json!({ "userId": "nobody" }),
        )
        .await,
        502,
        Some("api"),
    );
    let e = &api.json["error"];
    assert_eq!(
        (e["status"].as_u64(), e["code"].as_str()),
        (Some(404), Some("NOT_FOUND")),
        "{}",
        api.text
    );
    assert!(
        !e["message"].as_str().unwrap_or_default().is_empty(),
        "{}",
        api.text
    );
    expect(
        c.invoke(
            "offline",
            PINGONE,
            "readUserMFAEnabled",
            &json!({ "userId": user }),
        )
        .await,
        502,
        Some("transport"),
    );
    expect(
        c.invoke(
            "badsecret",
            PINGONE,
            "readUserMFAEnabled",
            &json!({ "userId": user }),
        )
        .await,
        502,
        Some("token"),
    );
    expect(
        c.invoke(
            "acme",
            "misbehaving",
            "fetch",
            &json!({ "url": "https://example.com/" }),
        )
        .await,
        502,
        Some("denied"),
    );
    let hung = expect(
        c.invoke(
            "tight",
            PINGONE,
            "readUserMFAEnabled",
            &json!({ "userId": "hang-user" }),
        )
        .await,
        504,
        Some("transport"),
    );
    expect_in_error(&hung, "code", "timeout");

    // The guest's own failures are the connector's: 500.
    expect(
        c.invoke("acme", "misbehaving", "panic", &json!({})).await,
        500,
        Some("trap"),
    );
    expect(
        c.invoke("acme", "misbehaving", "badOutput", &json!({}))
            .await,
        500,
        Some("invalidOutput"),
    );
    let spun = expect(
        c.invoke("tight", "misbehaving", "spin", &json!({})).await,
        500,
        Some("limit"),
    );
    assert_eq!(spun.json["error"]["limit"], "cpu", "{}", spun.text);
    expect(
        c.invoke("offline", "misbehaving", "echo", &json!({})).await,
        500,
        Some("tenant"),
    );

    // Too large: the tenant's input bound, then the server's body bound.
    let padding = json!({ "padding": "x".repeat(200) });
    let input = expect(
        c.invoke("tight", "misbehaving", "echo", &padding).await,
        413,
        Some("limit"),
    );
    assert_eq!(input.json["error"]["limit"], "inputSize", "{}", input.text);
    let huge = json!({ "padding": "x".repeat(4096) });
    expect(
        c.invoke("acme", "misbehaving", "echo", &huge).await,
        413,
        Some("payloadTooLarge"),
    );
    expect(c.get("/v1/nothing/here").await, 404, Some("notFound"));
    expect(
        c.send("DELETE", "/v1/connectors", "").await,
        405,
        Some("methodNotAllowed"),
    );

    // Under the default network policy a tenant may not name loopback.
    // Each time only one URL is overridden, so the refusal must name it.
    for (field, other, host) in [
        ("apiUrl", "authUrl", "127.0.0.1"),
        ("authUrl", "apiUrl", "localhost"),
    ] {
        let mut settings = w.settings();
        settings.remove(other);
        let url = settings[field].as_str().unwrap().replace("127.0.0.1", host);
        settings.insert(field.into(), json!(url));
        let put = "/v1/admin/tenants/intruder/connections/pingone-mfa";
        let refused = expect(
            c.send("PUT", put, Value::Object(settings).to_string())
                .await,
            400,
            Some("tenant"),
        );
        assert!(
            refused.json["error"]["field"]
                .as_str()
                .unwrap()
                .contains(field),
            "{}",
            refused.text
        );
    }
    expect(
        c.get("/v1/admin/tenants/intruder").await,
        404,
        Some("notFound"),
    );
    expect(
        c.invoke("acme", "misbehaving", "echo", &json!({ "alive": true }))
            .await,
        200,
        None,
    );
}

#[tokio::test]
async fn a_full_queue_answers_429_a_full_pool_503_and_the_wall_clock_504() {
    let w = World::start(Options {
        max_instances: Some(1),
        ..Options::default()
    })
    .await;
    let limits = Limits {
        max_concurrent: 1,
        max_queued: 0,
        wall_time: Duration::from_secs(3),
        ..Limits::default()
    };
    w.add_tenant("slow", limits, w.settings());
    let client = w.admin.clone();
    let slow = tokio::spawn(async move {
        client
            .invoke("slow", "misbehaving", "sleep", &json!({ "ms": 60_000 }))
            .await
    });
    let registry = w.served.service.registry();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while registry.get("slow").unwrap().stats().in_flight == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow invocation never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let full = expect(
        w.admin
            .invoke("slow", "misbehaving", "echo", &json!({}))
            .await,
        429,
        Some("limit"),
    );
    assert_eq!(full.header("retry-after"), Some("1"));
    assert_eq!(full.json["error"]["limit"], "concurrency", "{}", full.text);
    // Another tenant finds the host's only instance slot taken (once the
    // slow invocation has instantiated; until then its calls succeed).
    let pool = loop {
        let answer = w
            .admin
            .invoke("acme", "misbehaving", "echo", &json!({}))
            .await;
        assert!(
            !slow.is_finished(),
            "the pool was never full: {}",
            answer.text
        );
        if answer.status != 200 {
            break answer;
        }
    };
    let pool = expect(pool, 503, Some("limit"));
    assert_eq!(pool.header("retry-after"), Some("1"));
    let timed_out = expect(slow.await.unwrap(), 504, Some("limit"));
    assert_eq!(
        timed_out.json["error"]["limit"], "wallClock",
        "{}",
        timed_out.text
    );
    for tenant in ["slow", "acme"] {
        expect(
            w.admin
                .invoke(tenant, "misbehaving", "echo", &json!({}))
                .await,
            200,
            None,
        );
    }
}

#[tokio::test]
async fn keys_are_required_and_scoped() {
    let w = World::start(Options::default()).await;
    let none = expect(
        w.served.client(None).get("/v1/connectors").await,
        401,
        Some("unauthorized"),
    );
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let wrong = expect(
        w.served
            .client(Some("not-a-key"))
            .get("/v1/connectors")
            .await,
        401,
        Some("unauthorized"),
    );
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
    let raw = w
        .served
        .client(None)
        .send_with("GET", "/v1/connectors", &[("authorization", ACME_KEY)], "")
        .await;
    expect(raw, 401, Some("unauthorized"));

    // A tenant out of the key's scope answers exactly as a missing one.
    expect(
        w.acme
            .invoke("acme", "misbehaving", "echo", &json!({}))
            .await,
        200,
        None,
    );
    let hidden = expect(
        w.acme
            .invoke("globex", "misbehaving", "echo", &json!({}))
            .await,
        404,
        Some("unknownTenant"),
    );
    let missing = expect(
        w.acme
            .invoke("ghostx", "misbehaving", "echo", &json!({}))
            .await,
        404,
        Some("unknownTenant"),
    );
    assert_eq!(
        hidden.text.replace("globex", "NAME"),
        missing.text.replace("ghostx", "NAME")
    );
    assert_eq!(
        hidden.header("content-type"),
        missing.header("content-type")
    );

    // Admin routes and the metrics are no route at all to other keys.
    let fallback = expect(w.acme.get("/v1/admin/nothing").await, 404, Some("notFound"));
    for route in ROUTES.iter().filter(|r| r.access == Access::Admin) {
        let path = route
            .path
            .replace("{tenant}", "acme")
            .replace("{connector}", PINGONE);
        let answer = w.acme.send(route.method, &path, "{}").await;
        assert_eq!(
            (answer.status, &answer.text),
            (404, &fallback.text),
            "{} {path}",
            route.method
        );
    }
    assert!(
        w.served.service.registry().get("acme").is_some(),
        "nothing was deleted"
    );

    // Every answer carries its own request id; a traceparent is accepted,
    // a malformed one ignored.
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let traced = expect(
        w.acme
            .send_with("GET", "/v1/connectors", &[("traceparent", trace)], "")
            .await,
        200,
        None,
    );
    let garbled = expect(
        w.acme
            .send_with("GET", "/v1/connectors", &[("traceparent", "garbage")], "")
            .await,
        200,
        None,
    );
    let ids: Vec<&str> = [&traced, &garbled, &none, &hidden]
        .iter()
        .map(|a| a.header("x-request-id").expect("x-request-id"))
        .collect();
    for id in &ids {
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
    }
    assert_ne!(ids[0], ids[1]);
}
