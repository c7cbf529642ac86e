//! Property test: arbitrary and schema-driven inputs, fed to every
//! capability through the host's public `invoke`, never panic the host,
//! never trap the guest, and end either in an output that fits the
//! capability's output schema or in a structured error.
//!
//! Inputs are of three shapes:
//! - any bytes, and any JSON: these must be refused with `InvalidInput`
//!   (or, should one get past the schema, a PingOne error);
//! - instances of the capability's input schema (`fuzz/strategy.rs`), whose
//!   identifiers, OTPs and assertions mostly name what exists in the
//!   emulator (`fuzz/world.rs`, rebuilt for every 40 of them). These must
//!   all reach the guest, a good share of them must succeed, and every
//!   success must fit the output schema.
//!
//! The default run (40 cases per shape and capability) uses a fixed seed,
//! so its figures, and the floors they are held to, are the same on every
//! run; `PROPTEST_RNG_SEED=<n>` explores other inputs. Run longer:
//! `PROPTEST_CASES=5000 cargo test --release -p contract-tests --test fuzz -- --nocapture`
//! (`--nocapture` shows the per-capability figures).

#[path = "fuzz/strategy.rs"]
mod strategy;
#[path = "fuzz/world.rs"]
mod world;

use std::cell::RefCell;
use std::collections::BTreeMap;

use connector_runtime::Error;
use contract_tests::Harness;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::Value;

/// Cases per shape and capability unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 40;
/// Schema-driven cases one world serves: about what it takes to use up
/// what the world holds (seven devices awaiting activation, ten device
/// authentications, room for nine new devices), so that a longer run
/// keeps meeting live resources instead of the ones it deleted.
const WORLD_CASES: u32 = 40;
/// The seed of the default run.
const DEFAULT_SEED: u64 = 0x5eed_f022;
/// The least share of schema-driven cases that must succeed, over all
/// capabilities. The default run measures 45%, twelve other seeds gave 44%
/// to 47%, and a 400-case run 46% (each world serves 40 cases, so longer
/// runs keep the rate). Below 35% a group of capabilities stopped
/// succeeding; that is not chance.
const SUCCESS_FLOOR: f64 = 0.35;

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

/// What became of a shape's cases on one capability.
#[derive(Clone, Copy, Default)]
struct Tally {
    cases: u64,
    /// Got past the host's schema check into the guest: the guest answered
    /// (an output or a PingOne error), or the input fits the schema the
    /// host checks it against (so a refusal came from the guest).
    reached_guest: u64,
    /// The guest sent PingOne (the emulator) at least one request.
    reached_pingone: u64,
    succeeded: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.cases += other.cases;
        self.reached_guest += other.reached_guest;
        self.reached_pingone += other.reached_pingone;
        self.succeeded += other.succeeded;
    }
}

/// Checks one outcome: a success fits `output` and carries the envelope;
/// a failure is a structured error of `capability`. Says what is wrong.
fn check(
    capability: &str,
    output: &jsonschema::Validator,
    result: &Result<Value, Error>,
) -> Result<(), String> {
    let ensure = |ok: bool, what: &dyn Fn() -> String| if ok { Ok(()) } else { Err(what()) };
    match result {
        Ok(out) => {
            if let Some(error) = output.iter_errors(out).next() {
                return Err(format!(
                    "output invalid at '{}': {error}: {out}",
                    error.instance_path()
                ));
            }
            let status = out.get("statusCode").and_then(Value::as_u64);
            ensure(status.is_some_and(|s| (200..300).contains(&s)), &|| {
                format!("success without a 2xx statusCode: {out}")
            })?;
            ensure(out.get("rawResponse").is_some(), &|| {
                format!("success without rawResponse: {out}")
            })
        }
        Err(Error::InvalidInput {
            capability: c,
            pointer,
            message,
        }) => ensure(
            c == capability
                && (pointer.is_empty() || pointer.starts_with('/'))
                && !message.is_empty(),
            &|| format!("malformed refusal: {result:?}"),
        ),
        Err(Error::Api {
            capability: c,
            status,
            code,
            ..
        }) => ensure(
            c == capability && (400..600).contains(status) && !code.is_empty(),
            &|| format!("malformed PingOne error: {result:?}"),
        ),
        // Trap, Limit, InvalidOutput, Internal, Transport (the emulator is
        // on loopback), Denied (the guest only calls the tenant's hosts) and
        // Token (the credentials are the seeded ones) are all bugs here.
        Err(other) => Err(format!("unexpected error kind: {other:?}")),
    }
}

