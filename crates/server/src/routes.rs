//! The routes, their request and response types, and the router with its layers.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Path, Request, State, rejection::PathRejection},
    http::{Method, Uri, header},
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use unimargin_schema::{ChainId, MarginProfile, MarketId, ProtocolId};

use crate::{
    error::ApiError,
    middleware::{scope_request_id, time_limit, trace_layer},
    openapi,
    state::AppState,
};

/// `POST`: profile of several accounts.
pub(crate) const PROFILES: &str = "/v1/profiles";
/// `GET`: profile of one account.
pub(crate) const ACCOUNT_PROFILE: &str = "/v1/accounts/{account}/profile";
/// `GET`: configured protocol markets.
pub(crate) const PROTOCOLS: &str = "/v1/protocols";
/// `GET`: liveness.
pub(crate) const HEALTHZ: &str = "/healthz";
/// `GET`: readiness.
pub(crate) const READYZ: &str = "/readyz";
/// `GET`: this API's OpenAPI document.
pub(crate) const OPENAPI: &str = "/openapi.json";

/// Body of `POST /v1/profiles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    /// Accounts to profile together, as CAIP-10 ids (`eip155:1:0x…`) or `alias:address` with a
    /// configured chain alias (`ethereum:0x…`). Mixed-case EVM addresses must match their
    /// EIP-55 checksum. Duplicates are ignored.
    pub accounts: Vec<String>,
}

/// One configured protocol market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolEntry {
    /// Protocol id.
    pub protocol: ProtocolId,
    /// Adapter implementation (`aave-v3` serves both `aave-v3` and `spark`).
    pub kind: String,
    /// Market within the protocol.
    pub market: MarketId,
    /// Chain.
    pub chain: ChainId,
    /// The chain's configured alias, if it has one.
    pub chain_alias: Option<String>,
}

/// Body of `GET /v1/protocols`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolsResponse {
    /// Every protocol market a profile covers, in configuration order.
    pub protocols: Vec<ProtocolEntry>,
}

/// `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiveStatus {
    /// The process answers.
    Ok,
}

/// Body of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HealthResponse {
    /// Always `ok`: the process is alive.
    pub status: LiveStatus,
}

/// `ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    /// The service can answer profile requests.
    Ready,
}

/// The cache as `/readyz` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CacheStatus {
    /// `memory` or `redis`.
    pub backend: String,
    /// True while the backend fails; profiles are then read directly from the chains, which is
    /// slower but equally correct, so the service stays ready.
    pub degraded: bool,
}

/// A served chain as `/readyz` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChainStatus {
    /// Chain.
    pub chain: ChainId,
    /// Its configured alias, if any.
    pub alias: Option<String>,
    /// How many protocol markets are read on it.
    pub protocols: usize,
}

/// Body of `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReadyResponse {
    /// Always `ready` when the service answers: no dependency outage makes it unable to answer
    /// (RPC outages are reported per profile, cache outages degrade to direct reads).
    pub status: ReadyStatus,
    /// The cache.
    pub cache: CacheStatus,
    /// Served chains. Their RPC endpoints are not probed here: an outage is reported by the
    /// profiles that need the chain, and must not take every replica out of rotation.
    pub chains: Vec<ChainStatus>,
}

/// `Json` whose rejections are [`ApiError`]s, so malformed bodies get the API's JSON shape
/// instead of axum's plain text.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::from_json_rejection(rejection, state.settings.body_limit_bytes)),
        }
    }
}

/// Builds the API: routes, JSON fallbacks for unknown routes and methods, and the layers
/// (request id, tracing, time limit, body limit).
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.body_limit_bytes;
    let timeout = state.settings.request_timeout;
    let openapi = openapi::document_bytes();
    Router::new()
        .route(PROFILES, post(create_profile))
        .route(ACCOUNT_PROFILE, get(account_profile))
        .route(PROTOCOLS, get(protocols))
        .route(HEALTHZ, get(healthz))
        .route(READYZ, get(readyz))
        .route(OPENAPI, get(move || serve_openapi(openapi.clone())))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost first: every layer below sees what the ones above produce.
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(timeout, time_limit))
        .layer(from_fn(scope_request_id))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace_layer())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn create_profile(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ProfileRequest>,
) -> Result<Json<MarginProfile>, ApiError> {
    respond(&state, &request.accounts).await
}

async fn account_profile(
    State(state): State<AppState>,
    account: Result<Path<String>, PathRejection>,
) -> Result<Json<MarginProfile>, ApiError> {
    let Path(account) = account?;
    respond(&state, &[account]).await
}

/// Profiles `accounts`; an incomplete profile is never a 200, so a venue that only checks the
/// status fails closed.
async fn respond(state: &AppState, accounts: &[String]) -> Result<Json<MarginProfile>, ApiError> {
    let profiler = &state.profiler;
    let accounts = profiler.parse_accounts(accounts)?;
    let profile = profiler.profile(accounts).await?;
    if profile.coverage.complete { Ok(Json(profile)) } else { Err(ApiError::incomplete(profile)) }
}

async fn protocols(State(state): State<AppState>) -> Json<ProtocolsResponse> {
    let profiler = &state.profiler;
    let protocols = profiler
        .deployments()
        .map(|d| ProtocolEntry {
            protocol: d.protocol.clone(),
            kind: d.kind.clone(),
            market: d.market.clone(),
            chain: d.chain.clone(),
            chain_alias: profiler.aliases().name_of(&d.chain).map(str::to_owned),
        })
        .collect();
    Json(ProtocolsResponse { protocols })
}

async fn healthz() -> Json<HealthResponse> {
    Json(HealthResponse { status: LiveStatus::Ok })
}

async fn readyz(State(state): State<AppState>) -> Json<ReadyResponse> {
    let profiler = &state.profiler;
    let cache = profiler.cache_health().await;
    let chains = profiler
        .chains()
        .map(|(chain, protocols)| ChainStatus {
            chain: chain.clone(),
            alias: profiler.aliases().name_of(chain).map(str::to_owned),
            protocols,
        })
        .collect();
    Json(ReadyResponse {
        status: ReadyStatus::Ready,
        cache: CacheStatus { backend: cache.backend.to_owned(), degraded: cache.degraded },
        chains,
    })
}

async fn serve_openapi(document: Result<Bytes, String>) -> Response {
    match document {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(error) => ApiError::Internal(format!("OpenAPI document could not be rendered: {error}")).into_response(),
    }
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound { method: method.to_string(), path: uri.path().to_owned() }
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_owned() }
}
