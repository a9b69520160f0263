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
use schemars::{
    JsonSchema, SchemaGenerator,
    generate::{Contract, SchemaSettings},
};
use serde_json::{Map, Value};
use unimargin_schema::MarginProfile;
use utoipa::openapi::{
    Content, HttpMethod, InfoBuilder, ObjectBuilder, OpenApiBuilder, PathItem, Paths, PathsBuilder,
    Ref, Required, ResponseBuilder, Type,
    path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn},
    request_body::{RequestBody, RequestBodyBuilder},
};

use crate::{
    attest::{Attestation, SignedProfile, SignerResponse, Verdict},
    error::ErrorBody,
    owners::{Deleted, OwnerSet, OwnerSetList, OwnerSetRequest},
    routes::{
        ACCOUNT_PAGE, ACCOUNT_PROFILE, ACCOUNT_STREAM, ATTESTATION_SIGNER, ATTESTATION_VERIFY,
        HEALTHZ, HealthResponse, METRICS, OPENAPI, OWNER, OWNER_PROFILE, OWNERS, PROFILES,
        PROTOCOLS, ProfileRequest, ProtocolsResponse, READYZ, ReadyResponse, SIMULATE,
    },
};

mod live;

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
        components.insert("securitySchemes".to_owned(), security_schemes());
        root.insert("components".to_owned(), Value::Object(components));
        live::extend(root);
        if let Some(Value::Object(paths)) = root.get_mut("paths") {
            protect_v1(paths);
        }
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

/// The two ways to present an API key.
fn security_schemes() -> Value {
    serde_json::json!({
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`um_…`) made with `unimargin keys create --tenant <t>`."
        },
        "apiKeyHeader": {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "The same API key, in the `x-api-key` header."
        }
    })
}

/// Every `/v1` operation requires a key (unless the deployment disables authentication) and is
/// rate limited per key: its security requirement and the 401/429/503 answers are added here,
/// in one place, so that no `/v1` route can be documented without them.
fn protect_v1(paths: &mut Map<String, Value>) {
    let error = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
        })
    };
    let answers = [
        (
            "401",
            error(
                "`unauthorized`: no API key, or an invalid or revoked one (`WWW-Authenticate: Bearer`).",
            ),
        ),
        (
            "429",
            error(
                "`rate_limited`: the key's rate limit is exhausted; or `quota_exceeded`: the key's \
                 daily quota is used up (until the next UTC day). `Retry-After` says after how many \
                 seconds to retry. Allowed answers carry `RateLimit-Limit`, `RateLimit-Remaining` and \
                 `RateLimit-Reset` (and the same as `X-RateLimit-*`), and with a quota \
                 `X-Quota-Limit`, `X-Quota-Remaining` and `X-Quota-Reset` (seconds).",
            ),
        ),
        (
            "503",
            error(
                "`store_unavailable`: the key and owner-set store (which also counts quotas and \
                 spent attestation nonces) did not answer.",
            ),
        ),
    ];
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let Value::Object(item) = item else { continue };
        for op in item.values_mut() {
            let Value::Object(op) = op else { continue };
            op.insert(
                "security".to_owned(),
                serde_json::json!([{ "bearerAuth": [] }, { "apiKeyHeader": [] }]),
            );
            if let Some(Value::Object(responses)) = op.get_mut("responses") {
                for (status, answer) in &answers {
                    responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| answer.clone());
                }
            }
        }
    }
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
    add::<OwnerSet>(&mut responses);
    add::<OwnerSetList>(&mut responses);
    add::<Deleted>(&mut responses);
    add::<SignedProfile>(&mut responses);
    add::<SignerResponse>(&mut responses);
    add::<Verdict>(&mut responses);
    add::<crate::stream::HealthAlert>(&mut responses);
    add::<unimargin_schema::Simulation>(&mut responses);
    let mut requests = generator(Contract::Deserialize);
    add::<ProfileRequest>(&mut requests);
    add::<crate::simulate::SimulateRequest>(&mut requests);
    add::<OwnerSetRequest>(&mut requests);
    add::<Attestation>(&mut requests);

    live::add_components(&mut responses, &mut requests);
    let mut schemas = responses.take_definitions(true);
    for (name, schema) in requests.take_definitions(true) {
        match schemas.get(&name) {
            Some(existing) if *existing != schema => {
                return Err(OpenApiError::SchemaNameClash(name));
            }
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

/// A required JSON request body of `schema`.
fn json_body(schema: &str) -> RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("application/json", json(schema))
        .build()
}

fn ok(description: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(schema))
        .build()
}

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json("ErrorBody"))
        .build()
}