/// A seed of its own for each capability and shape, derived from `base`.
fn seed_of(base: u64, capability: &str, shape: &str) -> u64 {
    // FNV-1a: stable across Rust versions, unlike the std hasher.
    capability
        .bytes()
        .chain([0])
        .chain(shape.bytes())
        .fold(base ^ 0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

struct Capability {
    id: String,
    input: Value,
    output: Value,
}

#[test]
fn arbitrary_inputs_never_break_the_host_or_the_guest() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = tokio.block_on(Harness::start());
    let defaults = Config::default();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let base_seed = match defaults.rng_seed {
        RngSeed::Fixed(seed) => seed,
        RngSeed::Random => DEFAULT_SEED,
    };
    let capabilities: Vec<Capability> = h
        .pingone()
        .capabilities()
        .map(|c| Capability {
            id: c.id.clone(),
            input: c.input_schema.clone(),
            output: c.output_schema.clone(),
        })
        .collect();
    assert_eq!(capabilities.len(), 26);
    let runner = |capability: &str, shape: &str, cases: u32| {
        TestRunner::new(Config {
            cases,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(seed_of(base_seed, capability, shape)),
            ..defaults.clone()
        })
    };

    // Every case runs, and every broken one is recorded: one report then
    // lists all the capabilities and shapes that break, with full figures.
    let violations: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let mut hostile = Tally::default();
    let mut driven: BTreeMap<String, Tally> = BTreeMap::new();
    let mut worlds = 0;
    for capability in &capabilities {
        let id = capability.id.as_str();
        let input_schema = jsonschema::validator_for(&capability.input).expect("input schema");
        let output_schema = jsonschema::validator_for(&capability.output).expect("output schema");
        let tally = RefCell::new(Tally::default());
        // Invokes with `input` (the JSON text), counts, checks and records.
        let invoke = |shape: &str, input: &str, parsed: Option<&Value>, refuse: bool| {
            let before = h.api_requests();
            let result = tokio.block_on(h.runtime.invoke(&h.tenant, id, input));
            let mut t = tally.borrow_mut();
            t.cases += 1;
            t.reached_guest += u64::from(
                result.is_ok()
                    || matches!(result, Err(Error::Api { .. }))
                    || parsed.is_some_and(|v| input_schema.is_valid(v)),
            );
            t.reached_pingone += u64::from(h.api_requests() > before);
            t.succeeded += u64::from(result.is_ok());
            let verdict = if refuse && result.is_ok() {
                Err("a hostile input succeeded".to_owned())
            } else {
                check(id, &output_schema, &result)
            };
            if let Err(why) = verdict {
                violations
                    .borrow_mut()
                    .push(format!("{id}, {shape}: {why}; input: {input}"));
            }
            Ok(())
        };
        // A run itself fails only if the strategy cannot generate.
        let ran = |shape: &str, outcome: Result<(), String>| {
            if let Err(e) = outcome {
                violations.borrow_mut().push(format!("{id}, {shape}: {e}"));
            }
        };

        // Hostile shapes: only structured refusals.
        ran(
            "arbitrary bytes",
            runner(id, "bytes", cases)
                .run(&vec(any::<u8>(), 0..64), |bytes| {
                    let text = String::from_utf8_lossy(&bytes);
                    let parsed = serde_json::from_str(&text).ok();
                    invoke("arbitrary bytes", &text, parsed.as_ref(), true)
                })
                .map_err(|e| e.to_string()),
        );
        ran(
            "arbitrary JSON",
            runner(id, "json", cases)
                .run(&any_json(), |json| {
                    invoke("arbitrary JSON", &json.to_string(), Some(&json), true)
                })
                .map_err(|e| e.to_string()),
        );
        hostile.add(tally.replace(Tally::default()));

        // Schema-driven inputs, WORLD_CASES at a time in a fresh world.
        for chunk in 0..cases.div_ceil(WORLD_CASES) {
            let world = tokio.block_on(world::World::build(&h, worlds));
            worlds += 1;
            let n = WORLD_CASES.min(cases - chunk * WORLD_CASES);
            ran(
                "schema-driven",
                runner(id, &format!("schema {chunk}"), n)
                    .run(&world.inputs(&capability.input), |input| {
                        if let Some(error) = input_schema.iter_errors(&input).next() {
                            violations.borrow_mut().push(format!(
                                "{id}: the generator broke the input schema at '{}': {error}: {input}",
                                error.instance_path()
                            ));
                            return Ok(());
                        }
                        invoke("schema-driven", &input.to_string(), Some(&input), false)
                    })
                    .map_err(|e| e.to_string()),
            );
        }
        driven.insert(id.to_owned(), tally.into_inner());
    }

    let mut total = Tally::default();
    eprintln!(
        "{:<40} {:>6} {:>8} {:>9} {:>9}",
        "schema-driven", "cases", "guest", "PingOne", "succeeded"
    );
    for (id, t) in &driven {
        total.add(*t);
        eprintln!(
            "{id:<40} {:>6} {:>8} {:>9} {:>9}",
            t.cases, t.reached_guest, t.reached_pingone, t.succeeded
        );
    }
    let rate = total.succeeded as f64 / total.cases as f64;
    eprintln!(
        "{:<40} {:>6} {:>8} {:>9} {:>9} ({:.1}% succeeded)",
        "total",
        total.cases,
        total.reached_guest,
        total.reached_pingone,
        total.succeeded,
        100.0 * rate
    );
    eprintln!(
        "hostile (bytes, JSON): {} cases, {} reached the guest, {} reached PingOne",
        hostile.cases, hostile.reached_guest, hostile.reached_pingone
    );

    let violations = violations.into_inner();
    for v in &violations {
        eprintln!("broken: {v}");
    }
    assert!(
        violations.is_empty(),
        "{} cases broke the contract (all listed above); the first: {}",
        violations.len(),
        violations[0]
    );
    assert_eq!(h.tenant.stats().guest_faults, 0);
    if cases < DEFAULT_CASES {
        eprintln!("fewer than {DEFAULT_CASES} cases: too few to hold the floors to");
        return;
    }
    // Every schema-driven input reaches the guest by construction (it is
    // checked against the schema the host checks); that the guest then
    // reaches PingOne is what can fail.
    for (id, t) in &driven {
        assert!(
            t.reached_pingone > 0,
            "{id}: no schema-driven input reached PingOne"
        );
    }
    // No capability is exempt: the world signs FIDO2 attestations and
    // assertions with a soft authenticator, so even those can succeed.
    let never: Vec<&String> = driven
        .iter()
        .filter(|(_, t)| t.succeeded == 0)
        .map(|(id, _)| id)
        .collect();
    assert!(
        never.is_empty(),
        "no schema-driven input succeeded for {never:?}"
    );
    assert!(
        rate >= SUCCESS_FLOOR,
        "{:.1}% of schema-driven inputs succeeded; the floor is {:.0}%",
        100.0 * rate,
        100.0 * SUCCESS_FLOOR
    );
}
