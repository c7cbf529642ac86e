//! The service's OpenAPI 3.1 document, built from [`ROUTES`] (the table the
//! router is built from), so the document and the routes cannot drift. A
//! copy is committed as `docs/serve-openapi.json`; a test fails when it
//! differs from this.

use serde_json::{json, Map, Value};

use crate::routes::{Access, ROUTES};

/// The error body every failure has.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["kind", "summary"],
                "properties": {
                    "kind": { "type": "string", "description": "What failed: invalidInput, api, transport, denied, token, trap, limit, invalidOutput, internal, unknownCapability, ambiguousCapability, tenant, load, unknownTenant, unknownConnector, unauthorized, notFound, payloadTooLarge, badRequest, methodNotAllowed, notDevelopment; flow runs: flowInput, unknownFlow, unknownRun, notWaiting, tooManyRuns, invalidRequest." },
                    "summary": { "type": "string", "description": "One line, at most 1 KiB." }
                },
                "additionalProperties": true
            }
        }
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .chain(route.query.iter().map(|(name, description)| {
                json!({ "name": name, "in": "query", "required": false, "description": description,
                        "schema": { "type": "integer", "minimum": 0 } })
            }))
            .collect();
        let mut responses = Map::new();
        for (status, description) in route.responses {
            let content = if *status == 204 {
                Value::Null
            } else if *status >= 400 {
                json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } })
            } else if route.operation == "metrics" {
                json!({ "text/plain": { "schema": { "type": "string" } } })
            } else if let Some(media) = crate::playground::content_type(route.operation) {
                let media = media.split(';').next().unwrap_or(media);
                json!({ media: { "schema": { "type": "string" } } })
            } else {
                json!({ "application/json": { "schema": {} } })
            };
            let mut response = json!({ "description": description });
            if !content.is_null() {
                response["content"] = content;
            }
            responses.insert(status.to_string(), response);
        }
        let mut operation = json!({
            "operationId": route.operation,
            "summary": route.summary,
            "responses": responses,
            "security": if route.access == Access::Open { json!([]) } else { json!([{ "apiKey": [] }]) },
        });
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if let Some(body) = route.body {
            operation["requestBody"] = json!({
                "required": true,
                "description": body,
                "content": { "application/json": { "schema": {} } }
            });
        }
        let access = match route.access {
            Access::Open => "anyone",
            Access::Key => "any valid key",
            Access::Tenant => "a key whose scope holds {tenant}",
            Access::Admin => "an admin key",
        };
        operation["x-access"] = json!(access);
        paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object")
            .insert(route.method.to_ascii_lowercase(), operation);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "connector-host serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Identity connectors as a service: invoke any loaded connector's capabilities for a tenant, read manifests and schemas, manage tenants' connections. Every route but /healthz and /readyz needs Authorization: Bearer <api key>."
        },
        "components": {
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer" } },
            "schemas": { "Error": error_schema() }
        },
        "paths": paths,
    })
}
