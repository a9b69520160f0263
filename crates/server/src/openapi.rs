//! The OpenAPI 3.1 document served at `/openapi.json`.
//!
//! Paths are described with utoipa's builders. Component schemas come from schemars, the single
//! source of truth for the wire format (the same derive that produces `schemas/`), so the API
//! document can never disagree with the JSON Schemas published for the profile.
//!
//! The schemars output is inserted into `components.schemas` as JSON rather than converted into
//! utoipa's `Schema` type: that conversion is lossy (utoipa's untagged `Schema` enum silently drops
//! keywords it does not model), and OpenAPI 3.1 accepts JSON Schema 2020-12 as it is.

use axum::body::Bytes;
use schemars::{JsonSchema, SchemaGenerator, generate::{Contract, SchemaSettings}};
use serde_json::{Map, Value};
use unimargin_schema::MarginProfile;
use utoipa::openapi::{
    Content, HttpMethod, InfoBuilder, ObjectBuilder, OpenApiBuilder, PathItem, Paths, PathsBuilder, Ref,
    Required, ResponseBuilder, Type,
    path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn},
    request_body::RequestBodyBuilder,
};

use crate::{
    error::ErrorBody,
    routes::{
        ACCOUNT_PROFILE, HEALTHZ, HealthResponse, OPENAPI, PROFILES, PROTOCOLS, ProfileRequest, ProtocolsResponse,
        READYZ, ReadyResponse,
    },
};

/// Why the document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// utoipa's document did not serialize.
    #[error("OpenAPI document did not serialize: {0}")]
    Serialize(#[from] serde_json::Error),
    /// Two types produced different schemas under one component name.
    #[error("two different schemas are named `{0}`")]
    SchemaNameClash(String),
}

/// Where component schemas live; schemars writes its `$ref`s against this path.
const COMPONENTS: &str = "/components/schemas";

/// The OpenAPI 3.1 document of the API.
pub fn document() -> Result<Value, OpenApiError> {
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Unimargin API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Unified margin profiles of accounts across DeFi protocols and chains. Any answer \
                     other than 200 means: do not extend credit on this answer. An incomplete \
                     profile is never a 200; it comes with a 502/504 and the partial profile.",
                ))
                .build(),
        )
        .paths(paths())
        .build();
    let mut value = serde_json::to_value(&doc)?;
    if let Value::Object(root) = &mut value {
        let mut components = Map::new();
        components.insert("schemas".to_owned(), Value::Object(component_schemas()?));
        root.insert("components".to_owned(), Value::Object(components));
    }
    Ok(value)
}

/// [`document`] rendered once, for the route.
pub(crate) fn document_bytes() -> Result<Bytes, String> {
    document()
        .and_then(|doc| serde_json::to_vec(&doc).map_err(OpenApiError::from))
        .map(Bytes::from)
        .map_err(|e| e.to_string())
}

fn generator(contract: Contract) -> SchemaGenerator {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = COMPONENTS.into();
    settings.meta_schema = None;
    settings.contract = contract;
    settings.into_generator()
}

/// Every component schema: responses under the serialize contract (what the service writes),
/// the request body under the deserialize contract (what it accepts).
fn component_schemas() -> Result<Map<String, Value>, OpenApiError> {
    let mut responses = generator(Contract::Serialize);
    add::<MarginProfile>(&mut responses);
    add::<ErrorBody>(&mut responses);
    add::<ProtocolsResponse>(&mut responses);
    add::<HealthResponse>(&mut responses);
    add::<ReadyResponse>(&mut responses);
    let mut requests = generator(Contract::Deserialize);
    add::<ProfileRequest>(&mut requests);

    let mut schemas = responses.take_definitions(true);
    for (name, schema) in requests.take_definitions(true) {
        match schemas.get(&name) {
            Some(existing) if *existing != schema => return Err(OpenApiError::SchemaNameClash(name)),
            Some(_) => {}
            None => {
                schemas.insert(name, schema);
            }
        }
    }
    Ok(schemas)
}

fn add<T: JsonSchema>(generator: &mut SchemaGenerator) {
    // The returned `$ref` is not needed: the definition is what matters.
    let _ = generator.subschema_for::<T>();
}

fn json(schema: &str) -> Content {
    Content::new(Some(Ref::from_schema_name(schema)))
}

fn ok(description: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(description).content("application/json", json(schema)).build()
}

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new().description(description).content("application/json", json("ErrorBody")).build()
}

/// The error responses of the profile routes, shared by both.
fn with_profile_errors(op: OperationBuilder) -> OperationBuilder {
    op.response(
        "400",
        error(
            "`invalid_account` (malformed id, bad address, bad EIP-55 checksum), `unknown_chain`, \
             `no_accounts`, `too_many_accounts`, or `invalid_request` (body not JSON or wrong shape).",
        ),
    )
    .response("500", error("`internal`: a bug; quote `request_id`."))
    .response(
        "502",
        error(
            "`upstream_unavailable`: some reads failed upstream (RPC, oracle). `profile` holds the \
             partial profile (incomplete: no health, zero credit capacity).",
        ),
    )
    .response(
        "504",
        error(
            "`upstream_timeout`: as 502, and at least one upstream timed out; or \
             `request_timeout`: the request exceeded the server's time limit.",
        ),
    )
}

fn operation(id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new().operation_id(Some(id)).summary(Some(summary))
}

fn create_profile() -> Operation {
    let op = operation("createProfile", "Unified margin profile of several accounts")
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json("ProfileRequest"))
                .build(),
        ))
        .response("200", ok("The complete profile.", "MarginProfile"))
        .response("413", error("`body_too_large`: the body exceeds the configured limit."))
        .response("415", error("`unsupported_media_type`: send `Content-Type: application/json`."));
    with_profile_errors(op).build()
}

fn account_profile() -> Operation {
    let account = ParameterBuilder::new()
        .name("account")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("CAIP-10 account id (`eip155:1:0x…`) or `alias:address`."))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build();
    let op = operation("accountProfile", "Margin profile of one account")
        .parameter(account)
        .response("200", ok("The complete profile.", "MarginProfile"));
    with_profile_errors(op).build()
}

fn simple(id: &str, summary: &str, description: &str, schema: &str) -> Operation {
    operation(id, summary).response("200", ok(description, schema)).build()
}

fn openapi_operation() -> Operation {
    let any_object = ObjectBuilder::new().schema_type(Type::Object).build();
    operation("openapi", "This document")
        .response(
            "200",
            ResponseBuilder::new()
                .description("OpenAPI 3.1 document.")
                .content("application/json", Content::new(Some(any_object)))
                .build(),
        )
        .build()
}

fn paths() -> Paths {
    PathsBuilder::new()
        .path(PROFILES, PathItem::new(HttpMethod::Post, create_profile()))
        .path(ACCOUNT_PROFILE, PathItem::new(HttpMethod::Get, account_profile()))
        .path(
            PROTOCOLS,
            PathItem::new(
                HttpMethod::Get,
                simple("listProtocols", "Configured protocol markets", "Every protocol market.", "ProtocolsResponse"),
            ),
        )
        .path(
            HEALTHZ,
            PathItem::new(
                HttpMethod::Get,
                simple("healthz", "Liveness", "The process is alive.", "HealthResponse"),
            ),
        )
        .path(
            READYZ,
            PathItem::new(
                HttpMethod::Get,
                simple(
                    "readyz",
                    "Readiness",
                    "Ready; reports cache degradation (which only slows answers down).",
                    "ReadyResponse",
                ),
            ),
        )
        .path(OPENAPI, PathItem::new(HttpMethod::Get, openapi_operation()))
        .build()
}
