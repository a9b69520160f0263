//! The routes, their request and response types, and the router with its layers.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State, rejection::PathRejection,
    },
    http::{Method, Uri, header},
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use unimargin_schema::{ChainId, MarginProfile, MarketId, ProtocolId};

use std::sync::Arc;

use axum::Extension;
use unimargin_schema::{AccountId, Segment};

use crate::{
    attest::{Attestation, SignedProfile, SignerResponse, Verdict},
    auth::{self, Tenancy},
    error::ApiError,
    middleware::{scope_request_id, time_limit, trace_layer},
    openapi, owners,
    state::AppState,
};

/// `POST`: profile of several accounts.
pub(crate) const PROFILES: &str = "/v1/profiles";
/// `POST`: what-if on a live profile.
pub(crate) const SIMULATE: &str = "/v1/profiles/simulate";
/// `GET`: profile of one account.
pub(crate) const ACCOUNT_PROFILE: &str = "/v1/accounts/{account}/profile";
/// `GET`: configured protocol markets.
pub(crate) const PROTOCOLS: &str = "/v1/protocols";
/// `GET`: liveness.
pub(crate) const HEALTHZ: &str = "/healthz";
/// `GET`: readiness.
pub(crate) const READYZ: &str = "/readyz";
/// `GET`: Prometheus metrics.
pub(crate) const METRICS: &str = "/metrics";
/// `GET`: this API's OpenAPI document.
pub(crate) const OPENAPI: &str = "/openapi.json";
/// `POST`: register an owner set; `GET`: the caller's owner sets.
pub(crate) const OWNERS: &str = "/v1/owners";
/// `GET` / `DELETE`: one owner set of the caller.
pub(crate) const OWNER: &str = "/v1/owners/{id}";
/// `GET`: profile of one owner set of the caller.
pub(crate) const OWNER_PROFILE: &str = "/v1/owners/{id}/profile";
/// `GET`: the address attestations are signed by.
pub(crate) const ATTESTATION_SIGNER: &str = "/v1/attestations/signer";
/// `GET` (Server-Sent Events): profile updates and health alerts of one account.
pub(crate) const ACCOUNT_STREAM: &str = "/v1/accounts/{account}/stream";
/// `GET`: the human view of one account's profile (HTML).
pub(crate) const ACCOUNT_PAGE: &str = "/accounts/{account}";
/// `GET` (Server-Sent Events): profile updates and health alerts of one owner set of the caller.
pub(crate) const OWNER_STREAM: &str = "/v1/owners/{id}/stream";
/// `GET`: the human view of one owner set's profile (HTML).
pub(crate) const OWNER_PAGE: &str = "/owners/{id}";
/// `POST`: a short-lived pre-signed link to an HTML page.
pub(crate) const VIEW_LINKS: &str = "/v1/view-links";
/// `POST`: verify an attestation.
pub(crate) const ATTESTATION_VERIFY: &str = "/v1/attestations/verify";

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
    /// Every chain answered and the key store answers.
    Ready,
    /// Some chains did not answer: profiles that need them fail closed (502/504), the others
    /// are served, so the replica stays in rotation.
    Degraded,
    /// No chain answered, or the key store (with keys required) did not: no request can be
    /// answered with a profile. `/readyz` answers 503.
    Unavailable,
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
    /// Whether a read point could be pinned within the probe timeout.
    pub reachable: bool,
    /// The block (or slot) pinned by the probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<u64>,
    /// Why the probe failed (URLs redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The key and owner-set store as `/readyz` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyStoreStatus {
    /// `memory`, `file` or `redis`.
    pub backend: String,
    /// Whether it answered.
    pub reachable: bool,
    /// Whether `/v1` routes require keys (then an unreachable store makes the service
    /// unavailable: nobody can be authenticated).
    pub auth_required: bool,
}

/// Body of `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReadyResponse {
    /// `ready`, `degraded` (some chains unreachable; still 200) or `unavailable` (503). A
    /// cache outage never makes the service unready: reads then go to the chains.
    pub status: ReadyStatus,
    /// The cache.
    pub cache: CacheStatus,
    /// The key and owner-set store.
    pub key_store: KeyStoreStatus,
    /// Served chains, each probed by pinning a read point with a short timeout.
    pub chains: Vec<ChainStatus>,
    /// With `unavailable` only: the error in the API's usual shape (code, message, request id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorDetail>,
}

/// How long `/readyz` waits for each chain's pin: short, so that a probe never hangs.
const READY_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `Json` whose rejections are [`ApiError`]s, so malformed bodies get the API's JSON shape
/// instead of axum's plain text.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::from_json_rejection(
                rejection,
                state.settings.body_limit_bytes,
            )),
        }
    }
}

