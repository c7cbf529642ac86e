//! Isolation under load: 1,000 concurrent invocations spread over 50
//! tenants, each with its own PingOne environment. Every result belongs to
//! the tenant that asked, no token crosses tenants (the emulator refuses a
//! token from another environment), nothing is lost, and memory does not
//! grow from one burst to the next.
//!
//! The first burst is every tenant's first call: 20 invocations of each
//! tenant race for a token that is not there yet, behind a token endpoint
//! slowed down to widen the race, and exactly one token request per tenant
//! may reach PingOne (single flight).

use std::collections::HashMap;
use std::time::Duration;

use connector_runtime::{Limits, Runtime, RuntimeConfig, Tenant};
use pingone_emulator::faults::{Fault, FaultAction};
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

const TENANTS: usize = 50;
const PER_TENANT: usize = 20;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

struct World {
    /// (tenant, its environment ID, a user, the user's device)
    tenants: Vec<(Tenant, String, String, String)>,
}

/// One burst: every tenant reads its own device `PER_TENANT` times, all at once.
async fn burst(runtime: &Runtime, world: &World) -> usize {
    let mut calls = Vec::new();
    for (tenant, env, user, device) in &world.tenants {
        for _ in 0..PER_TENANT {
            let input = json!({ "userId": user, "deviceId": device }).to_string();
            calls.push(async move {
                let out = runtime.invoke(tenant, "readDevice", &input).await;
                (env.clone(), user.clone(), device.clone(), out)
            });
        }
    }
    let results = futures_join_all(calls).await;
    let mut ok = 0;
    for (env, user, device, out) in results {
        let out: Value = out.unwrap_or_else(|e| panic!("lost an invocation of {env}: {e}"));
        assert_eq!(out["device"]["id"], device.as_str());
        assert_eq!(
            out["rawResponse"]["environment"]["id"],
            env.as_str(),
            "a result of another tenant"
        );
        assert_eq!(out["rawResponse"]["user"]["id"], user.as_str());
        ok += 1;
    }
    ok
}

/// `join_all` without pulling in the futures crate: spawn on the current
/// runtime and await in order.
async fn futures_join_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    // Scoped concurrency on one task: poll them all through a JoinSet-like
    // loop by pinning into a vector and driving with `tokio::join!` chunks
    // would limit concurrency, so use an unbounded FuturesUnordered-alike.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, fut) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future completed"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_invocations_over_fifty_tenants() {
    let emulator = Emulator::start(EmulatorConfig {
        environments: TENANTS,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let config = RuntimeConfig {
        max_instances: (TENANTS * PER_TENANT) as u32,
        ..contract_tests::test_config()
    };
    let runtime = connector_testkit::runtime(config).await;
    let defaults = Limits::default();
    let limits = Limits {
        max_concurrent: PER_TENANT,
        wall_time: Duration::from_secs(120),
        http: connector_runtime::HttpLimits {
            first_byte_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            ..defaults.http
        },
        ..defaults
    };

    let tenant_of = |seed: &pingone_emulator::Seed| {
        connector_testkit::pingone_tenant(&runtime, &emulator, seed, limits)
    };
    let mut tenants = Vec::new();
    for seed in emulator.seeds() {
        // The device is made by a setup tenant of its own, so the tenant
        // under test starts without a token.
        let user = seed.users[0].id.clone();
        let created = runtime
            .invoke(&tenant_of(seed), "createDevice", &json!({ "userId": user, "deviceType": "Email", "status": "ACTIVE", "email": "load@example.com" }).to_string())
            .await
            .unwrap();
        let device = created["device"]["id"].as_str().unwrap().to_owned();
        tenants.push((tenant_of(seed), seed.environment_id.clone(), user, device));
    }
    let setup_tokens = emulator.stats().token_requests;
    assert_eq!(setup_tokens, TENANTS as u64);
    let world = World { tenants };
    let distinct: HashMap<&str, ()> = world
        .tenants
        .iter()
        .map(|(_, env, _, _)| (env.as_str(), ()))
        .collect();
    assert_eq!(distinct.len(), TENANTS);

    // The first burst races for the tokens and warms the pools; later
    // bursts must not grow memory (nothing kept per invocation).
    emulator.inject(Fault::new("/as/token", FaultAction::Delay { millis: 200 }));
    assert_eq!(burst(&runtime, &world).await, TENANTS * PER_TENANT);
    emulator.clear_faults();
    assert_eq!(
        emulator.stats().token_requests - setup_tokens,
        TENANTS as u64,
        "concurrent first calls of one tenant share one token request"
    );
    let baseline = resident_bytes();
    for _ in 0..2 {
        assert_eq!(burst(&runtime, &world).await, TENANTS * PER_TENANT);
    }
    let after = resident_bytes();
    assert!(
        after <= baseline + baseline / 10 + (32 << 20),
        "resident memory grew from {} MiB to {} MiB",
        baseline >> 20,
        after >> 20
    );

    for (tenant, _, _, _) in &world.tenants {
        let stats = tenant.stats();
        assert_eq!(stats.token_fetches, 1, "one token per tenant, fetched once");
        assert_eq!(stats.failures, 0);
        assert_eq!(stats.invocations, 3 * PER_TENANT as u64);
        assert_eq!(stats.in_flight, 0);
    }
    assert_eq!(
        emulator.stats().token_requests - setup_tokens,
        TENANTS as u64,
        "no tenant borrowed another's token"
    );
    emulator.shutdown().await;
}
