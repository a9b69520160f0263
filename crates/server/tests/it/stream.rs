//! Server-Sent Events against anvil: the first profile, a new one after a block that changes the
//! position, one poller shared by two subscribers, and an alert when the chain goes away.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::{Body, BodyDataStream},
    http::{StatusCode, header},
};
use futures::StreamExt;
use serde_json::Value;
use tower::ServiceExt;
use unimargin_cache::MemoryCache;
use unimargin_sdk::evm::EvmSettings;
use unimargin_server::{ServerSettings, StreamSettings};

use crate::harness::{account, dec, fund, funded_chain, get, send, service_with};

/// One parsed event.
#[derive(Debug)]
struct Sse {
    event: String,
    data: Value,
}

/// Reads events off a response body.
struct Events {
    body: BodyDataStream,
    buffer: String,
}

impl Events {
    async fn open(router: &Router, path: &str) -> Self {
        let response = router.clone().oneshot(get(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            body: Body::new(response.into_body()).into_data_stream(),
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), within `within`.
    async fn next(&mut self, within: Duration) -> Sse {
        tokio::time::timeout(within, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let (mut event, mut data) = (String::from("message"), String::new());
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim_start());
                        }
                    }
                    if data.is_empty() {
                        continue; // a keep-alive comment
                    }
                    return Sse {
                        event,
                        data: serde_json::from_str(&data).unwrap(),
                    };
                }
                let chunk = self.body.next().await.expect("stream ended").unwrap();
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("no event in time")
    }
}

fn settings() -> ServerSettings {
    ServerSettings {
        stream: StreamSettings {
            poll_interval: Duration::from_millis(200),
            alert_thresholds: vec![dec("1.5"), dec("1.2"), dec("1")],
        },
        ..ServerSettings::default()
    }
}

#[tokio::test]
async fn a_block_that_changes_the_position_pushes_a_new_profile_to_every_subscriber() {
    let chain = funded_chain(10).await;
    let svc = service_with(
        chain.client(EvmSettings::default()),
        Arc::new(MemoryCache::default()),
        settings(),
    );
    let path = format!("/v1/accounts/{}/stream", account());

    let mut first = Events::open(&svc.router, &path).await;
    let initial = first.next(Duration::from_secs(10)).await;
    assert_eq!(initial.event, "profile");
    assert_eq!(
        dec(initial.data["totals"]["net_value_usd"].as_str().unwrap()),
        dec("20000")
    ); // 10 ETH × 2000

    // A second subscriber to the same account shares the poller and gets the latest profile now.
    let mut second = Events::open(&svc.router, &path).await;
    let joined = second.next(Duration::from_secs(2)).await;
    assert_eq!(
        (joined.event.as_str(), &joined.data["totals"]),
        ("profile", &initial.data["totals"])
    );

    // Blocks that change nothing push nothing: mine two empty blocks, wait several polls.
    chain.mine().await.unwrap();
    chain.mine().await.unwrap();
    let reads = svc.calls();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(svc.calls() > reads, "the poller read the new blocks");
    // Now a block that changes the position: 10 ETH → 4 ETH.
    fund(&chain, 4).await;
    for events in [&mut first, &mut second] {
        let update = events.next(Duration::from_secs(10)).await;
        assert_eq!(update.event, "profile", "{:?}", update.data);
        assert_eq!(
            dec(update.data["totals"]["net_value_usd"].as_str().unwrap()),
            dec("8000")
        ); // 4 × 2000
    }
}

#[tokio::test]
async fn a_chain_that_goes_away_raises_a_health_alert_and_an_incomplete_profile() {
    let mut chain = funded_chain(1).await;
    let svc = service_with(
        chain.client(EvmSettings::default()),
        Arc::new(MemoryCache::default()),
        settings(),
    );
    let mut events = Events::open(&svc.router, &format!("/v1/accounts/{}/stream", account())).await;
    let initial = events.next(Duration::from_secs(10)).await;
    assert_eq!(
        (initial.event.as_str(), &initial.data["health"]),
        ("profile", &Value::from("infinity"))
    );

    chain.stop();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        seen.push(events.next(Duration::from_secs(30)).await);
    }
    let profile = seen
        .iter()
        .find(|e| e.event == "profile")
        .expect("an incomplete profile");
    assert_eq!(profile.data["coverage"]["complete"], false);
    let alert = seen
        .iter()
        .find(|e| e.event == "health_alert")
        .expect("a health alert");
    assert_eq!(alert.data["direction"], "down");
    assert_eq!(alert.data["health"], Value::Null);
    assert_eq!(alert.data["previous"], "infinity");
}

#[tokio::test]
async fn a_bad_account_is_refused_before_streaming() {
    let chain = funded_chain(1).await;
    let svc = service_with(
        chain.client(EvmSettings::default()),
        Arc::new(MemoryCache::default()),
        settings(),
    );
    let answer = send(&svc.router, get("/v1/accounts/not-an-account/stream")).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::BAD_REQUEST, "invalid_account")
    );
}
