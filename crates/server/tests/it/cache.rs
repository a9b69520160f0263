//! The snapshot cache: one read per (block, protocol market, account), on memory and on Redis,
//! and direct reads when Redis dies.

use std::{sync::Arc, time::Duration};

use axum::http::StatusCode;
use serde_json::Value;
use unimargin_cache::{RedisCache, RedisOptions, testkit::RedisServer};
use unimargin_sdk::evm::EvmSettings;
use unimargin_server::ServerSettings;

use crate::harness::{
    Service, account, fund, funded_chain, get, profile_request, send, service, service_with,
};

/// The parts of a profile that must not depend on whether it came from the cache.
fn essence(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(o) = body.as_object_mut() {
        o.remove("as_of");
    }
    body
}

async fn profile(svc: &Service) -> Value {
    let answer = send(&svc.router, profile_request(&[&account()])).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

fn block(body: &Value) -> &Value {
    &body["coverage"]["chains"][0]["read_point"]["number"]
}

#[tokio::test]
async fn memory_cache_reads_once_per_block() {
    let chain = funded_chain(3).await;
    let svc = service(&chain);

    let first = profile(&svc).await;
    let second = profile(&svc).await;
    assert_eq!(
        svc.calls(),
        1,
        "the second request at the same block is served from the cache"
    );
    assert_eq!(essence(&first), essence(&second));

    // A new block is a new key: read again, and see the new balance.
    fund(&chain, 4).await;
    let third = profile(&svc).await;
    assert_eq!(svc.calls(), 2, "a new block is a miss");
    assert_ne!(block(&third), block(&first));
    assert_eq!(third["totals"]["collateral_usd"], "8000"); // 4 ETH × 2000
}

/// Short timeouts so an outage costs little test time.
fn redis_options() -> RedisOptions {
    RedisOptions {
        connect_timeout: Duration::from_millis(300),
        response_timeout: Duration::from_millis(300),
        reconnect_retries: 1,
        reconnect_max_delay: Duration::from_millis(100),
        ..RedisOptions::default()
    }
}

#[tokio::test]
async fn redis_cache_hits_and_a_redis_outage_degrades_to_direct_reads() {
    let mut redis = RedisServer::start();
    let chain = funded_chain(5).await;
    let cache = RedisCache::connect(&redis.url(), redis_options())
        .await
        .unwrap();
    let svc = service_with(
        chain.client(EvmSettings::default()),
        Arc::new(cache),
        ServerSettings::default(),
    );

    let first = profile(&svc).await;
    let second = profile(&svc).await;
    assert_eq!(svc.calls(), 1, "served from Redis the second time");
    assert_eq!(essence(&first), essence(&second));
    let ready = send(&svc.router, get("/readyz")).await;
    assert_eq!(
        ready.body["cache"],
        serde_json::json!({"backend": "redis", "degraded": false})
    );

    redis.stop();
    for round in 1..=2 {
        let during = profile(&svc).await;
        assert_eq!(
            essence(&during),
            essence(&first),
            "round {round}: same answer without the cache"
        );
        assert_eq!(svc.calls(), 1 + round, "round {round}: read directly");
    }
    let ready = send(&svc.router, get("/readyz")).await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "still ready: the service degrades to direct reads"
    );
    assert_eq!(ready.body["status"], "ready");
    assert_eq!(
        ready.body["cache"],
        serde_json::json!({"backend": "redis", "degraded": true})
    );
}
