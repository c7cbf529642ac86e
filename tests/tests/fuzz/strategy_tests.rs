//! Checks of the schema generator itself, on keywords the capability
//! schemas do not use (yet) as well as those they do.

use super::{instances, strip_anchors, Hint, Hints, Site};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

struct NoHints;
impl Hints for NoHints {
    fn hint(&self, _: &Site, _: &Value) -> Option<Hint> {
        None
    }
}

/// `n` instances of `schema`, deterministically.
fn sample(schema: &Value, n: usize) -> Vec<Value> {
    let strategy = instances(schema, &NoHints);
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

#[test]
fn anchors_are_stripped_only_at_the_ends() {
    assert_eq!(strip_anchors("^(?i:a|b)$"), "(?i:a|b)");
    assert_eq!(strip_anchors("a|b"), "a|b");
    assert_eq!(strip_anchors("^cost\\$"), "cost\\$");
    assert_eq!(strip_anchors("^dir\\\\$"), "dir\\\\");
}

/// The keywords the capability schemas do not use today are covered
/// here, so a schema that starts using them is generated for correctly.
#[test]
fn instances_of_the_supported_keywords_are_valid() {
    let schema = json!({
        "$defs": { "Code": { "type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$" } },
        "type": "object",
        "required": ["kind", "code", "count", "tags", "choice"],
        "additionalProperties": false,
        "properties": {
            "kind": { "enum": ["a", "b", 3] },
            "fixed": { "const": { "x": 1 } },
            "code": { "$ref": "#/$defs/Code" },
            "count": { "type": "integer", "minimum": 2, "exclusiveMaximum": 9 },
            "ratio": { "type": "number", "minimum": 0, "maximum": 1 },
            "name": { "type": ["null", "string"], "minLength": 2, "maxLength": 5 },
            "tags": {
                "type": "array", "minItems": 1, "maxItems": 3, "uniqueItems": true,
                "items": { "type": "string", "pattern": "(?i:x|y|z)" }
            },
            "choice": {
                "oneOf": [
                    { "type": "boolean" },
                    { "type": "object", "required": ["v"], "properties": { "v": { "type": "string" } } }
                ]
            },
            "either": { "anyOf": [{ "type": "null" }, { "$ref": "#/$defs/Code" }] }
        }
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let values = sample(&schema, 300);
    for value in &values {
        assert!(validator.is_valid(value), "invalid instance: {value}");
    }
    // Both branches of oneOf, and optional members both present and absent.
    let seen = |f: &dyn Fn(&Value) -> bool| values.iter().any(f);
    assert!(seen(&|v| v["choice"].is_boolean()) && seen(&|v| v["choice"].is_object()));
    assert!(seen(&|v| v.get("name").is_some()) && seen(&|v| v.get("name").is_none()));
}

#[test]
#[should_panic(expected = "does not understand `patternProperties`")]
fn an_unknown_keyword_is_refused() {
    sample(&json!({ "type": "object", "patternProperties": {} }), 1);
}