/// Builds the API: routes, JSON fallbacks for unknown routes and methods, and the layers
/// (request id, tracing, time limit, body limit).
pub fn router(state: AppState) -> Router {
    router_with(state, Tenancy::open())
}

/// [`router`] with tenants: `/v1` routes authenticate with `tenancy`'s keys (unless its mode is
/// [`AuthMode::Disabled`](crate::auth::AuthMode)) and are rate limited per key; owner sets are
/// kept in its store.
pub fn router_with(state: AppState, tenancy: Tenancy) -> Router {
    let hub = Arc::new(crate::stream::StreamHub::new(state.settings.stream.clone()));
    router_with_hub(state, tenancy, hub)
}

/// [`router_with`] whose event streams go through `hub`: with a
/// [`RedisFanout`](crate::stream::RedisFanout), replicas share one poller per subscription.
pub fn router_with_hub(
    state: AppState,
    tenancy: Tenancy,
    hub: Arc<crate::stream::StreamHub>,
) -> Router {
    let tenancy = Arc::new(tenancy);
    // Installs the process's metrics recorder before the first request is counted.
    let _ = crate::metrics::handle();
    let body_limit = state.settings.body_limit_bytes;
    let timeout = state.settings.request_timeout;
    let openapi = openapi::document_bytes();
    Router::new()
        .route(PROFILES, post(create_profile))
        .route(SIMULATE, post(crate::simulate::simulate))
        .route(ACCOUNT_PROFILE, get(account_profile))
        .route(PROTOCOLS, get(protocols))
        .route(HEALTHZ, get(healthz))
        .route(READYZ, get(readyz))
        .route(METRICS, get(crate::metrics::serve))
        .route(OPENAPI, get(move || serve_openapi(openapi.clone())))
        .route(OWNERS, post(owners::create).get(owners::list))
        .route(OWNER, get(owners::get_one).delete(owners::delete))
        .route(OWNER_PROFILE, get(owners::profile))
        .route(ATTESTATION_SIGNER, get(attestation_signer))
        .route(ATTESTATION_VERIFY, post(verify_attestation))
        .route(ACCOUNT_STREAM, get(crate::stream::account_stream))
        .route(ACCOUNT_PAGE, get(crate::html::account_page))
        .route(OWNER_STREAM, get(crate::stream::owner_stream))
        .route(OWNER_PAGE, get(crate::html::owner_page))
        .route(VIEW_LINKS, post(crate::view_link::create))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost first: every layer below sees what the ones above produce.
        .layer(DefaultBodyLimit::max(body_limit))
        // Per route (after routing), so only matched `/v1` routes ask for a key.
        .layer(from_fn_with_state(
            tenancy.clone(),
            auth::middleware::authenticate,
        ))
        .layer(Extension(tenancy))
        .layer(Extension(hub))
        .layer(from_fn_with_state(timeout, time_limit))
        .layer(from_fn(scope_request_id))
        .layer(from_fn(crate::metrics::track))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace_layer())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn create_profile(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    ApiJson(request): ApiJson<ProfileRequest>,
) -> Result<Response, ApiError> {
    let signed = wants_signature(query.as_deref())?;
    let Json(profile) = respond(&state, &request.accounts).await?;
    answer(&state, profile, None, signed)
}

async fn account_profile(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    account: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(account) = account?;
    let signed = wants_signature(query.as_deref())?;
    let Json(profile) = respond(&state, &[account]).await?;
    answer(&state, profile, None, signed)
}

/// `?signed=true|false`; anything else is a 400 rather than a silently unsigned answer.
pub(crate) fn wants_signature(query: Option<&str>) -> Result<bool, ApiError> {
    let mut signed = false;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("signed", "true") => signed = true,
            ("signed", "false") => signed = false,
            ("signed", other) => {
                return Err(ApiError::InvalidRequest(format!(
                    "`signed` must be `true` or `false`, not `{other}`"
                )));
            }
            _ => {}
        }
    }
    Ok(signed)
}

/// The profile, with its attestation when asked for (naming `owner_set` when the profile is an
/// owner set's). Only complete profiles reach this point: an incomplete one is an error answer
/// and is never signed.
pub(crate) fn answer(
    state: &AppState,
    profile: MarginProfile,
    owner_set: Option<&str>,
    signed: bool,
) -> Result<Response, ApiError> {
    if !signed {
        return Ok(Json(profile).into_response());
    }
    let attestor = state.attestor.as_ref().ok_or_else(|| {
        ApiError::InvalidRequest(
            "signed profiles are not enabled on this deployment (no signing key)".into(),
        )
    })?;
    let attestation = attestor
        .attest_owner_set(&profile, owner_set, chrono::Utc::now())
        .map_err(|e| ApiError::Internal(format!("attestation failed: {e}")))?;
    Ok(Json(SignedProfile {
        profile,
        attestation,
    })
    .into_response())
}

