//! What the router holds.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use crate::{attest::Attestor, profiler::Profiler};

/// HTTP-level settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Where the binary binds its listener ([`crate::serve`] takes an already bound listener,
    /// so tests can bind port 0).
    pub bind: SocketAddr,
    /// Largest accepted request body. 64 KiB holds far more than the maximum number of
    /// accounts, so anything bigger is not a legitimate request.
    pub body_limit_bytes: usize,
    /// Upper bound of one request, after which the client gets a 504. It should exceed the
    /// RPC timeout so that a slow chain is reported as `upstream_timeout` with the partial
    /// profile rather than as a bare `request_timeout`.
    pub request_timeout: Duration,
    /// Server-Sent Events: poll interval and health-alert thresholds.
    pub stream: crate::stream::StreamSettings,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            stream: Default::default(),
        }
    }
}

/// The router's state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The profile orchestration shared by every request.
    pub profiler: Arc<Profiler>,
    /// HTTP settings.
    pub settings: ServerSettings,
    /// The attestation signer; `None` when signing is disabled (`?signed=true` is then a 400).
    pub attestor: Option<Arc<Attestor>>,
}
