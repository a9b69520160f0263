//! The Unimargin service: profile orchestration and the HTTP API venues call.
//!
//! # What it owns
//!
//! * [`Profiler`]: the orchestration shared by the API and the CLI's `profile` command. It
//!   validates accounts, pins **one read point per chain** for the whole profile, reads every
//!   (adapter × account) pair concurrently through the cache (keys include block number and hash,
//!   so a new block is a natural miss), turns read errors into [`Failure`](unimargin_schema::Failure)s
//!   and hands everything to [`unimargin_engine::compute_profile`]. A cache outage degrades to
//!   direct reads, never to an error.
//! * [`router`] / [`serve`]: the axum API (`POST /v1/profiles`,
//!   `GET /v1/accounts/{account}/profile`, `GET /v1/protocols`, `/healthz`, `/readyz`,
//!   `/openapi.json`) with a body limit, a request time limit, `x-request-id` and tracing.
//! * [`auth`] / [`owners`] / [`router_with`]: tenants. `/v1` routes take an API key (salted
//!   SHA-256 at rest, in a file or Redis), are rate limited per key, and owner sets are scoped to
//!   the caller's tenant (another tenant's set is a 404). [`router`] is the open variant.
//! * [`metrics`]: Prometheus `/metrics`; `/readyz` pins every chain with a short timeout.
//! * [`ApiError`]: the one error type. Every non-2xx answer has the JSON shape [`ErrorBody`]
//!   with a precise code. An incomplete profile is never a 200: upstream failures answer 502
//!   (504 when something timed out) with the partial profile attached, so a venue that only looks
//!   at the status fails closed while an institution can still see what was read.
//! * [`attest`]: EIP-712 attestations of profiles (`?signed=true`), `GET /v1/attestations/signer`
//!   and `POST /v1/attestations/verify` (expiry, tampering and replayed nonces); the Solidity
//!   verifier a venue deploys is in `contracts/` and is tested against anvil.
//! * [`stream`]: Server-Sent Events (`GET /v1/accounts/{account}/stream`,
//!   `GET /v1/owners/{id}/stream`), one poller per account set shared by every subscriber, and
//!   with [`RedisFanout`] by every replica (a lease decides who polls; events go through pub/sub).
//! * [`html`]: the human view (`GET /accounts/{account}`, `GET /owners/{id}`), one minijinja
//!   template, tested in headless Chromium; opened with the API key or a [`view_link`].
//! * [`openapi::document`]: OpenAPI 3.1, paths from utoipa's builders, component schemas from
//!   schemars (the same source as `schemas/`).
//!
//! # What it depends on
//!
//! `unimargin-engine`, `unimargin-cache`, `unimargin-sdk` and `unimargin-schema` — never on an
//! adapter crate: the binary builds the [`AdapterRegistry`](unimargin_sdk::AdapterRegistry) and
//! hands it to [`Profiler::new`].
//!
//! # How to test it
//!
//! `cargo test -p unimargin-server`. The integration tests (`tests/it/`) drive the router in
//! process against a real `anvil` (sdk `testkit`) and a private `redis-server` (cache `testkit`),
//! with a small test adapter that reads native balances through Multicall3; they cover outages
//! (anvil stopped, an RPC that never answers, Redis killed) as well as the happy paths.

pub mod attest;
pub mod auth;
mod error;
pub mod html;
pub mod metrics;
mod middleware;
pub mod openapi;
pub mod owners;
mod profiler;
mod routes;
pub mod simulate;
mod state;
pub mod stream;
pub mod view_link;

use std::future::Future;

pub use attest::{AttestError, Attestation, AttestationSettings, Attestor, SignedProfile, Verdict};
pub use auth::{AuthMode, Caller, Tenancy};
pub use error::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
pub use owners::{OwnerSet, OwnerSetList, OwnerSetRequest};
pub use profiler::{CacheHealth, ProfileError, Profiler, ProfilerSettings, ReadProgress};
pub use routes::{
    CacheStatus, ChainStatus, HealthResponse, KeyStoreStatus, LiveStatus, ProfileRequest,
    ProtocolEntry, ProtocolsResponse, ReadyResponse, ReadyStatus, router, router_with,
    router_with_hub,
};
pub use state::{AppState, ServerSettings};
pub use stream::{Fanout, InProcessFanout, RedisFanout, StreamHub, StreamSettings};
pub use view_link::{ViewLink, ViewLinkRequest, ViewLinks};

/// Serves the API on `listener` until `shutdown` completes, then stops accepting connections
/// and lets requests in flight finish (each is bounded by the request timeout).
///
/// The listener is bound by the caller (from [`ServerSettings::bind`]) so that tests and
/// embedders can bind port 0 and learn the address first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving the Unimargin API");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// [`serve`] for an already built router (such as [`router_with`], the API with tenants).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving the Unimargin API");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
