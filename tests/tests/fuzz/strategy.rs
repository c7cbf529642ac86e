//! A proptest strategy of the instances a JSON Schema accepts, for the
//! subset of draft 2020-12 the capability schemas are written in.
//!
//! The generator reads the schema: `type` (one or several), `enum`,
//! `const`, `pattern`, `minLength`/`maxLength`, numbers' bounds, arrays'
//! `items`, `minItems`/`maxItems` and `uniqueItems`, objects' `properties`,
//! `required` and `additionalProperties`, `oneOf`/`anyOf`, and local
//! `$ref`s into `$defs`. A keyword it does not know makes it panic with the
//! keyword's name: generating as if the keyword were absent would produce
//! inputs the host rejects, and the fuzz test would quietly stop reaching
//! the guest.
//!
//! What the schema cannot say (that a `userId` should name a real user, or
//! that an `otp` should be the one the emulator sent) comes from [`Hints`],
//! keyed by the field a subschema sits in. Hinted values are mixed with
//! the schema's own, so unknown and odd values keep being tried.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;
use serde_json::{Map, Value};

/// A strategy of JSON values.
pub type Gen = BoxedStrategy<Value>;

/// Where a subschema sits in the instance being generated.
pub struct Site<'a> {
    /// The name of the nearest enclosing property (empty at the root).
    pub field: &'a str,
    /// Whether the subschema is the `items` of the array held by `field`.
    pub item: bool,
    /// The property names of the object that holds `field`.
    pub siblings: &'a [String],
}

impl Site<'_> {
    /// Whether the object holding this field declares `name` too.
    pub fn has_sibling(&self, name: &str) -> bool {
        self.siblings.iter().any(|s| s == name)
    }
}

/// What the hints know about a field.
pub struct Hint {
    /// Plausible values, or `None` for the schema's own. They must still be
    /// valid against the field's schema; the fuzz test checks every input.
    pub values: Option<Gen>,
    /// How often the field is present when it is optional.
    pub presence: f64,
}

impl Hint {
    /// Plausible `values`, present as often as other hinted fields.
    pub fn values(values: Gen) -> Hint {
        Hint {
            values: Some(values),
            presence: P_OPTIONAL_HINTED,
        }
    }

    /// The schema's own values, present with probability `presence`.
    pub fn presence(presence: f64) -> Hint {
        Hint {
            values: None,
            presence,
        }
    }

    /// These values, present with probability `presence`.
    pub fn with_presence(mut self, presence: f64) -> Hint {
        self.presence = presence;
        self
    }
}

/// Plausible values for fields whose meaning the schema does not carry.
pub trait Hints {
    /// What is known about the subschema at `site`, or `None` to go by the
    /// schema alone.
    fn hint(&self, site: &Site, schema: &Value) -> Option<Hint>;
}

/// Out of `HINTED + 1` values of a hinted field, `HINTED` come from the
/// hint and one from the schema alone.
const HINTED: u32 = 5;
/// An optional property with plausible values is included this often: it
/// takes the guest down paths worth covering.
const P_OPTIONAL_HINTED: f64 = 0.5;
/// An optional property the hints do not know is included less often: a
/// random value there mostly earns a rejection that hides the other paths.
const P_OPTIONAL_PLAIN: f64 = 0.3;
/// ... and in objects with many such properties (Create Device has a dozen),
/// only about this many of them are present at a time.
const PLAIN_MEMBERS: f64 = 1.5;
/// How often an object open to other members gets one or two of them.
const P_EXTRA_MEMBERS: f64 = 0.1;
/// Longest free string (in characters) when `maxLength` allows more.
const FREE_STRING_CHARS: usize = 24;
/// Most items of an array without `maxItems`.
const FREE_ITEMS: usize = 4;
/// Deeper than this is a recursive schema, which needs a different design.
const MAX_DEPTH: usize = 16;

/// Keywords that only annotate: they do not constrain instances.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Keywords the generator honours.
const UNDERSTOOD: &[&str] = &[
    "type",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "properties",
    "required",
    "additionalProperties",
    "oneOf",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
];

/// Instances of `schema` (whose `$ref`s point into itself), with `hints`.
pub fn instances(schema: &Value, hints: &dyn Hints) -> Gen {
    let generator = Generator {
        root: schema,
        hints,
    };
    let root = Site {
        field: "",
        item: false,
        siblings: &[],
    };
    generator.schema(schema, &root, 0)
}

struct Generator<'a> {
    root: &'a Value,
    hints: &'a dyn Hints,
}

