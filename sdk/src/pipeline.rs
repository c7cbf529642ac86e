//! The one generic pipeline every capability of every connector runs
//! through: parse -> (semantic checks and) build request -> send -> map the
//! response into the DaVinci envelope `{rawResponse, headers, statusCode, ...}`.
//!
//! A capability is a [`Capability`] impl: a handful of constants, its input
//! and output types, how to build its request and which convenience fields
//! to add. Nothing else is written per capability.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ConnectorError, InputError};
use crate::http::{ApiRequest, ApiResponse, Transport};
use crate::settings::Settings;

/// What a capability may use while it runs.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The tenant's settings.
    pub settings: &'a Settings,
    /// Sends the requests.
    pub transport: &'a dyn Transport,
    /// The invocation's input, once [`run`] parsed it: a bad path segment is
    /// reported at the field it came from.
    pub input: Option<&'a Value>,
}

impl Ctx<'_> {
    /// Sends one request for the tenant, after checking that every path
    /// segment names something: an empty, `.` or `..` segment would address
    /// another resource than the one asked for (the host refuses such
    /// paths outright), so it is the caller's invalid input.
    pub fn send(&self, request: &ApiRequest) -> Result<ApiResponse, ConnectorError> {
        for segment in &request.segments {
            // A server that decodes `%2F` or treats `\` as `/` would see the
            // parts, so a `.` or `..` part is as bad as the whole segment.
            let relative = segment
                .split(['/', '\\'])
                .any(|part| part == "." || part == "..");
            let why = if segment.is_empty() {
                "must not be empty: it goes into the request path"
            } else if relative {
                "cannot name a resource: it holds a relative path segment"
            } else {
                continue;
            };
            let pointer = self
                .input
                .and_then(|input| pointer_to(input, segment))
                .unwrap_or_default();
            return Err(InputError::at(pointer, format!("'{segment}' {why}")).into());
        }
        self.transport.send(self.settings, request)
    }
}

/// The JSON pointer of the first string in `value` equal to `wanted`.
fn pointer_to(value: &Value, wanted: &str) -> Option<String> {
    match value {
        Value::String(s) if s == wanted => Some(String::new()),
        Value::Object(map) => map.iter().find_map(|(key, v)| {
            let mut pointer = String::new();
            push_token(&mut pointer, key);
            pointer_to(v, wanted).map(|rest| pointer + &rest)
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| pointer_to(v, wanted).map(|rest| format!("/{i}{rest}"))),
        _ => None,
    }
}

/// One row of the capability table.
pub trait Capability {
    /// The DaVinci capability id, e.g. `readDevice`.
    const ID: &'static str;
    /// The WIT function name, the kebab-case form of [`Self::ID`].
    const WIT: &'static str;
    /// The title DaVinci shows.
    const TITLE: &'static str;
    /// What the capability does.
    const DESCRIPTION: &'static str;
    /// The input object.
    type Input: DeserializeOwned + JsonSchema;
    /// The output envelope; used for its schema only, since the raw response
    /// is passed through untouched.
    type Output: JsonSchema;

    /// Builds the request, after any checks the schema cannot express.
    fn request(ctx: &Ctx, input: &Self::Input) -> Result<ApiRequest, ConnectorError>;

    /// The convenience fields added next to `rawResponse`; none by default.
    fn convenience(
        _ctx: &Ctx,
        _input: &Self::Input,
        _raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(Map::new())
    }
}

/// Runs capability `C` on the JSON text `input`.
pub fn run<C: Capability>(ctx: &Ctx, input: &str) -> Result<String, ConnectorError> {
    let value = parse_object(input)?;
    let ctx = &Ctx {
        input: Some(&value),
        ..*ctx
    };
    let input: C::Input = deserialize_input(&value)?;
    let request = C::request(ctx, &input)?;
    let response = ctx.send(&request)?;
    let convenience = C::convenience(ctx, &input, &response.body)?;
    let mut out = Map::with_capacity(3 + convenience.len());
    out.insert("rawResponse".into(), response.body);
    out.insert("headers".into(), Value::Object(response.headers));
    out.insert("statusCode".into(), Value::from(response.status));
    out.extend(convenience);
    // `serde_json::to_string` writes bytes straight into the buffer; the
    // `Display` impl behind `Value::to_string` goes through `fmt::Write` for
    // every token, which was a fifth of the guest's time per invocation.
    serde_json::to_string(&out)
        .map_err(|e| ConnectorError::Internal(format!("the output could not be serialised: {e}")))
}

/// Convenience field `name` holding the whole raw response.
pub fn whole(name: &str, raw: &Value) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(name.to_owned(), raw.clone());
    map
}

