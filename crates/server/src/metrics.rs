//! Prometheus metrics at `/metrics`: request latency per route, RPC requests per chain, read
//! failures per chain and adapter, adapter reads by outcome, profile cache hits and misses, and
//! the engine's compiled scenario grids.
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder), installed on
//! first use. RPC request counts are read from the chain clients when `/metrics` is scraped, so
//! the hot path pays nothing for them.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, OnceLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Histogram of request durations, labelled `route`, `method` and `status`.
pub const REQUEST_DURATION: &str = "unimargin_http_request_duration_seconds";
/// Counter of JSON-RPC requests sent, labelled `chain`.
pub const RPC_REQUESTS: &str = "unimargin_rpc_requests_total";
/// Counter of failed reads, labelled `chain`, `adapter` (the adapter kind, or `pin` when the
/// chain's read point could not be pinned) and `kind` (the failure kind: `rpc_unavailable`,
/// `rpc_timeout`, `stale_price`, …).
pub const RPC_ERRORS: &str = "unimargin_rpc_errors_total";
/// Counter of (adapter × account) reads, labelled `chain`, `adapter`, `protocol` and `outcome`
/// (`cached`, `fresh`, `failed`).
pub const ADAPTER_READS: &str = "unimargin_adapter_reads_total";
/// Counter of profile snapshot cache hits.
pub const CACHE_HITS: &str = "unimargin_cache_hits_total";
/// Counter of profile snapshot cache misses (reads from the chain).
pub const CACHE_MISSES: &str = "unimargin_cache_misses_total";
/// Counter of scenario grids the engine found compiled or had to build, labelled `outcome`
/// (`found`, `built`): a `built` count that grows with the profiles means owners' books come in
/// more shapes than the engine's grid cache keeps.
pub const SCENARIO_GRIDS: &str = "unimargin_scenario_grids_total";
/// Gauge of the scenario grids the engine holds compiled.
pub const SCENARIO_GRIDS_HELD: &str = "unimargin_scenario_grids";

/// Latency buckets in seconds: a cached profile answers in a millisecond or two, a cold
/// multi-chain read takes seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's Prometheus handle, installing the recorder on first use. `None` if another
/// recorder was installed first by the embedding program.
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            metrics::describe_histogram!(
                REQUEST_DURATION,
                metrics::Unit::Seconds,
                "HTTP request duration per route"
            );
            metrics::describe_counter!(
                RPC_REQUESTS,
                "requests sent per chain (JSON-RPC, or HTTP for venues)"
            );
            metrics::describe_counter!(RPC_ERRORS, "failed reads per chain, adapter and kind");
            metrics::describe_counter!(ADAPTER_READS, "adapter reads per chain and outcome");
            metrics::describe_counter!(CACHE_HITS, "profile snapshot cache hits");
            metrics::describe_counter!(CACHE_MISSES, "profile snapshot cache misses");
            metrics::describe_counter!(
                SCENARIO_GRIDS,
                "scenario grids found compiled or built, by outcome"
            );
            metrics::describe_gauge!(SCENARIO_GRIDS_HELD, "scenario grids held compiled");
            Some(handle)
        })
        .as_ref()
}

/// Counts a failed read of `adapter` (or `pin`) on `chain`.
pub(crate) fn record_rpc_error(
    chain: &unimargin_schema::ChainId,
    adapter: &str,
    kind: unimargin_schema::FailureKind,
) {
    let kind = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    metrics::counter!(RPC_ERRORS, "chain" => chain.to_string(), "adapter" => adapter.to_owned(), "kind" => kind)
        .increment(1);
}

/// Counts one (adapter × account) read and how it was served.
pub(crate) fn record_adapter_read(d: &unimargin_sdk::AdapterDescriptor, outcome: &'static str) {
    metrics::counter!(
        ADAPTER_READS,
        "chain" => d.chain.to_string(),
        "adapter" => d.kind.clone(),
        "protocol" => d.protocol.to_string(),
        "outcome" => outcome
    )
    .increment(1);
}

/// Times every request under its route template (never the concrete path, which holds account
/// ids and would explode the label set).
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(REQUEST_DURATION, "route" => route, "method" => method, "status" => status)
        .record(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`, in Prometheus' text format.
pub(crate) async fn serve(State(state): State<AppState>) -> Response {
    // The clients count cumulatively; the counter gets what is new since the last scrape, per
    // profiler, so several profilers in one process (tests, embedders) add up instead of
    // overwriting each other.
    static SEEN: Mutex<BTreeMap<(usize, String), u64>> = Mutex::new(BTreeMap::new());
    let profiler = Arc::as_ptr(&state.profiler) as usize;
    if let Ok(mut seen) = SEEN.lock() {
        for (chain, count) in state.profiler.rpc_request_counts() {
            let chain = chain.to_string();
            let last = seen.insert((profiler, chain.clone()), count).unwrap_or(0);
            metrics::counter!(RPC_REQUESTS, "chain" => chain).increment(count.saturating_sub(last));
        }
        // The engine's grid cache counts the same way (keys cannot meet a chain id's).
        let grids = state.profiler.engine().grids.stats();
        for (outcome, count) in [("found", grids.found), ("built", grids.built)] {
            let last = seen
                .insert((profiler, format!("grids:{outcome}")), count)
                .unwrap_or(0);
            metrics::counter!(SCENARIO_GRIDS, "outcome" => outcome)
                .increment(count.saturating_sub(last));
        }
        metrics::gauge!(SCENARIO_GRIDS_HELD).set(grids.grids as f64);
    }
    match handle() {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => crate::error::ApiError::Internal("another metrics recorder is installed".into())
            .into_response(),
    }
}