async fn attestation_signer(
    State(state): State<AppState>,
) -> Result<Json<SignerResponse>, ApiError> {
    match &state.attestor {
        Some(attestor) => Ok(Json(attestor.describe())),
        None => Err(ApiError::NotFound {
            method: "GET".into(),
            path: ATTESTATION_SIGNER.into(),
        }),
    }
}

async fn verify_attestation(
    State(state): State<AppState>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
    ApiJson(attestation): ApiJson<Attestation>,
) -> Result<Json<Verdict>, ApiError> {
    match &state.attestor {
        Some(attestor) => attestor
            .verify(&attestation, chrono::Utc::now(), tenancy.store.as_ref())
            .await
            .map(Json)
            .map_err(|e| ApiError::StoreUnavailable(e.to_string())),
        None => Err(ApiError::NotFound {
            method: "POST".into(),
            path: ATTESTATION_VERIFY.into(),
        }),
    }
}

/// Profiles already parsed `accounts` (an owner set's), each of `segments` also on its own; an
/// incomplete profile is never a 200.
pub(crate) async fn respond_accounts(
    state: &AppState,
    accounts: Vec<AccountId>,
    segments: &[Segment],
) -> Result<Json<MarginProfile>, ApiError> {
    let profile = state.profiler.profile_segmented(accounts, segments).await?;
    if profile.coverage.complete {
        Ok(Json(profile))
    } else {
        Err(ApiError::incomplete(profile))
    }
}

/// Profiles `accounts`; an incomplete profile is never a 200, so a venue that only checks the
/// status fails closed.
async fn respond(state: &AppState, accounts: &[String]) -> Result<Json<MarginProfile>, ApiError> {
    let profiler = &state.profiler;
    let accounts = profiler.parse_accounts(accounts)?;
    let profile = profiler.profile(accounts).await?;
    if profile.coverage.complete {
        Ok(Json(profile))
    } else {
        Err(ApiError::incomplete(profile))
    }
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
    Json(HealthResponse {
        status: LiveStatus::Ok,
    })
}

async fn readyz(
    State(state): State<AppState>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
) -> (axum::http::StatusCode, Json<ReadyResponse>) {
    let profiler = &state.profiler;
    let (cache, probes, store) = tokio::join!(
        profiler.cache_health(),
        profiler.probe_chains(READY_PROBE_TIMEOUT),
        tenancy.store.ping()
    );
    let probes: std::collections::BTreeMap<_, _> = probes.into_iter().collect();
    let chains: Vec<ChainStatus> = profiler
        .chains()
        .map(|(chain, protocols)| {
            let probe = probes.get(chain);
            ChainStatus {
                chain: chain.clone(),
                alias: profiler.aliases().name_of(chain).map(str::to_owned),
                protocols,
                reachable: matches!(probe, Some(Ok(_))),
                head: probe.and_then(|p| p.as_ref().ok().copied()),
                error: match probe {
                    Some(Err(e)) => Some(e.clone()),
                    Some(Ok(_)) => None,
                    None => Some("not probed".to_owned()),
                },
            }
        })
        .collect();
    let auth_required = tenancy.mode == auth::AuthMode::Required;
    let key_store = KeyStoreStatus {
        backend: tenancy.store.backend().to_owned(),
        reachable: store.is_ok(),
        auth_required,
    };
    let reachable = chains.iter().filter(|c| c.reachable).count();
    let status =
        if (auth_required && !key_store.reachable) || (reachable == 0 && !chains.is_empty()) {
            ReadyStatus::Unavailable
        } else if reachable < chains.len() {
            ReadyStatus::Degraded
        } else {
            ReadyStatus::Ready
        };
    let code = if status == ReadyStatus::Unavailable {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    } else {
        axum::http::StatusCode::OK
    };
    let cache = CacheStatus {
        backend: cache.backend.to_owned(),
        degraded: cache.degraded,
    };
    let error = (status == ReadyStatus::Unavailable).then(|| {
        let (code, message) = if auth_required && !key_store.reachable {
            (
                crate::error::ErrorCode::StoreUnavailable,
                "the key store did not answer".to_owned(),
            )
        } else {
            (
                crate::error::ErrorCode::UpstreamUnavailable,
                "no served chain answered".to_owned(),
            )
        };
        crate::error::ErrorDetail {
            code,
            message,
            request_id: crate::middleware::current_request_id(),
            change: None,
            account: None,
            limit: None,
            failures: Vec::new(),
        }
    });
    (
        code,
        Json(ReadyResponse {
            status,
            cache,
            key_store,
            chains,
            error,
        }),
    )
}

async fn serve_openapi(document: Result<Bytes, String>) -> Response {
    match document {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(error) => {
            ApiError::Internal(format!("OpenAPI document could not be rendered: {error}"))
                .into_response()
        }
    }
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}