/// The error responses of the profile routes, shared by both.
fn with_profile_errors(op: OperationBuilder) -> OperationBuilder {
    op.response(
        "400",
        error(
            "`invalid_account` (malformed id, bad address, bad EIP-55 checksum), `unknown_chain`, \
             `no_accounts`, or `invalid_request` (body not JSON or wrong shape).",
        ),
    )
    .response(
        "422",
        error(
            "`too_many_accounts`: more accounts than `server.max_accounts`; `limit` says how many.",
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
    OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
}

/// `?signed=true`: the profile with an EIP-712 attestation.
fn signed_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("signed")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(
            "`true`: answer a `SignedProfile` (the profile plus `attestation`, an EIP-712 signature \
             over its summary; see `GET /v1/attestations/signer`). A 400 `invalid_request` if this \
             deployment has no signing key.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean)))
        .build()
}

/// 200 of the profile routes: the profile, or with `?signed=true` the signed profile.
fn profile_ok() -> utoipa::openapi::Response {
    let either = utoipa::openapi::OneOfBuilder::new()
        .item(Ref::from_schema_name("MarginProfile"))
        .item(Ref::from_schema_name("SignedProfile"));
    ResponseBuilder::new()
        .description("The complete profile (`SignedProfile` with `?signed=true`).")
        .content("application/json", Content::new(Some(either)))
        .build()
}

fn attestation_signer() -> Operation {
    operation("attestationSigner", "The attestation signer")
        .response(
            "200",
            ok(
                "The signer's address, EIP-712 domain and type string.",
                "SignerResponse",
            ),
        )
        .response(
            "404",
            error("`not_found`: this deployment does not sign profiles."),
        )
        .build()
}

fn verify_attestation() -> Operation {
    operation("verifyAttestation", "Verify an attestation")
        .description(Some(
            "Checks shape, signature (against this deployment's signer), expiry, coverage, and that \
             the nonce was not verified before; the first verification of a nonce consumes it.",
        ))
        .request_body(Some(json_body("Attestation")))
        .response("200", ok("The verdict: `valid`, or the `reason` it is not.", "Verdict"))
        .response("400", error("`invalid_request`: the body is not an attestation."))
        .response("404", error("`not_found`: this deployment does not sign profiles."))
        .response("413", error("`body_too_large`: the body exceeds the configured limit."))
        .response("415", error("`unsupported_media_type`: send `Content-Type: application/json`."))
        .build()
}

fn account_stream() -> Operation {
    let account = ParameterBuilder::new()
        .name("account")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "CAIP-10 account id (`eip155:1:0x…`) or `alias:address`.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build();
    let text = ObjectBuilder::new().schema_type(Type::String).build();
    operation("accountStream", "Profile updates and health alerts (Server-Sent Events)")
        .description(Some(
            "`event: profile` (data: a `MarginProfile`, complete or not: check `coverage.complete`) \
             first with the latest profile, then whenever a covered chain advanced and the profile \
             changed; `event: health_alert` (data: a `HealthAlert`) when the health crosses a \
             configured threshold, including becoming unknown because coverage is incomplete.",
        ))
        .parameter(account)
        .response(
            "200",
            ResponseBuilder::new()
                .description("An event stream.")
                .content("text/event-stream", Content::new(Some(text)))
                .build(),
        )
        .response(
            "400",
            error("`invalid_account`, `unknown_chain`: nothing is streamed for an account that cannot be read."),
        )
        .response("503", error(live::RELAY_UNAVAILABLE))
        .build()
}

fn account_page() -> Operation {
    let account = ParameterBuilder::new()
        .name("account")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "CAIP-10 account id (`eip155:1:0x…`) or `alias:address`.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build();
    let html = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "text/html",
                Content::new(Some(ObjectBuilder::new().schema_type(Type::String).build())),
            )
            .build()
    };
    operation("accountPage", "Human view of one account's profile (HTML)")
        .parameter(account)
        .response(
            "200",
            html("The page: totals, health gauge, native and unified health, positions."),
        )
        .response("400", error("`invalid_account`, `unknown_chain`."))
        .response("500", error("`internal`: a bug; quote `request_id`."))
        .response(
            "502",
            html("The page of an incomplete profile, failures in red."),
        )
        .response("504", html("As 502, and something timed out."))
        .build()
}