impl Generator<'_> {
    /// A subschema at `site`, hinted if the hints know the site.
    fn schema(&self, schema: &Value, site: &Site, depth: usize) -> Gen {
        self.member(schema, site, depth).0
    }

    /// [`Generator::schema`], and how often the hints want the member
    /// present if it is optional (`None`: the hints do not know it).
    fn member(&self, schema: &Value, site: &Site, depth: usize) -> (Gen, Option<f64>) {
        let schema = self.resolved(schema, depth);
        let own = self.unhinted(&schema, site, depth);
        match self.hints.hint(site, &schema) {
            Some(Hint {
                values: Some(hinted),
                presence,
            }) => (
                Union::new_weighted(vec![(HINTED, hinted), (1, own)]).boxed(),
                Some(presence),
            ),
            Some(Hint {
                values: None,
                presence,
            }) => (own, Some(presence)),
            None => (own, None),
        }
    }

    /// `schema` with its `$ref` (if any) replaced by the target's keywords;
    /// the keywords written next to the `$ref` win, which is what 2020-12's
    /// "both apply" means as long as they do not contradict each other.
    fn resolved(&self, schema: &Value, depth: usize) -> Value {
        assert!(depth < MAX_DEPTH, "schema too deep (recursive?): {schema}");
        let Some(reference) = schema.get("$ref") else {
            return schema.clone();
        };
        let pointer = reference
            .as_str()
            .and_then(|r| r.strip_prefix('#'))
            .unwrap_or_else(|| panic!("only local $refs are supported: {reference}"));
        let target = self
            .root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        let mut merged = self.resolved(target, depth + 1);
        if let (Some(merged), Some(local)) = (merged.as_object_mut(), schema.as_object()) {
            for (k, v) in local.iter().filter(|(k, _)| *k != "$ref") {
                merged.insert(k.clone(), v.clone());
            }
        }
        merged
    }

    /// A subschema from its keywords alone.
    fn unhinted(&self, schema: &Value, site: &Site, depth: usize) -> Gen {
        let keywords = match schema {
            Value::Bool(true) => return any_small_json(),
            Value::Bool(false) => panic!("the false schema has no instances"),
            Value::Object(keywords) => keywords,
            other => panic!("not a schema: {other}"),
        };
        for k in keywords.keys() {
            assert!(
                ANNOTATIONS.contains(&k.as_str()) || UNDERSTOOD.contains(&k.as_str()),
                "the schema generator does not understand `{k}` (in {schema}); teach it \
                 in tests/tests/fuzz/strategy.rs"
            );
        }
        if let Some(value) = keywords.get("const") {
            return Just(value.clone()).boxed();
        }
        if let Some(values) = keywords.get("enum") {
            let values = values.as_array().expect("enum is an array").clone();
            assert!(!values.is_empty(), "an empty enum has no instances");
            return proptest::sample::select(values).boxed();
        }
        let alternatives = ["oneOf", "anyOf"]
            .into_iter()
            .find_map(|k| keywords.get(k).map(|branches| (k, branches)));
        if let Some((keyword, branches)) = alternatives {
            // Each branch together with the keywords beside it (an anyOf
            // beside a oneOf is expanded in turn). For oneOf an instance of
            // one branch may match another too; the fuzz test's validity
            // check would report such a schema.
            let base: Map<String, Value> = keywords
                .iter()
                .filter(|(k, _)| *k != keyword)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let branches = branches.as_array().expect("oneOf/anyOf is an array");
            let options: Vec<Gen> = branches
                .iter()
                .map(|branch| {
                    let mut merged = base.clone();
                    let branch = self.resolved(branch, depth + 1);
                    for (k, v) in branch.as_object().expect("a branch is an object schema") {
                        merged.insert(k.clone(), v.clone());
                    }
                    self.unhinted(&Value::Object(merged), site, depth + 1)
                })
                .collect();
            return Union::new(options).boxed();
        }
        let types: Vec<&str> = match keywords.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            Some(other) => panic!("bad type {other}"),
            None => inferred_type(keywords).into_iter().collect(),
        };
        if types.is_empty() {
            return any_small_json();
        }
        let options: Vec<Gen> = types
            .into_iter()
            .map(|t| self.typed(keywords, t, site, depth))
            .collect();
        Union::new(options).boxed()
    }

    fn typed(&self, keywords: &Map<String, Value>, ty: &str, site: &Site, depth: usize) -> Gen {
        match ty {
            "null" => Just(Value::Null).boxed(),
            "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
            "integer" => {
                let (lo, hi) = integer_bounds(keywords);
                (lo..=hi).prop_map(Value::from).boxed()
            }
            "number" => {
                let (lo, hi) = integer_bounds(keywords);
                // Whole numbers and halves inside the bounds; exclusive bounds
                // are already moved inwards by one.
                (lo..=hi, any::<bool>())
                    .prop_map(move |(n, half)| {
                        let x = n as f64 + if half && n < hi { 0.5 } else { 0.0 };
                        Value::from(x)
                    })
                    .boxed()
            }
            "string" => string(keywords).prop_map(Value::String).boxed(),
            "array" => self.array(keywords, site, depth),
            "object" => self.object(keywords, depth),
            other => panic!("unknown type {other}"),
        }
    }

    fn array(&self, keywords: &Map<String, Value>, site: &Site, depth: usize) -> Gen {
        let item_site = Site {
            field: site.field,
            item: true,
            siblings: site.siblings,
        };
        let items = match keywords.get("items") {
            Some(schema) => self.schema(schema, &item_site, depth + 1),
            None => any_small_json(),
        };
        let min = usize_keyword(keywords, "minItems").unwrap_or(0);
        let max = usize_keyword(keywords, "maxItems").unwrap_or(min + FREE_ITEMS);
        let list = vec(items, min..=max);
        if keywords.get("uniqueItems") == Some(&Value::Bool(true)) {
            list.prop_map(|items| {
                let mut unique: Vec<Value> = Vec::new();
                for item in items {
                    if !unique.contains(&item) {
                        unique.push(item);
                    }
                }
                unique
            })
            .prop_filter("uniqueItems left too few items", move |items| {
                items.len() >= min
            })
            .prop_map(Value::Array)
            .boxed()
        } else {
            list.prop_map(Value::Array).boxed()
        }
    }

    fn object(&self, keywords: &Map<String, Value>, depth: usize) -> Gen {
        let empty = Map::new();
        let properties = match keywords.get("properties") {
            Some(Value::Object(p)) => p,
            Some(other) => panic!("bad properties {other}"),
            None => &empty,
        };
        let required: Vec<&str> = keywords
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let names: Vec<String> = properties.keys().cloned().collect();
        let mut members: Vec<(String, Gen, Option<f64>)> = Vec::new();
        for (name, schema) in properties {
            let site = Site {
                field: name,
                item: false,
                siblings: &names,
            };
            let (value, presence) = self.member(schema, &site, depth + 1);
            members.push((name.clone(), value, presence));
        }
        let plain = members
            .iter()
            .filter(|(name, _, presence)| presence.is_none() && !required.contains(&name.as_str()))
            .count();
        // About PLAIN_MEMBERS of them per object, however many there are.
        let p_plain = P_OPTIONAL_PLAIN.min(PLAIN_MEMBERS / plain.max(1) as f64);
        let mut members: Vec<(String, BoxedStrategy<Option<Value>>)> = members
            .into_iter()
            .map(|(name, value, presence)| {
                let member = if required.contains(&name.as_str()) {
                    value.prop_map(Some).boxed()
                } else {
                    proptest::option::weighted(presence.unwrap_or(p_plain), value).boxed()
                };
                (name, member)
            })
            .collect();
        // A required member the properties do not describe may be anything.
        for name in required.iter().filter(|n| !properties.contains_key(**n)) {
            members.push((name.to_string(), any_small_json().prop_map(Some).boxed()));
        }
        let extra = match keywords.get("additionalProperties") {
            Some(Value::Bool(false)) => None,
            Some(schema @ Value::Object(_)) => Some(self.schema(
                schema,
                &Site {
                    field: "",
                    item: false,
                    siblings: &names,
                },
                depth + 1,
            )),
            _ => Some(any_small_json()),
        };
        // Objects that declare nothing (free-form) get members more often.
        let (p_extra, most) = if properties.is_empty() {
            (0.7, 3)
        } else {
            (P_EXTRA_MEMBERS, 2)
        };
        let extras = match extra {
            None => Just(Vec::new()).boxed(),
            Some(value) => {
                let declared = names.clone();
                let key = "[a-zA-Z][a-zA-Z0-9_]{0,11}"
                    .prop_filter("a declared property", move |k: &String| {
                        !declared.contains(k)
                    });
                proptest::option::weighted(p_extra, vec((key, value), 1..=most))
                    .prop_map(Option::unwrap_or_default)
                    .boxed()
            }
        };
        let (names, values): (Vec<String>, Vec<_>) = members.into_iter().unzip();
        (values, extras)
            .prop_map(move |(values, extras)| {
                let mut object: Map<String, Value> = extras.into_iter().collect();
                for (name, value) in names.iter().zip(values) {
                    match value {
                        Some(v) => {
                            object.insert(name.clone(), v);
                        }
                        None => {
                            object.remove(name);
                        }
                    }
                }
                Value::Object(object)
            })
            .boxed()
    }
}

