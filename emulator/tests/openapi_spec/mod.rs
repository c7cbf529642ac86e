//! OpenAPI documents turned into JSON Schema validators, and the lookup of
//! the operation (and response schema) a document gives for an HTTP
//! exchange.
//!
//! Conversion to JSON Schema 2020-12:
//! * `$ref: '#/components/schemas/X'` stays as it is: each validator is
//!   compiled from a root document that carries the referenced component
//!   schemas under the same pointer (`components/schemas`).
//! * OpenAPI 3.0 only: `nullable: true` adds `null` to the allowed types
//!   (and to `enum`); siblings of `$ref` are dropped (3.0 ignores them);
//!   boolean `exclusiveMinimum`/`exclusiveMaximum` become numeric.
//! * `oneOf`/`anyOf` with a `discriminator`: the branch is chosen by the
//!   discriminator property's value (explicit `mapping`, or the branch's
//!   schema name), as generated clients do, instead of requiring exactly
//!   one branch to match; branches of such specs often overlap.
//! * `example`, `xml`, `externalDocs` and `x-*` extensions are dropped.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value};

/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: [&str; 10] = [
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_ARRAY_KEYWORDS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to schemas.
const SCHEMA_MAP_KEYWORDS: [&str; 4] = [
    "properties",
    "patternProperties",
    "dependentSchemas",
    "$defs",
];
const COMPONENT_PREFIX: &str = "#/components/schemas/";

/// One OpenAPI document.
pub struct Spec {
    /// A short name for messages (the file name).
    pub name: String,
    doc: Value,
    /// Component schemas, converted to JSON Schema 2020-12.
    schemas: Map<String, Value>,
    validators: RefCell<HashMap<String, std::rc::Rc<Validator>>>,
}

/// What a document says about one response status of an operation.
pub enum Documented {
    /// The status is not listed.
    Undocumented,
    /// Listed without content: the body must be empty.
    NoContent,
    /// A JSON body; `None` when the document gives no (or an empty) schema.
    Json(Option<Value>),
}

/// An operation of a document matched to a request.
pub struct Operation<'a> {
    pub method: String,
    /// The path template, e.g. `/environments/{environmentID}/mfaSettings`.
    pub template: String,
    pub summary: String,
    op: &'a Value,
    spec: &'a Spec,
}

impl Spec {
    /// Loads a YAML (or JSON) OpenAPI document.
    pub fn load(path: &Path) -> Spec {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
        Spec::from_value(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            doc,
        )
    }

