//! Upstream outages: the answer is never a 200, and the partial profile says what failed.

use std::{sync::Arc, time::Duration};

use axum::http::StatusCode;
use unimargin_cache::MemoryCache;
use unimargin_schema::ChainId;
use unimargin_sdk::evm::EvmClient;
use unimargin_server::ServerSettings;

use crate::harness::{
    ANVIL, account, evm_settings, funded_chain, profile_request, send, service, service_with,
    silent_node,
};

#[tokio::test]
async fn a_stopped_node_fails_closed_with_502_and_the_partial_profile() {
    let mut chain = funded_chain(10).await;
    let svc = service(&chain);
    assert_eq!(
        send(&svc.router, profile_request(&[&account()]))
            .await
            .status,
        StatusCode::OK
    );
    let url = chain.url().to_owned();
    chain.stop();

    let answer = send(&svc.router, profile_request(&[&account()])).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::BAD_GATEWAY, "upstream_unavailable"),
        "{}",
        answer.body
    );
    let profile = &answer.body["profile"];
    assert_eq!(profile["coverage"]["complete"], false);
    assert!(
        profile["health"].is_null(),
        "an incomplete profile has no health"
    );
    assert_eq!(profile["credit_capacity_usd"], "0");
    let failures = answer.body["error"]["failures"].as_array().unwrap();
    assert_eq!(
        failures,
        profile["coverage"]["failures"].as_array().unwrap()
    );
    let [failure] = failures.as_slice() else {
        panic!("one chain-wide failure: {failures:?}")
    };
    assert_eq!(failure["scope"]["chain"], format!("eip155:{ANVIL}"));
    assert!(
        failure["scope"].get("protocol").is_none(),
        "the chain failed, not a protocol"
    );
    assert_eq!(failure["kind"], "rpc_unavailable");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains(&format!("eip155:{ANVIL}")),
        "{failure}"
    );
    // RPC URLs may hold API keys: never echoed.
    let text = answer.body.to_string();
    assert!(
        !text.contains(&url) && !text.contains("http://"),
        "URL leaked: {text}"
    );
}

#[tokio::test]
async fn a_silent_node_fails_closed_with_504() {
    let node = silent_node().await;
    let client = EvmClient::http(
        ChainId::evm(ANVIL),
        &node,
        evm_settings(Duration::from_millis(300)),
    )
    .unwrap();
    let svc = service_with(
        client,
        Arc::new(MemoryCache::default()),
        ServerSettings::default(),
    );

    let answer = send(&svc.router, profile_request(&[&account()])).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
        "{}",
        answer.body
    );
    assert_eq!(answer.body["profile"]["coverage"]["complete"], false);
    assert_eq!(answer.body["error"]["failures"][0]["kind"], "rpc_timeout");
    assert_eq!(
        answer.body["profile"]["coverage"]["chains"][0]["chain"],
        format!("eip155:{ANVIL}")
    );
    assert!(
        answer.body["profile"]["coverage"]["chains"][0]
            .get("read_point")
            .is_none()
    );
}

#[tokio::test]
async fn the_request_time_limit_answers_504_json() {
    let node = silent_node().await;
    // The RPC would wait 10 s; the request may take 200 ms.
    let client = EvmClient::http(
        ChainId::evm(ANVIL),
        &node,
        evm_settings(Duration::from_secs(10)),
    )
    .unwrap();
    let settings = ServerSettings {
        request_timeout: Duration::from_millis(200),
        ..ServerSettings::default()
    };
    let svc = service_with(client, Arc::new(MemoryCache::default()), settings);

    let started = std::time::Instant::now();
    let answer = send(&svc.router, profile_request(&[&account()])).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::GATEWAY_TIMEOUT, "request_timeout"),
        "{}",
        answer.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}