/// The type a schema without `type` implies by its other keywords.
fn inferred_type(keywords: &Map<String, Value>) -> Option<&'static str> {
    let has = |k: &str| keywords.contains_key(k);
    if has("properties") || has("required") || has("additionalProperties") {
        Some("object")
    } else if has("items") || has("minItems") || has("maxItems") || has("uniqueItems") {
        Some("array")
    } else if has("pattern") || has("minLength") || has("maxLength") {
        Some("string")
    } else {
        None
    }
}

fn usize_keyword(keywords: &Map<String, Value>, name: &str) -> Option<usize> {
    keywords.get(name).map(|v| {
        v.as_u64()
            .unwrap_or_else(|| panic!("{name} must be a count")) as usize
    })
}

/// Inclusive integer bounds; exclusive ones moved inwards, open ones at ±1000.
fn integer_bounds(keywords: &Map<String, Value>) -> (i64, i64) {
    let get = |k: &str| keywords.get(k).and_then(Value::as_f64);
    let lo = match (get("minimum"), get("exclusiveMinimum")) {
        (_, Some(x)) => x.floor() as i64 + 1,
        (Some(x), None) => x.ceil() as i64,
        (None, None) => -1000,
    };
    let hi = match (get("maximum"), get("exclusiveMaximum")) {
        (_, Some(x)) => x.ceil() as i64 - 1,
        (Some(x), None) => x.floor() as i64,
        (None, None) => lo.max(0) + 1000,
    };
    assert!(lo <= hi, "no integer between the bounds of {keywords:?}");
    (lo, hi)
}