    /// Builds a spec from an already parsed document.
    pub fn from_value(name: String, doc: Value) -> Spec {
        let version = doc["openapi"].as_str().unwrap_or_default();
        assert!(
            version.starts_with("3."),
            "{name}: not OpenAPI 3 ({version})"
        );
        let v30 = version.starts_with("3.0");
        let schemas = doc["components"]["schemas"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), convert(v, v30)))
                    .collect()
            })
            .unwrap_or_default();
        Spec {
            name,
            doc,
            schemas,
            validators: RefCell::new(HashMap::new()),
        }
    }

    /// Adds `value` to the `enum` of component schema `schema` (to record a
    /// documented exception to a document's enum).
    pub fn extend_enum(&mut self, schema: &str, value: &str) {
        let e = self
            .schemas
            .get_mut(schema)
            .and_then(|s| s.get_mut("enum"))
            .and_then(Value::as_array_mut)
            .unwrap_or_else(|| panic!("{}: {schema} has no enum", self.name));
        e.push(json!(value));
    }

    /// The converted component schema `name`.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.schemas.get(name)
    }

    /// Resolves a local `$ref` of the document itself (responses,
    /// parameters).
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self
                .doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{}: dangling $ref {r}", self.name)),
            None => v,
        }
    }

    /// The operation for `method` on the concrete `path` (no query), if the
    /// document has one. An operation that names a `Content-Type` header
    /// (PingOne selects actions by media type) matches only requests with
    /// that media type.
    pub fn operation(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
    ) -> Option<Operation<'_>> {
        let method = method.to_ascii_lowercase();
        let media = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_string());
        let mut best: Option<(usize, Operation<'_>)> = None;
        for (template, item) in self.doc["paths"].as_object()? {
            let Some(literal) = template_match(template, path) else {
                continue;
            };
            let Some(op) = item.get(&method) else {
                continue;
            };
            if let Some(required) = self.required_content_type(item, op) {
                if !media
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(&required))
                {
                    continue;
                }
            }
            if best.as_ref().is_none_or(|(n, _)| literal > *n) {
                best = Some((
                    literal,
                    Operation {
                        method: method.to_ascii_uppercase(),
                        template: template.clone(),
                        summary: op["summary"]
                            .as_str()
                            .or(op["operationId"].as_str())
                            .unwrap_or_default()
                            .to_string(),
                        op,
                        spec: self,
                    },
                ));
            }
        }
        best.map(|(_, o)| o)
    }

    fn required_content_type(&self, item: &Value, op: &Value) -> Option<String> {
        let params = item["parameters"]
            .as_array()
            .into_iter()
            .chain(op["parameters"].as_array())
            .flatten();
        for p in params {
            let p = self.resolve(p);
            let is_ct = p["in"] == "header"
                && p["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("content-type"));
            if is_ct {
                if let Some(e) = p["example"].as_str().or(p["schema"]["example"].as_str()) {
                    return Some(e.to_string());
                }
            }
        }
        None
    }

    /// The canonical error response a document defines for `status` among
    /// its shared `components/responses` (named `http.{status}.*`): the
    /// schema of the first, shortest name.
    pub fn canonical_error(&self, status: u16) -> Option<Value> {
        let prefix = format!("http.{status}.");
        let (_, resp) = self.doc["components"]["responses"]
            .as_object()?
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .min_by_key(|(k, _)| k.len())?;
        content_schema(resp).map(|s| convert(s, false))
    }

    /// Validates `instance` against a converted schema (which may `$ref`
    /// component schemas); returns `"pointer: message"` for each error.
    pub fn validate(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let key = schema.to_string();
        let validator = {
            let mut cache = self.validators.borrow_mut();
            cache
                .entry(key)
                .or_insert_with(|| std::rc::Rc::new(self.compile(schema)))
                .clone()
        };
        validator
            .iter_errors(instance)
            .map(|e| {
                let pointer = e.instance_path().as_str().to_string();
                let pointer = if pointer.is_empty() {
                    "/".to_string()
                } else {
                    pointer
                };
                format!("{pointer}: {e}")
            })
            .collect()
    }

    /// A validator for `schema` whose root carries every component schema
    /// it reaches.
    fn compile(&self, schema: &Value) -> Validator {
        let mut needed = BTreeSet::new();
        let mut todo = vec![schema.clone()];
        while let Some(s) = todo.pop() {
            for name in refs_in(&s) {
                if needed.insert(name.clone()) {
                    let target = self.schemas.get(&name).unwrap_or_else(|| {
                        panic!("{}: unknown component schema {name}", self.name)
                    });
                    todo.push(target.clone());
                }
            }
        }
        let components: Map<String, Value> = needed
            .into_iter()
            .map(|n| (n.clone(), self.schemas[&n].clone()))
            .collect();
        let mut root = match schema {
            Value::Object(m) => m.clone(),
            Value::Bool(true) => Map::new(),
            other => panic!("unsupported schema {other}"),
        };
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("components".into(), json!({ "schemas": components }));
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("{}: schema does not compile: {e}", self.name))
    }
}

impl Operation<'_> {
    /// `GET /environments/{environmentID}/mfaSettings`
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// What the document says about `status`: the exact code, then `2XX`
    /// style ranges, then `default`.
    pub fn response(&self, status: u16) -> Documented {
        let responses = &self.op["responses"];
        let range = format!("{}XX", status / 100);
        let resp = responses
            .get(status.to_string())
            .or_else(|| responses.get(&range))
            .or_else(|| responses.get(range.to_lowercase()))
            .or_else(|| responses.get("default"));
        let Some(resp) = resp else {
            return Documented::Undocumented;
        };
        let resp = self.spec.resolve(resp);
        if resp.get("content").is_none() {
            return Documented::NoContent;
        }
        Documented::Json(
            content_schema(resp)
                .filter(|s| s.as_object().is_none_or(|m| !m.is_empty()))
                .map(|s| convert(s, self.spec.is_v30())),
        )
    }
}

impl Spec {
    fn is_v30(&self) -> bool {
        self.doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.0"))
    }
}

/// The schema of a response's JSON content (`application/json`, any
/// `+json` type, or `*/*`).
fn content_schema(resp: &Value) -> Option<&Value> {
    let content = resp["content"].as_object()?;
    content
        .iter()
        .find(|(k, _)| *k == "application/json" || k.ends_with("+json") || *k == "*/*")
        .and_then(|(_, v)| v.get("schema"))
}

