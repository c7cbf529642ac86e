//! Property test: arbitrary JSON and arbitrary bytes, fed to every
//! capability through the host's public `invoke`, never panic the host,
//! never trap the guest, and every rejection is a structured error.
//!
//! Inputs are of three shapes: any bytes, any JSON, and objects with the
//! capability's own field names holding arbitrary values (these get past
//! the schema and reach the guest and the emulator).
//!
//! Run longer: `PROPTEST_CASES=5000 cargo test -p contract-tests --test fuzz --release`
//! (the default is 24 cases per shape and capability).

use connector_host::Error;
use contract_tests::Harness;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        prop_oneof![
            Just("true"),
            Just("ACTIVE"),
            Just("SMS"),
            Just("Set default device"),
            Just("123456")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map(".{0,10}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects with the capability's required fields as short strings (what
/// most of them are) and any of its fields with arbitrary values.
fn shaped(required: Vec<String>, fields: Vec<String>) -> impl Strategy<Value = Value> {
    let required = vec("[a-zA-Z0-9 _-]{0,12}", required.len()).prop_map(move |values| {
        required
            .iter()
            .cloned()
            .zip(values.into_iter().map(Value::from))
            .collect::<Map<_, _>>()
    });
    let optional = vec((proptest::sample::select(fields), any_json()), 0..6);
    (required, optional).prop_map(|(mut object, extra)| {
        for (k, v) in extra {
            object.entry(k).or_insert(v);
        }
        Value::Object(object)
    })
}

use std::sync::atomic::{AtomicUsize, Ordering};

/// Invocations that got past the host's schema check into the guest.
static REACHED_GUEST: AtomicUsize = AtomicUsize::new(0);

fn check(capability: &str, result: Result<Value, Error>) -> Result<(), TestCaseError> {
    if matches!(&result, Ok(_) | Err(Error::Api { .. })) {
        REACHED_GUEST.fetch_add(1, Ordering::Relaxed);
    }
    match result {
        Ok(out) => {
            prop_assert!(
                out.get("statusCode").is_some(),
                "{capability}: output without envelope: {out}"
            );
        }
        Err(Error::InvalidInput {
            capability: c,
            message,
            ..
        }) => {
            prop_assert_eq!(&c, capability);
            prop_assert!(!message.is_empty());
        }
        Err(Error::Api {
            capability: c,
            status,
            code,
            ..
        }) => {
            prop_assert_eq!(&c, capability);
            prop_assert!((400..600).contains(&status) && !code.is_empty());
        }
        Err(other) => prop_assert!(false, "{capability}: unexpected error kind: {other:?}"),
    }
    Ok(())
}

#[test]
#[allow(clippy::result_large_err)] // the closure returns the host's own Result
fn arbitrary_inputs_never_break_the_host_or_the_guest() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = tokio.block_on(Harness::start());
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(24);
    let capabilities: Vec<(String, Vec<String>, Vec<String>)> = h
        .runtime
        .capabilities()
        .map(|c| {
            let names = |v: &Value| -> Vec<String> {
                match v {
                    Value::Object(m) => m.keys().cloned().collect(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                }
            };
            (
                c.id.clone(),
                names(&c.input_schema["required"]),
                names(&c.input_schema["properties"]),
            )
        })
        .collect();
    assert_eq!(capabilities.len(), 26);
    let runner = || {
        TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        })
    };
    for (id, required, fields) in capabilities {
        let invoke = |input: &str| tokio.block_on(h.runtime.invoke(&h.tenant, &id, input));
        runner()
            .run(&vec(any::<u8>(), 0..64), |bytes| {
                check(&id, invoke(&String::from_utf8_lossy(&bytes)))
            })
            .unwrap_or_else(|e| panic!("{id}, arbitrary bytes: {e}"));
        runner()
            .run(&any_json(), |json| check(&id, invoke(&json.to_string())))
            .unwrap_or_else(|e| panic!("{id}, arbitrary JSON: {e}"));
        runner()
            .run(&shaped(required, fields), |json| {
                check(&id, invoke(&json.to_string()))
            })
            .unwrap_or_else(|e| panic!("{id}, shaped input: {e}"));
    }
    let stats = h.tenant.stats();
    let reached = REACHED_GUEST.load(Ordering::Relaxed);
    eprintln!(
        "{} invocations, {reached} reached the guest and PingOne",
        stats.invocations
    );
    assert_eq!(stats.guest_faults, 0);
    assert!(reached > 0, "some inputs must get past the schema");
}
