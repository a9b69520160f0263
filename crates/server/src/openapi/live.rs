//! The owner-set stream, the HTML pages and view links in the document, and how the pages are
//! opened (API key or view link).

use schemars::SchemaGenerator;
use serde_json::{Map, Value};
use utoipa::openapi::{
    Content, HttpMethod, ObjectBuilder, PathItem, PathsBuilder, ResponseBuilder, Type,
    path::Operation,
};

use super::{UNKNOWN_OWNER_SET, add, error, id_parameter, json_body, ok, operation};
use crate::routes::{ACCOUNT_PAGE, OWNER_PAGE, OWNER_STREAM, VIEW_LINKS};

/// The security scheme of a view link (`?view=<token>`).
const VIEW_LINK_SCHEME: &str = "viewLink";

pub(super) fn paths(builder: PathsBuilder) -> PathsBuilder {
    builder
        .path(OWNER_STREAM, PathItem::new(HttpMethod::Get, owner_stream()))
        .path(OWNER_PAGE, PathItem::new(HttpMethod::Get, owner_page()))
        .path(
            VIEW_LINKS,
            PathItem::new(HttpMethod::Post, create_view_link()),
        )
}

pub(super) fn add_components(responses: &mut SchemaGenerator, requests: &mut SchemaGenerator) {
    add::<crate::stream::StreamError>(responses);
    add::<crate::view_link::ViewLink>(responses);
    add::<crate::view_link::ViewLinkRequest>(requests);
}

/// The view-link scheme, and on every HTML page: its security (a key or a view link), the
/// `view` parameter and the 401.
pub(super) fn extend(root: &mut Map<String, Value>) {
    if let Some(Value::Object(schemes)) = root
        .get_mut("components")
        .and_then(|c| c.get_mut("securitySchemes"))
    {
        schemes.insert(
            VIEW_LINK_SCHEME.to_owned(),
            serde_json::json!({
                "type": "apiKey",
                "in": "query",
                "name": crate::view_link::VIEW_PARAM,
                "description": "A pre-signed view link's token, from `POST /v1/view-links`: opens one \
                                HTML page for the tenant that made it, until it expires."
            }),
        );
    }
    let Some(Value::Object(paths)) = root.get_mut("paths") else {
        return;
    };
    let view = serde_json::json!({
        "name": crate::view_link::VIEW_PARAM,
        "in": "query",
        "required": false,
        "description": "A view link's token (instead of the API key).",
        "schema": { "type": "string" }
    });
    let unauthorized = serde_json::json!({
        "description": "`unauthorized`: neither a valid API key nor a valid view link (a tampered, \
                        expired or other page's link answers the same).",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    });
    let rate_limited = serde_json::json!({
        "description": "`rate_limited`: the key's rate limit, or with a view link its tenant's \
                        (shared by the tenant's links), is exhausted; `Retry-After` says when to \
                        retry.",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    });
    for page in [ACCOUNT_PAGE, OWNER_PAGE] {
        let Some(Value::Object(op)) = paths.get_mut(page).and_then(|item| item.get_mut("get"))
        else {
            continue;
        };
        op.insert(
            "security".to_owned(),
            serde_json::json!([
                { "bearerAuth": [] }, { "apiKeyHeader": [] }, { VIEW_LINK_SCHEME: [] }
            ]),
        );
        if let Some(Value::Array(parameters)) = op.get_mut("parameters") {
            parameters.push(view.clone());
        }
        if let Some(Value::Object(responses)) = op.get_mut("responses") {
            responses
                .entry("401".to_owned())
                .or_insert_with(|| unauthorized.clone());
            responses
                .entry("429".to_owned())
                .or_insert_with(|| rate_limited.clone());
        }
    }
}

fn event_stream() -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description("An event stream.")
        .content(
            "text/event-stream",
            Content::new(Some(ObjectBuilder::new().schema_type(Type::String).build())),
        )
        .build()
}

fn owner_stream() -> Operation {
    operation(
        "ownerSetStream",
        "Profile updates and health alerts of one owner set of the caller (Server-Sent Events)",
    )
    .description(Some(
        "As `GET /v1/accounts/{account}/stream`, for the set's accounts margined with its segments: \
         `event: profile` (a `MarginProfile`: check `coverage.complete`) first with the latest \
         profile, then whenever a covered chain advanced and the profile changed; `event: \
         health_alert` (a `HealthAlert`) when the health crosses a configured threshold. One poller \
         serves every subscriber of every replica. `event: error` (a `StreamError`) when the \
         events can no longer be relayed; the stream then ends: reconnect.",
    ))
    .parameter(id_parameter())
    .response("200", event_stream())
    .response("404", error(UNKNOWN_OWNER_SET))
    .response("500", error("`internal`: a bug; quote `request_id`."))
    .response("503", error(RELAY_UNAVAILABLE))
    .build()
}

/// The 503 of the stream routes.
pub(super) const RELAY_UNAVAILABLE: &str = "`relay_unavailable`: the stream relay (Redis) does not \
     answer, so no stream is started; or `store_unavailable`: the key and owner-set store did not \
     answer.";

fn owner_page() -> Operation {
    let html = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "text/html",
                Content::new(Some(ObjectBuilder::new().schema_type(Type::String).build())),
            )
            .build()
    };
    operation(
        "ownerSetPage",
        "Human view of one owner set's profile (HTML)",
    )
    .description(Some(
        "Opened with the API key or a view link (`?view=…` from `POST /v1/view-links`). Totals, \
         health gauge, native and unified health, positions, stress grid, liquidation surface, \
         segments; failures in red.",
    ))
    .parameter(id_parameter())
    .response("200", html("The page of the complete profile."))
    .response("404", error(UNKNOWN_OWNER_SET))
    .response("500", error("`internal`: a bug; quote `request_id`."))
    .response(
        "502",
        html("The page of an incomplete profile, failures in red."),
    )
    .response(
        "503",
        error("`store_unavailable`: the owner-set store did not answer."),
    )
    .response("504", html("As 502, and something timed out."))
    .build()
}

fn create_view_link() -> Operation {
    operation("createViewLink", "A short-lived pre-signed link to an HTML page")
        .description(Some(
            "For an owner set of the caller (`/owners/{id}`) or an account (`/accounts/{account}`): \
             a URL whose `view` token (an HMAC over the tenant, the page and the expiry) opens that \
             page, for this tenant, until `expires_at`, without the API key, e.g. in a browser.",
        ))
        .request_body(Some(json_body("ViewLinkRequest")))
        .response("201", ok("The link.", "ViewLink"))
        .response(
            "400",
            error(
                "`invalid_request` (not exactly one of `owner_set` and `account`, `ttl_secs` out of \
                 range, body not JSON), `invalid_account`, `unknown_chain`.",
            ),
        )
        .response("404", error(UNKNOWN_OWNER_SET))
        .response("413", error("`body_too_large`: the body exceeds the configured limit."))
        .response(
            "415",
            error("`unsupported_media_type`: send `Content-Type: application/json`."),
        )
        .response("500", error("`internal`: a bug; quote `request_id`."))
        .build()
}