/// How many literal segments `template` shares with `path`, if it matches
/// (a `{param}` segment matches any one non-empty segment).
fn template_match(template: &str, path: &str) -> Option<usize> {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut literal = 0;
    for (a, b) in t.iter().zip(&p) {
        if a.starts_with('{') && a.ends_with('}') {
            if b.is_empty() {
                return None;
            }
        } else if a == b {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// The component schema names a converted schema refers to.
fn refs_in(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    if let Some(name) = r.strip_prefix(COMPONENT_PREFIX) {
                        out.push(name.to_string());
                    }
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

/// Converts one OpenAPI schema object to JSON Schema 2020-12 (see the
/// module comment). `v30` selects the OpenAPI 3.0 rules.
pub fn convert(v: &Value, v30: bool) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    if v30 {
        if let Some(r) = m.get("$ref") {
            return json!({ "$ref": r });
        }
    }
    let mut out = Map::new();
    for (k, x) in m {
        let key = k.as_str();
        if matches!(
            key,
            "example" | "xml" | "externalDocs" | "nullable" | "discriminator"
        ) || key.starts_with("x-")
        {
            continue;
        }
        let converted = if SCHEMA_KEYWORDS.contains(&key) {
            convert(x, v30)
        } else if SCHEMA_ARRAY_KEYWORDS.contains(&key) {
            Value::Array(
                x.as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| convert(s, v30))
                    .collect(),
            )
        } else if SCHEMA_MAP_KEYWORDS.contains(&key) {
            Value::Object(
                x.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(n, s)| (n.clone(), convert(s, v30)))
                    .collect(),
            )
        } else {
            x.clone()
        };
        out.insert(k.clone(), converted);
    }
    if v30 {
        for (bound, limit) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            match out.get(bound) {
                Some(Value::Bool(true)) => {
                    let n = out.remove(limit).unwrap_or(Value::Null);
                    out.insert(bound.into(), n);
                }
                Some(Value::Bool(false)) => {
                    out.remove(bound);
                }
                _ => {}
            }
        }
        if m.get("nullable") == Some(&Value::Bool(true)) {
            out = nullable(out);
        }
    }
    if let Some(d) = m.get("discriminator") {
        out = discriminated(out, d);
    }
    Value::Object(out)
}

/// OpenAPI 3.0 `nullable: true`.
fn nullable(mut s: Map<String, Value>) -> Map<String, Value> {
    if let Some(e) = s.get_mut("enum").and_then(Value::as_array_mut) {
        if !e.contains(&Value::Null) {
            e.push(Value::Null);
        }
    }
    match s.get("type").cloned() {
        Some(Value::String(t)) => {
            s.insert("type".into(), json!([t, "null"]));
            s
        }
        Some(Value::Array(mut ts)) => {
            if !ts.contains(&json!("null")) {
                ts.push(json!("null"));
            }
            s.insert("type".into(), Value::Array(ts));
            s
        }
        // No type to extend (e.g. only allOf): null or the schema.
        _ => {
            let mut w = Map::new();
            w.insert(
                "anyOf".into(),
                json!([{ "type": "null" }, Value::Object(s)]),
            );
            w
        }
    }
}

/// `oneOf`/`anyOf` + `discriminator` → the branch named by the property's
/// value: `if {P: const v} then {$ref: branch}` for every value, and the
/// property required with one of the known values.
fn discriminated(mut s: Map<String, Value>, d: &Value) -> Map<String, Value> {
    let Some(prop) = d["propertyName"].as_str() else {
        return s;
    };
    let keyword = if s.contains_key("oneOf") {
        "oneOf"
    } else if s.contains_key("anyOf") {
        "anyOf"
    } else {
        // A discriminator on a base schema (allOf inheritance) only
        // annotates it.
        return s;
    };
    let branches = s.remove(keyword).unwrap_or_default();
    let mapping = d["mapping"].as_object().cloned().unwrap_or_default();
    let mut values = Vec::new();
    let mut rules = Vec::new();
    for branch in branches.as_array().into_iter().flatten() {
        let r = branch["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("discriminated branch without $ref: {branch}"));
        let mut names: Vec<String> = mapping
            .iter()
            .filter(|(_, target)| target.as_str() == Some(r))
            .map(|(v, _)| v.clone())
            .collect();
        if names.is_empty() {
            names.push(r.rsplit('/').next().unwrap_or(r).to_string());
        }
        for v in names {
            rules.push(json!({
                "if": { "properties": { prop: { "const": v } }, "required": [prop] },
                "then": { "$ref": r }
            }));
            values.push(json!(v));
        }
    }
    let mut all = s
        .remove("allOf")
        .and_then(|a| a.as_array().cloned())
        .unwrap_or_default();
    all.extend(rules);
    all.push(json!({
        "required": [prop],
        "properties": { prop: { "enum": values } }
    }));
    s.insert("allOf".into(), Value::Array(all));
    s
}
