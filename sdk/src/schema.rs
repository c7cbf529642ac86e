//! JSON Schemas from Rust types (schemars, draft 2020-12), and a
//! capability's manifest entry built from them.

use connector_manifest::CapabilityDescriptor;
use schemars::generate::SchemaSettings;
use serde_json::{json, Value};

use crate::pipeline::Capability;

/// One capability's manifest entry. `wit_fn` is the Rust name of the export
/// the table binds it to; a mismatch with [`Capability::WIT`] is a bug that
/// would make the host call the wrong function, so it fails loudly.
pub fn describe<C: Capability>(wit_fn: &str) -> CapabilityDescriptor {
    assert_eq!(
        wit_fn.replace('_', "-"),
        C::WIT,
        "capability {} is bound to the wrong WIT export",
        C::ID
    );
    CapabilityDescriptor {
        id: C::ID.into(),
        wit_function: C::WIT.into(),
        title: C::TITLE.into(),
        description: C::DESCRIPTION.into(),
        input_schema: schema_of::<C::Input>(&format!("{} input", C::ID)),
        output_schema: schema_of::<C::Output>(&format!("{} output", C::ID)),
    }
}

/// The JSON Schema (2020-12) of `T`, titled `title`.
pub fn schema_of<T: schemars::JsonSchema>(title: &str) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings
        .transforms
        .push(Box::new(schemars::transform::RecursiveTransform(
            optional_is_not_nullable,
        )));
    let generator = settings.into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    schema["title"] = json!(title);
    schema
}

/// Makes `Option<T>` fields plain `T`, not required, as DaVinci types
/// them: an optional field is absent, not `null`. schemars appends `null`
/// last (`["string", "null"]`, or a trailing `{"type": "null"}` branch);
/// genuinely nullable fields are written with `null` first
/// (`choice::nullable_string_schema`) and are left alone.
fn optional_is_not_nullable(schema: &mut schemars::Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.get("default") == Some(&Value::Null) {
        object.remove("default");
    }
    if let Some(Value::Array(types)) = object.get("type") {
        if types.len() == 2 && types[1] == "null" {
            let only = types[0].clone();
            object.insert("type".into(), only);
        }
    }
    let single = match object.get("anyOf") {
        Some(Value::Array(branches))
            if branches.len() == 2 && branches[1] == json!({ "type": "null" }) =>
        {
            Some(branches[0].clone())
        }
        _ => None,
    };
    if let Some(Value::Object(inner)) = single {
        object.remove("anyOf");
        for (k, v) in inner {
            object.entry(k).or_insert(v);
        }
    }
}

/// The kebab-case WIT name of a camelCase capability id: an upper-case
/// letter starts a word unless it continues an acronym (`readUserMFAEnabled`
/// is `read-user-mfa-enabled`).
pub fn kebab(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        let starts_word = c.is_ascii_uppercase()
            && i > 0
            && (chars[i - 1].is_ascii_lowercase()
                || chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()));
        if starts_word {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