/// Strings within `pattern` and the length bounds (in characters, as JSON
/// Schema counts them).
fn string(keywords: &Map<String, Value>) -> BoxedStrategy<String> {
    let min = usize_keyword(keywords, "minLength").unwrap_or(0);
    let max = usize_keyword(keywords, "maxLength");
    assert!(max.is_none_or(|max| max >= min), "maxLength < minLength");
    match keywords.get("pattern") {
        Some(pattern) => {
            let pattern = pattern.as_str().expect("pattern is a string");
            let max = max.unwrap_or(usize::MAX);
            matching(pattern)
                .prop_filter("length bounds", move |s| {
                    (min..=max).contains(&s.chars().count())
                })
                .boxed()
        }
        None => {
            let max = max.unwrap_or(usize::MAX).min(min + FREE_STRING_CHARS);
            // Mostly printable ASCII, including the characters that mean
            // something in a URL path or query; sometimes any non-control
            // character, for the encodings.
            let ascii = proptest::string::string_regex(&format!("[ -~]{{{min},{max}}}"))
                .expect("a valid class");
            let any = proptest::string::string_regex(&format!("\\PC{{{min},{max}}}"))
                .expect("a valid class");
            prop_oneof![3 => ascii, 1 => any].boxed()
        }
    }
}

/// Strings that `pattern` matches.
///
/// JSON Schema patterns are searched for, not matched whole, so a string
/// the pattern matches from end to end is valid whatever its anchors say;
/// proptest cannot generate anchors, so a leading `^` and a trailing `$`
/// are dropped first. Anchors anywhere else are refused by proptest, which
/// makes this panic with the pattern.
///
/// Case-insensitive groups fold ASCII only: the host's validator does not
/// take `ſ` for `s` or `K` (Kelvin) for `k`, as ECMA 262 regexes without
/// the `u` flag do not. Unicode mode is the fallback for patterns that
/// need it (`\p{..}` classes).
fn matching(pattern: &str) -> BoxedStrategy<String> {
    let inner = strip_anchors(pattern);
    let generate = |unicode: bool| {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(unicode)
            .build()
            .parse(inner)
            .ok()?;
        proptest::string::string_regex_parsed(&hir).ok()
    };
    generate(false)
        .or_else(|| generate(true))
        .unwrap_or_else(|| panic!("cannot generate strings for the pattern {pattern:?}"))
        .boxed()
}

/// `pattern` without a leading `^` and a trailing unescaped `$`.
fn strip_anchors(pattern: &str) -> &str {
    let p = pattern.strip_prefix('^').unwrap_or(pattern);
    match p.strip_suffix('$') {
        // `\$` is a literal dollar, `\\$` an escaped backslash then an anchor.
        Some(rest) if rest.chars().rev().take_while(|c| *c == '\\').count() % 2 == 0 => rest,
        _ => p,
    }
}

/// Small JSON of any type, for schemas that allow anything.
pub fn any_small_json() -> Gen {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            vec(("[a-z]{1,8}", inner), 0..3)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
    .boxed()
}

#[cfg(test)]
#[path = "strategy_tests.rs"]
mod tests;
