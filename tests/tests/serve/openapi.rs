//! The OpenAPI document: its committed copy, its validity, its agreement
//! with the router.

use super::*;

#[test]
fn the_committed_openapi_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/serve-openapi.json");
    let current = serde_json::to_string_pretty(&openapi::document()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == current,
        "docs/serve-openapi.json differs from connector_service::openapi::document(); \
         regenerate it with `UPDATE_OPENAPI=1 cargo test -p contract-tests --test serve`"
    );
}

/// The structural rules the OpenAPI schema cannot express: unique
/// operation ids, path templates and path parameters declared both ways,
/// references that resolve, a description on every response.
fn structural_problems(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        let templated: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for (method, op) in item.as_object().into_iter().flatten() {
            let at = format!("{method} {path}");
            if !ids.insert(op["operationId"].as_str().unwrap_or_default().to_owned()) {
                problems.push(format!("{at}: operationId missing or repeated"));
            }
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            if declared != templated {
                problems.push(format!(
                    "{at}: path parameters {declared:?} vs template {templated:?}"
                ));
            }
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                if !response["description"].is_string() {
                    problems.push(format!("{at} {status}: no description"));
                }
            }
        }
    }
    let mut stack = vec![document];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    if document.pointer(r.trim_start_matches('#')).is_none() {
                        problems.push(format!("{r} does not resolve"));
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    problems
}

#[test]
fn the_openapi_document_is_valid_openapi_3_1() {
    let document = openapi::document();
    assert_eq!(document["openapi"], "3.1.0");
    let text = include_str!("../../fixtures/openapi-3.1-schema.json");
    let schema: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        schema["$id"],
        "https://spec.openapis.org/oas/3.1/schema/2022-10-07"
    );
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(structural_problems(&document), Vec::<String>::new());
    // Both checks catch a broken document.
    let mut broken = document.clone();
    broken["paths"]["/healthz"]["get"]["responses"]["200"] = json!({ "content": {} });
    broken["paths"]["/healthz"]["get"]["parameters"] =
        json!([{ "name": "x", "in": "path", "required": true, "schema": {} }]);
    assert!(!validator.is_valid(&broken));
    assert_eq!(
        structural_problems(&broken).len(),
        2,
        "{:?}",
        structural_problems(&broken)
    );
}

#[tokio::test]
async fn the_openapi_document_matches_the_router() {
    let w = World::start(Options::default()).await;
    let document = openapi::document();
    let methods = ["get", "post", "put", "delete", "patch"];
    for (path, item) in document["paths"].as_object().unwrap() {
        let real = path
            .replace("{tenant}", "globex")
            .replace("{connector}", "misbehaving")
            .replace("{capability}", "echo");
        for method in methods {
            let answer = w
                .admin
                .send(&method.to_ascii_uppercase(), &real, "{}")
                .await;
            let fallback = answer.kind() == Some("notFound")
                && answer.json["error"]["summary"] == "no such route";
            if item.get(method).is_some() {
                assert!(
                    !fallback && answer.status != 405,
                    "{method} {real}: {}",
                    answer.text
                );
            } else {
                assert_eq!(
                    answer.status, 405,
                    "{method} {real} is not documented: {}",
                    answer.text
                );
            }
        }
    }
    let undocumented = expect(w.admin.get("/v1/tenants").await, 404, Some("notFound"));
    assert_eq!(undocumented.json["error"]["summary"], "no such route");
}
