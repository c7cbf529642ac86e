//! The HTTP connector: DaVinci's "make a REST API call", for whatever no
//! dedicated connector covers (creating the user in a registration flow,
//! calling a customer's own API).
//!
//! It is built only on the connector SDK and exercises what the PingOne
//! MFA connector does not: a base URL that is itself a connection setting
//! (so a tenant-supplied one must pass the operator's policy), and every
//! authentication scheme the host performs on a guest's behalf, chosen by
//! the `authType` setting: none, an API key header, a bearer token, or
//! OAuth 2 client credentials (`client_secret_basic` or `_post`).

use std::collections::BTreeMap;

use connector_sdk::choice::Choice;
use connector_sdk::manifest::{Auth, ClientAuth, Manifest, Outbound};
use connector_sdk::{
    Accept, ApiRequest, Base, Capability, ConnectorError, Ctx, InputError, Method,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The connector's name in the manifest.
pub const NAME: &str = "http";

/// The WIT interface that exports the capabilities.
pub const INTERFACE: &str = "identity:http/capabilities@0.1.0";

/// The guest setting with the connection's base URL.
pub const KEY_BASE_URL: &str = "baseUrl";

/// Every request goes under the connection's base URL.
const BASE: Base = Base {
    url: KEY_BASE_URL,
    prefix: &[],
};

connector_sdk::connector! {
    world: "identity:http/http",
    wit: ["../../wit/deps/config", "../../wit/connector", "../../wit/http"],
    interface: exports::identity::http::capabilities,
    manifest: crate::manifest,
    capabilities: {
        make_rest_api_call => MakeRestApiCall,
    }
}

const METHOD: Choice = Choice {
    api: "HTTP",
    options: &[
        (&["GET"], "GET"),
        (&["POST"], "POST"),
        (&["PUT"], "PUT"),
        (&["PATCH"], "PATCH"),
        (&["DELETE"], "DELETE"),
    ],
};

fn method_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    METHOD.schema("The HTTP method (default GET).")
}

/// Make REST API Call: the input.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestCallInput {
    /// The HTTP method (default GET).
    #[serde(default)]
    #[schemars(schema_with = "method_schema")]
    pub method: Option<String>,
    /// The path under the connection's base URL, e.g. `users/42/devices`;
    /// each `/`-separated segment is percent-encoded, so it cannot leave the base.
    #[serde(default)]
    pub path: String,
    /// Query parameters.
    pub query: Option<BTreeMap<String, String>>,
    /// Request headers. Credentials are the host's: `Authorization` is refused.
    #[serde(default)]
    #[schemars(schema_with = "headers_schema")]
    pub headers: Option<BTreeMap<String, String>>,
    /// A JSON body, sent as `application/json` unless `contentType` says otherwise.
    pub body: Option<Value>,
    /// A text body (instead of `body`), sent as `text/plain` unless `contentType` says otherwise.
    pub body_text: Option<String>,
    /// The body's media type.
    pub content_type: Option<String>,
}

fn headers_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::Schema::try_from(json!({
        "type": "object",
        "description": "Request headers. Credentials are the host's: Authorization is refused.",
        "propertyNames": { "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$" },
        "additionalProperties": { "type": "string", "maxLength": 8192 }
    }))
    .expect("an object is a schema")
}

/// Make REST API Call: the output envelope.
#[derive(JsonSchema)]
#[allow(non_snake_case, dead_code)]
pub struct RestCallOutput {
    /// The server's answer: its JSON, or its text as a string.
    pub rawResponse: Value,
    /// The response headers, lower-case names.
    pub headers: Map<String, Value>,
    /// The HTTP status.
    pub statusCode: i64,
}

/// Make REST API Call.
pub struct MakeRestApiCall;

impl Capability for MakeRestApiCall {
    const ID: &'static str = "makeRestApiCall";
    const WIT: &'static str = "make-rest-api-call";
    const TITLE: &'static str = "Make REST API Call";
    const DESCRIPTION: &'static str = "Send one HTTP request under the connection's base URL, authenticated by the host, and return the answer.";
    type Input = RestCallInput;
    type Output = RestCallOutput;

    fn request(_: &Ctx, input: &RestCallInput) -> Result<ApiRequest, ConnectorError> {
        let method = match input.method.as_deref() {
            None => "GET",
            Some(raw) => METHOD.resolve("/method", raw)?,
        };
        let method = match method {
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => Method::Get,
        };
        let segments: Vec<&str> = input
            .path
            .trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let mut request = ApiRequest::new(method, BASE, segments).accepting(Accept::Any);
        for (key, value) in input.query.iter().flatten() {
            request = request.with_query(key, value.clone());
        }
        for (name, value) in input.headers.iter().flatten() {
            if name.eq_ignore_ascii_case("authorization")
                || name.eq_ignore_ascii_case("proxy-authorization")
            {
                return Err(InputError::at(
                    format!("/headers/{name}"),
                    "credentials are added by the host from the connection's settings",
                )
                .into());
            }
            if name.eq_ignore_ascii_case("content-type") {
                return Err(InputError::at(
                    format!("/headers/{name}"),
                    "set the media type with contentType",
                )
                .into());
            }
            request = request.with_header(name, value.clone());
        }
        request = match (&input.body, &input.body_text) {
            (Some(_), Some(_)) => {
                return Err(
                    InputError::at("/bodyText", "give either body or bodyText, not both").into(),
                )
            }
            (Some(body), None) => request.with_body(
                input.content_type.as_deref().unwrap_or("application/json"),
                body.clone(),
            ),
            (None, Some(text)) => request.with_text(
                input.content_type.as_deref().unwrap_or("text/plain"),
                text.clone(),
            ),
            (None, None) => request,
        };
        Ok(request)
    }
}