fn create_profile() -> Operation {
    let op = operation(
        "createProfile",
        "Unified margin profile of several accounts",
    )
    .parameter(signed_parameter())
    .request_body(Some(json_body("ProfileRequest")))
    .response("200", profile_ok())
    .response(
        "413",
        error("`body_too_large`: the body exceeds the configured limit."),
    )
    .response(
        "415",
        error("`unsupported_media_type`: send `Content-Type: application/json`."),
    );
    with_profile_errors(op).build()
}

fn simulate_operation() -> Operation {
    let op = operation("simulateProfile", "What-if on a live profile")
        .description(Some(
            "Reads the profile of `accounts` (or of the caller's owner set `owner_set`, with its \
             segments) as `POST /v1/profiles` does, applies the hypothetical `changes` in order \
             (add/remove a position, deposit, withdraw, borrow, repay, price override) and answers \
             the profile before, the profile after (markets touched by a change get their native \
             health recomputed, metric suffixed `.simulated`) and the diff. Nothing is executed. An \
             incomplete base profile is a 502/504 like the profile routes, never simulated.",
        ))
        .request_body(Some(json_body("SimulateRequest")))
        .response("200", ok("Before, after and the diff.", "Simulation"))
        .response("404", error(UNKNOWN_OWNER_SET))
        .response(
            "413",
            error("`body_too_large`: the body exceeds the configured limit."),
        )
        .response(
            "415",
            error("`unsupported_media_type`: send `Content-Type: application/json`."),
        );
    // The profile errors' 422 is widened here: the same status covers the changes.
    let mut op = with_profile_errors(op).build();
    op.responses.responses.insert(
        "422".to_owned(),
        utoipa::openapi::RefOr::T(error(
            "`too_many_accounts` (`limit`: accounts), `too_many_changes` (more than 100 changes; \
             `limit`), or `invalid_change` (`change`: the index of a change that cannot be applied: \
             unknown or ambiguous market, asset not held, more than is held, non-positive amount, \
             no price for a new debt).",
        )),
    );
    op
}

fn account_profile() -> Operation {
    let account = ParameterBuilder::new()
        .name("account")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "CAIP-10 account id (`eip155:1:0x…`) or `alias:address`.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build();
    let op = operation("accountProfile", "Margin profile of one account")
        .parameter(account)
        .parameter(signed_parameter())
        .response("200", profile_ok());
    with_profile_errors(op).build()
}

