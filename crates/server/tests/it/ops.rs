//! Operations: `/metrics` and `/readyz` against a running chain.

use axum::http::{StatusCode, header};
use tower::ServiceExt;

use std::sync::Arc;

use unimargin_cache::MemoryCache;
use unimargin_schema::ChainId;
use unimargin_sdk::evm::{EvmClient, EvmSettings};
use unimargin_server::ServerSettings;

use crate::harness::{
    ANVIL, account, block_number, funded_chain, get, profile_request, send, service, service_with,
};

#[tokio::test]
async fn metrics_count_requests_per_route_rpc_per_chain_and_cache_hits() {
    let chain = funded_chain(1).await;
    // An HTTP client, whose requests are counted (the test kit's provider-backed one is not).
    let client = EvmClient::http(ChainId::evm(ANVIL), chain.url(), EvmSettings::default()).unwrap();
    let svc = service_with(
        client,
        Arc::new(MemoryCache::default()),
        ServerSettings::default(),
    );
    // Twice at the same block: a miss (read from anvil), then a hit.
    for _ in 0..2 {
        assert_eq!(
            send(&svc.router, profile_request(&[&account()]))
                .await
                .status,
            StatusCode::OK
        );
    }
    let response = svc.router.clone().oneshot(get("/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();

    // The histogram is labelled with the route template, never a concrete path.
    let count_line = text
        .lines()
        .find(|l| {
            l.starts_with("unimargin_http_request_duration_seconds_count{")
                && l.contains(r#"route="/v1/profiles""#)
                && l.contains(r#"status="200""#)
        })
        .unwrap_or_else(|| panic!("no latency histogram for /v1/profiles:\n{text}"));
    // The recorder is process-wide and other tests run in parallel: at least our two requests.
    let count: u64 = count_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 2, "{count_line}");
    assert!(
        text.contains("unimargin_http_request_duration_seconds_bucket{"),
        "buckets are exported"
    );

    let rpc = text
        .lines()
        .find(|l| {
            l.starts_with("unimargin_rpc_requests_total{") && l.contains(r#"chain="eip155:31337""#)
        })
        .unwrap_or_else(|| panic!("no RPC counter:\n{text}"));
    // This service's client pinned twice and read once (at least 3 JSON-RPC requests).
    assert!(
        rpc.rsplit(' ').next().unwrap().parse::<u64>().unwrap() >= 3,
        "{rpc}"
    );
    // Reads per adapter: the first from the chain, the second from the cache.
    for outcome in ["fresh", "cached"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("unimargin_adapter_reads_total{")
                    && l.contains(r#"chain="eip155:31337""#)
                    && l.contains(r#"protocol="native""#)
                    && l.contains(&format!(r#"outcome="{outcome}""#))),
            "no {outcome} adapter read:\n{text}"
        );
    }
    // The engine built this profiler's grid for the first profile and found it for the second
    // (other tests' profilers add to the same process-wide counters).
    for outcome in ["built", "found"] {
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("unimargin_scenario_grids_total{")
                    && l.contains(&format!(r#"outcome="{outcome}""#))
            })
            .unwrap_or_else(|| panic!("no {outcome} grid counter:\n{text}"));
        assert!(
            line.rsplit(' ').next().unwrap().parse::<u64>().unwrap() >= 1,
            "{line}"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("unimargin_scenario_grids ")),
        "no grids gauge:\n{text}"
    );
    for counter in [
        "unimargin_cache_hits_total ",
        "unimargin_cache_misses_total ",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(counter))
            .unwrap_or_else(|| panic!("no {counter}:\n{text}"));
        assert!(
            line.rsplit(' ').next().unwrap().parse::<u64>().unwrap() >= 1,
            "{line}"
        );
    }
}

#[tokio::test]
async fn readyz_pins_every_chain() {
    let chain = funded_chain(1).await;
    let svc = service(&chain);
    let head = block_number(&chain).await;
    let answer = send(&svc.router, get("/readyz")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["status"], "ready");
    assert_eq!(answer.body["chains"][0]["reachable"], true);
    assert_eq!(answer.body["chains"][0]["head"], head);
}

#[tokio::test]
async fn metrics_count_read_failures_per_chain_adapter_and_kind() {
    // Nothing listens: the pin fails, the profile is a 502, and the failure is counted.
    let svc = crate::harness::offline_service();
    let answer = send(&svc.router, profile_request(&[&account()])).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
    let text = send_text(&svc.router, "/metrics").await;
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("unimargin_rpc_errors_total{")
                && l.contains(r#"chain="eip155:31337""#)
                && l.contains(r#"adapter="pin""#)
                && l.contains(r#"kind="rpc_unavailable""#)
        })
        .unwrap_or_else(|| panic!("no RPC error counter:\n{text}"));
    assert!(
        line.rsplit(' ').next().unwrap().parse::<u64>().unwrap() >= 1,
        "{line}"
    );
}

async fn send_text(router: &axum::Router, path: &str) -> String {
    let response = router.clone().oneshot(get(path)).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}
