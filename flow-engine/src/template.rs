//! References in property values, as DaVinci writes them:
//! `{{global.parameters.<path>}}` (the flow's input) and
//! `{{local.<nodeId>.payload.output.<path>}}` (an earlier node's output;
//! `payload.error` for a node that failed). A string that is exactly one
//! reference becomes the referenced value with its JSON type; references
//! inside a longer string are written into it as text.

use serde_json::{Map, Value};

/// What references resolve against.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The flow's input.
    pub parameters: Value,
    /// Each node that ran, by id: `{"payload": {"output": ...}}` or
    /// `{"payload": {"error": ...}}`.
    pub local: Map<String, Value>,
}

/// Why a reference does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The reference, without its braces.
    pub reference: String,
    /// Why.
    pub message: String,
}

impl Scope {
    /// `value` with every reference replaced.
    pub fn resolve(&self, value: &Value) -> Result<Value, Unresolved> {
        Ok(match value {
            Value::String(text) => self.resolve_text(text)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(self.resolve_map(map)?),
            other => other.clone(),
        })
    }

    /// Every value of `map` resolved.
    pub fn resolve_map(&self, map: &Map<String, Value>) -> Result<Map<String, Value>, Unresolved> {
        map.iter()
            .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
            .collect()
    }

    fn resolve_text(&self, text: &str) -> Result<Value, Unresolved> {
        let trimmed = text.trim();
        if let Some(inner) = whole_reference(trimmed) {
            return self.lookup(inner).cloned();
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open..].find("}}") else {
                break;
            };
            out.push_str(&rest[..open]);
            let reference = rest[open + 2..open + close].trim();
            // An absent value writes nothing, as DaVinci's empty value does.
            match self.lookup(reference)? {
                Value::String(s) => out.push_str(s),
                Value::Null => {}
                other => out.push_str(&other.to_string()),
            }
            rest = &rest[open + close + 2..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    /// The value a reference names. A missing field of a value that exists
    /// is `null` (DaVinci's empty value); a node that has not run, or a
    /// root other than `global` and `local`, is an error.
    fn lookup(&self, reference: &str) -> Result<&Value, Unresolved> {
        let fail = |message: String| Unresolved {
            reference: reference.to_owned(),
            message,
        };
        let mut parts = reference.split('.');
        let mut at = match (parts.next(), parts.next()) {
            (Some("global"), Some("parameters")) => &self.parameters,
            (Some("local"), Some(node)) => self
                .local
                .get(node)
                .ok_or_else(|| fail(format!("node '{node}' has not run")))?,
            _ => {
                return Err(fail(
                    "a reference starts with global.parameters or local.<nodeId>".into(),
                ))
            }
        };
        for part in parts {
            at = match at {
                Value::Object(map) => map.get(part).unwrap_or(&Value::Null),
                Value::Array(items) => part
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .unwrap_or(&Value::Null),
                _ => &Value::Null,
            };
        }
        Ok(at)
    }
}

/// The inside of `{{ ... }}` when `text` is exactly one reference.
fn whole_reference(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        let mut local = Map::new();
        local.insert(
            "create".into(),
            json!({ "payload": { "output": { "device": { "id": "d1", "n": 3 }, "list": ["a", "b"] } } }),
        );
        Scope {
            parameters: json!({ "userId": "u1", "nested": { "x": true } }),
            local,
        }
    }

    #[test]
    fn a_whole_reference_keeps_its_type_and_text_interpolates() {
        let s = scope();
        assert_eq!(
            s.resolve(&json!("{{global.parameters.userId}}")).unwrap(),
            json!("u1")
        );
        assert_eq!(
            s.resolve(&json!("{{ local.create.payload.output.device.n }}"))
                .unwrap(),
            json!(3)
        );
        assert_eq!(
            s.resolve(&json!("{{global.parameters.nested}}")).unwrap(),
            json!({ "x": true })
        );
        assert_eq!(
            s.resolve(&json!("device {{local.create.payload.output.device.id}} #{{local.create.payload.output.list.1}}")).unwrap(),
            json!("device d1 #b")
        );
        assert_eq!(
            s.resolve(&json!("[{{global.parameters.none}}]")).unwrap(),
            json!("[]")
        );
        assert_eq!(
            s.resolve(&json!({ "a": ["{{global.parameters.userId}}"] }))
                .unwrap(),
            json!({ "a": ["u1"] })
        );
        assert_eq!(
            s.resolve(&json!("{{local.create.payload.output.missing.deep}}"))
                .unwrap(),
            Value::Null
        );
    }

    #[test]
    fn unknown_roots_and_nodes_that_did_not_run_are_errors() {
        let s = scope();
        let e = s
            .resolve(&json!("{{local.later.payload.output}}"))
            .unwrap_err();
        assert_eq!(e.reference, "local.later.payload.output");
        assert!(s.resolve(&json!("{{env.HOME}}")).is_err());
    }
}
