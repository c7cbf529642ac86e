//! The contract checks of an invocation: each capability's input and
//! output JSON Schemas (compiled on first use), the size limits, and the
//! first violation as a JSON pointer with the offending value masked.

use std::sync::OnceLock;

use serde_json::Value;
use wasmtime::component::ComponentExportIndex;

use crate::error::{Error, Limit};
use crate::limits::Limits;

/// One capability as the manifest describes it.
#[derive(Debug, Clone)]
pub struct CapabilityInfo {
    /// The connector it belongs to, e.g. `pingone-mfa`.
    pub connector: String,
    /// DaVinci id, e.g. `readDevice`.
    pub id: String,
    /// WIT function name, e.g. `read-device`.
    pub wit_function: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Input JSON Schema.
    pub input_schema: Value,
    /// Output JSON Schema.
    pub output_schema: Value,
}

/// A capability as the runtime keeps it: its description, the export to
/// call, and its validators.
pub(crate) struct Entry {
    pub info: CapabilityInfo,
    pub export: ComponentExportIndex,
    /// Compiled on first use: compiling all 52 schemas up front would cost
    /// a cold start more than the first invocations of a few capabilities.
    pub input: OnceLock<Result<jsonschema::Validator, Error>>,
    pub output: OnceLock<Result<jsonschema::Validator, Error>>,
}

impl Entry {
    fn validator<'a>(
        &'a self,
        cell: &'a OnceLock<Result<jsonschema::Validator, Error>>,
        schema: &Value,
        what: &str,
    ) -> Result<&'a jsonschema::Validator, Error> {
        cell.get_or_init(|| {
            jsonschema::validator_for(schema)
                .map_err(|e| Error::load(format!("{} {what} schema: {e}", self.info.id)))
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    pub fn input(&self) -> Result<&jsonschema::Validator, Error> {
        self.validator(&self.input, &self.info.input_schema, "input")
    }

    pub fn output(&self) -> Result<&jsonschema::Validator, Error> {
        self.validator(&self.output, &self.info.output_schema, "output")
    }
}

/// Size check, parse and schema check of an invocation's input.
pub(crate) fn check_input(
    entry: &Entry,
    id: &str,
    input: &str,
    limits: &Limits,
) -> Result<(), Error> {
    let capability = || id.to_owned();
    if input.len() > limits.max_input_bytes {
        return Err(Error::Limit {
            capability: capability(),
            limit: Limit::InputSize,
            message: format!(
                "the input is {} bytes; at most {} are accepted",
                input.len(),
                limits.max_input_bytes
            ),
        });
    }
    let parsed: Value = serde_json::from_str(input).map_err(|e| Error::InvalidInput {
        capability: capability(),
        pointer: String::new(),
        message: format!("the input is not valid JSON: {e}"),
    })?;
    check(entry.input()?, &parsed).map_err(|(pointer, message)| Error::InvalidInput {
        capability: capability(),
        pointer,
        message,
    })
}

/// Size check, parse and schema check of the guest's output; the parsed output.
pub(crate) fn check_output(
    entry: &Entry,
    id: &str,
    output: &str,
    limits: &Limits,
) -> Result<Value, Error> {
    let capability = || id.to_owned();
    if output.len() > limits.max_output_bytes {
        return Err(Error::Limit {
            capability: capability(),
            limit: Limit::OutputSize,
            message: format!(
                "the output is {} bytes; at most {} are accepted",
                output.len(),
                limits.max_output_bytes
            ),
        });
    }
    let parsed: Value = serde_json::from_str(output).map_err(|e| Error::InvalidOutput {
        capability: capability(),
        pointer: String::new(),
        message: format!("the output is not valid JSON: {e}"),
    })?;
    check(entry.output()?, &parsed).map_err(|(pointer, message)| Error::InvalidOutput {
        capability: capability(),
        pointer,
        message,
    })?;
    Ok(parsed)
}

/// Validates `value`; on failure, the first error's JSON pointer and message
/// (with the offending value masked: it may be an OTP). A missing required
/// field is reported at the field's own pointer, not at its parent. The
/// flow engine checks a flow's input with it too, so both answer alike.
pub fn check(validator: &jsonschema::Validator, value: &Value) -> Result<(), (String, String)> {
    // `is_valid` stops at the first failure and builds no error values:
    // the common case pays only for the check.
    if validator.is_valid(value) {
        return Ok(());
    }
    match validator.iter_errors(value).next() {
        None => Ok(()),
        Some(error) => {
            let mut pointer = error.instance_path().as_str().to_owned();
            if let jsonschema::error::ValidationErrorKind::Required {
                property: Value::String(name),
            } = error.kind()
            {
                pointer.push('/');
                pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
            }
            Err((pointer, error.masked().to_string()))
        }
    }
}
