//! The OpenAPI document describes exactly what the router serves.

use std::collections::BTreeSet;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use serde_json::Value;

use crate::harness::{get, offline_service, send};

/// The routes the service is specified to serve.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/profiles"),
    ("post", "/v1/profiles/simulate"),
    ("get", "/v1/accounts/{account}/profile"),
    ("get", "/v1/protocols"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/v1/attestations/signer"),
    ("post", "/v1/attestations/verify"),
    ("get", "/v1/accounts/{account}/stream"),
    ("get", "/accounts/{account}"),
    ("get", "/v1/owners/{id}/stream"),
    ("get", "/owners/{id}"),
    ("post", "/v1/view-links"),
    ("post", "/v1/owners"),
    ("get", "/v1/owners"),
    ("get", "/v1/owners/{id}"),
    ("delete", "/v1/owners/{id}"),
    ("get", "/v1/owners/{id}/profile"),
    ("get", "/metrics"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.insert((method.clone(), path.clone()));
        }
    }
    out
}

/// A concrete path for a template: an account parameter gets a syntactically bad account, which
/// the route answers without touching a chain.
fn concrete(template: &str) -> String {
    // An owner set id that does not exist: the route answers `unknown_owner_set` (a 404 of the
    // route, not of the router).
    template
        .replace("{account}", "not-an-account")
        .replace("{id}", "os_0000000000000000")
}

#[tokio::test]
async fn the_document_matches_the_router_both_ways() {
    let svc = offline_service();
    let answer = send(&svc.router, get("/openapi.json")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let doc = answer.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        &doc,
        crate::harness::openapi(),
        "served document = library document"
    );

    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented(&doc), expected);

    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let req = Request::builder()
                .method(Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap())
                .uri(concrete(path))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            if (method, path.as_str()) == ("get", "/metrics") {
                // Prometheus' text format, not JSON: checked in `ops`.
                assert!(item.get(method).is_some());
                continue;
            }
            let answer = send(&svc.router, req).await;
            if let Some(op) = item.get(method) {
                // Documented: the router serves it (and `send` checked the status is documented).
                assert!(
                    !matches!(answer.code(), "not_found" | "method_not_allowed"),
                    "{method} {path} is documented but not served: {}",
                    answer.body
                );
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.contains_key("200") || responses.contains_key("201"),
                    "{method} {path}: no 200 or 201 documented"
                );
            } else {
                // Not documented: the router refuses the method on this path.
                assert_eq!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_reference_resolves_and_the_profile_schema_comes_from_schemars() {
    let doc = crate::harness::openapi();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "MarginProfile",
        "ErrorBody",
        "ProfileRequest",
        "ProtocolsResponse",
        "ReadyResponse",
        "HealthResponse",
    ] {
        assert!(schemas.contains_key(name), "component {name} missing");
    }

    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("foreign $ref {r}"));
        assert!(schemas.contains_key(name), "$ref {r} does not resolve");
    }

    let profile = &schemas["MarginProfile"]["properties"];
    for field in [
        "coverage",
        "totals",
        "health",
        "cross_margin_benefit_usd",
        "protocols",
        "as_of",
        "accounts",
    ] {
        assert!(profile.get(field).is_some(), "MarginProfile lacks {field}");
    }
    // The same fields as the published JSON Schema (`schemas/margin-profile.schema.json`).
    let (_, published) = unimargin_schema::export::schemas()
        .into_iter()
        .find(|(n, _)| n.starts_with("margin-profile"))
        .unwrap();
    let published = published.as_value()["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect::<BTreeSet<_>>();
    let served = profile
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect::<BTreeSet<_>>();
    assert_eq!(served, published);

    // The request schema refuses unknown fields, as the route does.
    assert_eq!(schemas["ProfileRequest"]["additionalProperties"], false);
}

/// Enum values survive into the document. (Converting schemars' output into utoipa's `Schema`
/// type drops `const`, which would leave every error code and the read-point tag unspecified;
/// that is why the components are inserted as JSON.)
#[test]
fn enum_values_and_tags_are_kept() {
    let schemas = &crate::harness::openapi()["components"]["schemas"];
    let consts = |name: &str| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        collect_consts(&schemas[name], &mut out);
        out
    };
    let codes = consts("ErrorCode");
    for code in [
        "invalid_account",
        "unknown_chain",
        "no_accounts",
        "too_many_accounts",
        "invalid_request",
        "unsupported_media_type",
        "body_too_large",
        "not_found",
        "method_not_allowed",
        "request_timeout",
        "upstream_unavailable",
        "upstream_timeout",
        "internal",
    ] {
        assert!(codes.contains(code), "ErrorCode lacks {code}: {codes:?}");
    }
    assert_eq!(
        consts("ReadPoint"),
        ["block", "slot", "venue"].map(String::from).into()
    );
    assert!(consts("FailureKind").contains("rpc_timeout"));
}

fn collect_consts(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(c)) = o.get("const") {
                out.insert(c.clone());
            }
            o.values().for_each(|v| collect_consts(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_consts(v, out)),
        _ => {}
    }
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r);
            }
            o.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