/// The connection settings, as a JSON Schema.
fn settings_schema() -> Value {
    let secret = |title: &str, description: &str| json!({ "type": "string", "title": title, "secret": true, "minLength": 8, "maxLength": 16384, "description": description });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "HTTP connection settings",
        "type": "object",
        "required": ["baseUrl"],
        "additionalProperties": false,
        "properties": {
            "baseUrl": { "type": "string", "title": "Base URL", "description": "Every request goes under this URL, e.g. https://api.example.com/v1." },
            "authType": { "type": "string", "title": "Authentication", "enum": ["none", "apiKey", "bearer", "oauth2", "oauth2Post"], "default": "none",
                          "description": "How the host authenticates the requests: none, an API key header, a bearer token, or OAuth 2 client credentials (client_secret_basic; oauth2Post: client_secret_post)." },
            "apiKeyHeader": { "type": "string", "title": "API key header", "default": "X-API-Key", "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$" },
            "apiKey": secret("API key", "Sent in the API key header (authType apiKey)."),
            "bearerToken": secret("Bearer token", "Sent as Authorization: Bearer (authType bearer)."),
            "tokenUrl": { "type": "string", "title": "Token URL", "description": "The OAuth 2 token endpoint (authType oauth2, oauth2Post)." },
            "clientId": { "type": "string", "title": "Client ID", "minLength": 1 },
            "clientSecret": secret("Client secret", "The OAuth 2 client secret (authType oauth2, oauth2Post)."),
            "scope": { "type": "string", "title": "Scope", "default": "" }
        },
        "allOf": [
            { "if": { "properties": { "authType": { "const": "apiKey" } }, "required": ["authType"] }, "then": { "required": ["apiKey"] } },
            { "if": { "properties": { "authType": { "const": "bearer" } }, "required": ["authType"] }, "then": { "required": ["bearerToken"] } },
            { "if": { "properties": { "authType": { "enum": ["oauth2", "oauth2Post"] } }, "required": ["authType"] }, "then": { "required": ["tokenUrl", "clientId", "clientSecret"] } }
        ]
    })
}

/// The connector's self-description: one base from the `baseUrl` setting,
/// the guest reads only that, and the host authenticates as `authType` says.
pub fn manifest() -> Manifest {
    let oauth = |method| Auth::OAuth2ClientCredentials {
        token_url: "{tokenUrl}".into(),
        client_id: "clientId".into(),
        client_secret: "clientSecret".into(),
        method,
        scope: Some("{scope}".into()),
        reserved: Vec::new(),
    };
    Manifest {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        title: "HTTP".into(),
        interface: INTERFACE.into(),
        settings: settings_schema(),
        derived: BTreeMap::new(),
        outbound: vec![Outbound {
            name: "base".into(),
            url: "{baseUrl}".into(),
            url_override: None,
            allow: "/".into(),
        }],
        guest: [(KEY_BASE_URL.to_owned(), "{base}".to_owned())].into(),
        auth: Auth::Select {
            setting: "authType".into(),
            options: [
                ("none".to_owned(), Auth::None),
                (
                    "apiKey".to_owned(),
                    Auth::Header {
                        name: "{apiKeyHeader}".into(),
                        value: "{apiKey}".into(),
                    },
                ),
                (
                    "bearer".to_owned(),
                    Auth::Header {
                        name: "Authorization".into(),
                        value: "Bearer {bearerToken}".into(),
                    },
                ),
                ("oauth2".to_owned(), oauth(ClientAuth::ClientSecretBasic)),
                ("oauth2Post".to_owned(), oauth(ClientAuth::ClientSecretPost)),
            ]
            .into(),
        },
        capabilities: capability_list(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_sdk::{ApiResponse, Settings, Transport};
    use std::cell::RefCell;

    struct Recorder(RefCell<Vec<String>>);

    impl Transport for Recorder {
        fn send(&self, s: &Settings, r: &ApiRequest) -> Result<ApiResponse, ConnectorError> {
            self.0
                .borrow_mut()
                .push(format!("{:?} {}", r.method, r.url(s)));
            Ok(ApiResponse {
                status: 200,
                headers: Map::new(),
                body: json!({ "ok": true }),
            })
        }
    }

    #[test]
    fn the_manifest_checks_and_paths_stay_under_the_base() {
        manifest().check().unwrap();
        let settings = Settings::default().with(KEY_BASE_URL, "https://api.example.com/v1");
        let recorder = Recorder(RefCell::new(Vec::new()));
        let ctx = Ctx {
            settings: &settings,
            transport: &recorder,
            input: None,
        };
        let out = invoke(
            "makeRestApiCall",
            &ctx,
            r#"{"method":"post","path":"/users/a b/x%2Fy","query":{"q":"1&2"},"body":{"a":1}}"#,
        )
        .unwrap()
        .unwrap();
        assert!(out.contains("\"statusCode\":200"), "{out}");
        assert_eq!(
            recorder.0.borrow()[0],
            "Post https://api.example.com/v1/users/a%20b/x%252Fy?q=1%262"
        );
        for (input, pointer) in [
            (r#"{"path":"../admin"}"#, ""),
            (
                r#"{"headers":{"Authorization":"Bearer x"}}"#,
                "/headers/Authorization",
            ),
            (r#"{"method":"TRACE"}"#, "/method"),
            (r#"{"body":{},"bodyText":"x"}"#, "/bodyText"),
        ] {
            match invoke("makeRestApiCall", &ctx, input).unwrap() {
                Err(ConnectorError::InvalidInput(e)) => assert_eq!(e.pointer, pointer, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }
}