fn simple(id: &str, summary: &str, description: &str, schema: &str) -> Operation {
    operation(id, summary)
        .response("200", ok(description, schema))
        .build()
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

fn id_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "Owner set id (`os_…`), as returned by `POST /v1/owners`.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

const UNKNOWN_OWNER_SET: &str = "`unknown_owner_set`: the caller's tenant has no owner set with this id \
     (another tenant's set answers the same, so ids do not leak).";

fn create_owner_set() -> Operation {
    operation(
        "createOwnerSet",
        "Register a named set of accounts (and segments) for the caller's tenant",
    )
    .request_body(Some(json_body("OwnerSetRequest")))
    .response("201", ok("The registered owner set.", "OwnerSet"))
    .response(
        "400",
        error(
            "`invalid_account`, `unknown_chain`, `no_accounts`, or `invalid_request` (wrong shape, \
                 unknown field such as `rpc_url`, bad name, segment account not in the set).",
        ),
    )
    .response(
        "413",
        error("`body_too_large`: the body exceeds the configured limit."),
    )
    .response(
        "415",
        error("`unsupported_media_type`: send `Content-Type: application/json`."),
    )
    .response(
        "422",
        error("`too_many_accounts`: more accounts than `server.max_accounts`."),
    )
    .build()
}

/// `/v1/owners`, `/v1/owners/{id}` and `/v1/owners/{id}/profile`.
fn owner_set_operations() -> (PathItem, PathItem, PathItem) {
    let mut owners = PathItem::new(
        HttpMethod::Get,
        simple(
            "listOwnerSets",
            "The caller's owner sets",
            "Every owner set of the caller's tenant.",
            "OwnerSetList",
        ),
    );
    owners.post = Some(create_owner_set());
    let mut owner = PathItem::new(
        HttpMethod::Get,
        operation("getOwnerSet", "One owner set of the caller")
            .parameter(id_parameter())
            .response("200", ok("The owner set.", "OwnerSet"))
            .response("404", error(UNKNOWN_OWNER_SET))
            .build(),
    );
    owner.delete = Some(
        operation("deleteOwnerSet", "Delete one owner set of the caller")
            .parameter(id_parameter())
            .response("200", ok("Deleted.", "Deleted"))
            .response("404", error(UNKNOWN_OWNER_SET))
            .build(),
    );
    let profile = operation(
        "ownerSetProfile",
        "Margin profile of one owner set of the caller (with its segments)",
    )
    .description(Some(
        "With `?signed=true` the attestation's `ownerSetHash` is keccak256 of the set's id, so the \
         signature names the registered set as well as its accounts.",
    ))
    .parameter(id_parameter())
    .parameter(signed_parameter())
    .response("200", profile_ok())
    .response("404", error(UNKNOWN_OWNER_SET));
    let profile = PathItem::new(HttpMethod::Get, with_profile_errors(profile).build());
    (owners, owner, profile)
}

fn metrics_operation() -> Operation {
    let text = ObjectBuilder::new().schema_type(Type::String).build();
    operation("metrics", "Prometheus metrics")
        .description(Some(
            "Request latency histograms per route (`unimargin_http_request_duration_seconds`), \
             requests per chain (`unimargin_rpc_requests_total`), failed reads per chain, adapter \
             and failure kind (`unimargin_rpc_errors_total`), adapter reads by outcome \
             (`unimargin_adapter_reads_total`), profile cache hits and misses \
             (`unimargin_cache_hits_total`, `unimargin_cache_misses_total`), scenario grids \
             found compiled or built (`unimargin_scenario_grids_total`) and held \
             (`unimargin_scenario_grids`).",
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("Prometheus text exposition format 0.0.4.")
                .content("text/plain", Content::new(Some(text)))
                .build(),
        )
        .build()
}

fn readyz_operation() -> Operation {
    operation("readyz", "Readiness")
        .description(Some(
            "Pins every chain with a short timeout and pings the key store. `ready`: all answered; \
             `degraded` (still 200): some chains did not, and profiles that need them fail closed; \
             a cache outage only slows answers down and never makes the service unready.",
        ))
        .response("200", ok("`ready` or `degraded`.", "ReadyResponse"))
        .response(
            "503",
            ok(
                "`unavailable`: no chain answered, or keys are required and the key store did not.",
                "ReadyResponse",
            ),
        )
        .build()
}

fn paths() -> Paths {
    let (owners, owner, owner_profile) = owner_set_operations();
    live::paths(PathsBuilder::new())
        .path(METRICS, PathItem::new(HttpMethod::Get, metrics_operation()))
        .path(OWNERS, owners)
        .path(OWNER, owner)
        .path(OWNER_PROFILE, owner_profile)
        .path(PROFILES, PathItem::new(HttpMethod::Post, create_profile()))
        .path(
            SIMULATE,
            PathItem::new(HttpMethod::Post, simulate_operation()),
        )
        .path(
            ACCOUNT_PROFILE,
            PathItem::new(HttpMethod::Get, account_profile()),
        )
        .path(
            PROTOCOLS,
            PathItem::new(
                HttpMethod::Get,
                simple(
                    "listProtocols",
                    "Configured protocol markets",
                    "Every protocol market.",
                    "ProtocolsResponse",
                ),
            ),
        )
        .path(
            HEALTHZ,
            PathItem::new(
                HttpMethod::Get,
                simple(
                    "healthz",
                    "Liveness",
                    "The process is alive.",
                    "HealthResponse",
                ),
            ),
        )
        .path(READYZ, PathItem::new(HttpMethod::Get, readyz_operation()))
        .path(OPENAPI, PathItem::new(HttpMethod::Get, openapi_operation()))
        .path(ACCOUNT_PAGE, PathItem::new(HttpMethod::Get, account_page()))
        .path(
            ACCOUNT_STREAM,
            PathItem::new(HttpMethod::Get, account_stream()),
        )
        .path(
            ATTESTATION_SIGNER,
            PathItem::new(HttpMethod::Get, attestation_signer()),
        )
        .path(
            ATTESTATION_VERIFY,
            PathItem::new(HttpMethod::Post, verify_attestation()),
        )
        .build()
}