/// Convenience field `name` holding the raw response's value at `pointer`,
/// or nothing when the response does not have it.
pub fn field(name: &str, raw: &Value, pointer: &str) -> Map<String, Value> {
    let mut map = Map::new();
    if let Some(v) = raw.pointer(pointer) {
        map.insert(name.to_owned(), v.clone());
    }
    map
}

/// Deserializes the input, turning serde's complaint into an [`InputError`]
/// with the JSON pointer of the field it is about.
pub fn parse_input<T: DeserializeOwned>(input: &str) -> Result<T, ConnectorError> {
    deserialize_input(&parse_object(input)?)
}

/// The input as a JSON object.
fn parse_object(input: &str) -> Result<Value, ConnectorError> {
    let value: Value = serde_json::from_str(input)
        .map_err(|e| InputError::at("", format!("input is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(InputError::at("", "input must be a JSON object").into());
    }
    Ok(value)
}

fn deserialize_input<T: DeserializeOwned>(value: &Value) -> Result<T, ConnectorError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = String::new();
        for segment in e.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } => push_token(&mut pointer, key),
                Segment::Enum { variant } => push_token(&mut pointer, variant),
                Segment::Unknown => {}
            }
        }
        let message = e.inner().to_string();
        // serde reports a missing field at its parent; point at the field.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            push_token(&mut pointer, name);
        }
        InputError::at(pointer, message).into()
    })
}

fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        user_id: String,
        list: Option<Vec<Inner>>,
    }
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        id: String,
    }

    fn pointer_of(input: &str) -> String {
        match parse_input::<Sample>(input) {
            Err(ConnectorError::InvalidInput(e)) => e.pointer,
            other => panic!(
                "expected an input error, got {other:?}",
                other = other.is_ok()
            ),
        }
    }

    #[test]
    fn missing_field_points_at_the_field() {
        assert_eq!(pointer_of("{}"), "/userId");
    }

    #[test]
    fn wrong_type_points_into_arrays() {
        assert_eq!(
            pointer_of(r#"{"userId":"u","list":[{"id":"a"},{"id":3}]}"#),
            "/list/1/id"
        );
    }

    #[test]
    fn relative_or_empty_path_segments_are_the_callers_invalid_input() {
        struct Unreachable;
        impl Transport for Unreachable {
            fn send(&self, _: &Settings, _: &ApiRequest) -> Result<ApiResponse, ConnectorError> {
                panic!("no request may be sent")
            }
        }
        const BASE: crate::http::Base = crate::http::Base {
            url: "apiUrl",
            prefix: &[],
        };
        let settings = Settings::default().with("apiUrl", "https://api.example.com");
        let input = serde_json::json!({ "userId": "u", "list": [{ "id": ".." }] });
        let ctx = Ctx {
            settings: &settings,
            transport: &Unreachable,
            input: Some(&input),
        };
        for (segment, pointer) in [
            ("..", "/list/0/id"),
            (".", ""),
            ("", ""),
            ("a/../b", ""),
            (".\\x", ""),
        ] {
            let request = ApiRequest::new(crate::http::Method::Get, BASE, ["users", segment]);
            match ctx.send(&request) {
                Err(ConnectorError::InvalidInput(e)) => {
                    assert_eq!(e.pointer, pointer, "{segment:?}")
                }
                other => panic!(
                    "{segment:?}: expected invalid input, got {:?}",
                    other.is_ok()
                ),
            }
        }
    }

    #[test]
    fn non_objects_are_rejected_at_the_root() {
        assert_eq!(pointer_of("[1]"), "");
        assert_eq!(pointer_of("not json"), "");
    }
}
