//! Server-Sent Events against anvil: the first profile, a new one after a block that changes the
//! position, one poller shared by two subscribers, an alert when the chain goes away, owner-set
//! streams scoped to their tenant, and two replicas sharing one poller through a real Redis
//! (including a takeover when the polling replica dies, and an outage of Redis).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::{Body, BodyDataStream},
    http::{Request, StatusCode, header},
    response::Response,
};
use futures::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use unimargin_cache::{MemoryCache, testkit::RedisServer};
use unimargin_sdk::{evm::EvmSettings, testkit::TestChain};
use unimargin_server::{
    AppState, Fanout, InProcessFanout, RedisFanout, ServerSettings, StreamHub, StreamSettings,
    Tenancy,
    auth::{FileStore, RateLimit, RedisStore, TenantStore},
    router_with_hub,
};

use crate::harness::{
    account, dec, fund, funded_chain, get, key, native_profiler, send, service_with,
};

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
        Self::request(router, get(path)).await
    }

    async fn request(router: &Router, req: Request<Body>) -> Self {
        Self::from_response(router.clone().oneshot(req).await.unwrap())
    }

    fn from_response(response: Response) -> Self {
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

    /// Whether the stream ends (with no further event) within `within`.
    async fn ends(&mut self, within: Duration) -> bool {
        tokio::time::timeout(within, async {
            while let Some(chunk) = self.body.next().await {
                let text = String::from_utf8(chunk.unwrap().to_vec()).unwrap();
                assert!(
                    text.trim_start().starts_with(':'),
                    "an event after the end: {text}"
                );
            }
        })
        .await
        .is_ok()
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

/// One replica of the service: its router, its stream hub and its adapter's read count.
pub(crate) struct Replica {
    pub(crate) router: Router,
    pub(crate) hub: Arc<StreamHub>,
    calls: Arc<AtomicUsize>,
}

impl Replica {
    /// Adapter reads made by this replica (its own chain client, cache and adapter).
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A replica over `chain` with keys required from `store` and streams through `fanout`.
pub(crate) fn replica(
    chain: &TestChain,
    store: Arc<dyn TenantStore>,
    fanout: Arc<dyn Fanout>,
) -> Replica {
    replica_limited(chain, store, fanout, RateLimit::unlimited())
}

/// [`replica`] with `limit` per key.
pub(crate) fn replica_limited(
    chain: &TestChain,
    store: Arc<dyn TenantStore>,
    fanout: Arc<dyn Fanout>,
    limit: RateLimit,
) -> Replica {
    let (profiler, calls) = native_profiler(
        chain.client(EvmSettings::default()),
        Arc::new(MemoryCache::default()),
    );
    let settings = settings();
    let hub = Arc::new(StreamHub::with_fanout(settings.stream.clone(), fanout));
    let state = AppState {
        profiler: Arc::new(profiler),
        settings,
        attestor: None,
    };
    let tenancy = Tenancy::required(store, limit);
    Replica {
        router: router_with_hub(state, tenancy, hub.clone()),
        hub,
        calls,
    }
}

pub(crate) fn as_key(mut req: Request<Body>, key: &str) -> Request<Body> {
    req.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {key}").parse().unwrap(),
    );
    req
}

/// Registers an owner set of [`account`] (with one segment) as `key`'s tenant; its id.
pub(crate) async fn owner_set(router: &Router, key: &str) -> String {
    let body = json!({
        "name": "desk 1",
        "accounts": [account()],
        "segments": [{"name": "hot", "accounts": [account()]}]
    });
    let req = as_key(
        crate::harness::post_json("/v1/owners", body.to_string()),
        key,
    );
    let created = send(router, req).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// One replica (in-process fan-out) with a key of each of two tenants and an owner set of the
/// first: the replica, the two keys and the set's id.
pub(crate) async fn two_tenants(chain: &TestChain) -> (Replica, String, String, String) {
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    let svc = replica(chain, store.clone(), Arc::new(InProcessFanout::default()));
    let (a, b) = (
        key(store.as_ref(), "venue-a").await,
        key(store.as_ref(), "venue-b").await,
    );
    let id = owner_set(&svc.router, &a).await;
    (svc, a, b, id)
}

fn net_value(event: &Sse) -> rust_decimal::Decimal {
    assert_eq!(event.event, "profile", "{:?}", event.data);
    dec(event.data["totals"]["net_value_usd"].as_str().unwrap())
}

#[tokio::test]
async fn an_owner_set_stream_pushes_a_new_profile_after_a_block_and_is_404_for_another_tenant() {
    let chain = funded_chain(10).await;
    let (svc, a, b, id) = two_tenants(&chain).await;
    let path = format!("/v1/owners/{id}/stream");

    // Another tenant gets what a made-up id gets; no key at all is a 401.
    for path in [path.clone(), "/v1/owners/os_0000000000000000/stream".into()] {
        let theirs = send(&svc.router, as_key(get(&path), &b)).await;
        assert_eq!(
            (theirs.status, theirs.code()),
            (StatusCode::NOT_FOUND, "unknown_owner_set"),
            "{path}"
        );
    }
    let anonymous = send(&svc.router, get(&path)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(svc.hub.pollers(), 0, "refused requests start no poller");

    let mut events = Events::request(&svc.router, as_key(get(&path), &a)).await;
    let initial = events.next(Duration::from_secs(10)).await;
    assert_eq!(net_value(&initial), dec("20000")); // 10 ETH × 2000
    // The set's segment is margined on its own: the same single account.
    assert_eq!(initial.data["risk"]["segments"][0]["name"], "hot");

    fund(&chain, 4).await;
    let update = events.next(Duration::from_secs(10)).await;
    assert_eq!(net_value(&update), dec("8000")); // 4 × 2000
}

/// Two replicas sharing one key store and one fan-out through `redis` (2 s timeouts); the store
/// is returned for issuing keys.
fn redis_replicas(
    chain: &TestChain,
    redis: &RedisServer,
) -> (Arc<dyn TenantStore>, Replica, Replica) {
    let timeout = Duration::from_secs(2);
    let store: Arc<dyn TenantStore> =
        Arc::new(RedisStore::connect(&redis.url(), "it:", timeout).unwrap());
    let fanout = || -> Arc<dyn Fanout> {
        Arc::new(RedisFanout::connect(&redis.url(), "it:", timeout).unwrap())
    };
    let a = replica(chain, store.clone(), fanout());
    let b = replica(chain, store.clone(), fanout());
    (store, a, b)
}

/// One replica relaying through `redis` (500 ms timeouts), its account stream opened with a new
/// key and its first profile (1 ETH × 2000) received: the replica, the key, the stream's path and
/// its events.
async fn relayed_stream(
    chain: &TestChain,
    redis: &RedisServer,
) -> (Replica, String, String, Events) {
    let timeout = Duration::from_millis(500);
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    let fanout = Arc::new(RedisFanout::connect(&redis.url(), "it:", timeout).unwrap());
    let svc = replica(chain, store.clone(), fanout);
    let secret = key(store.as_ref(), "venue-a").await;
    let path = format!("/v1/accounts/{}/stream", account());
    let mut events = Events::request(&svc.router, as_key(get(&path), &secret)).await;
    assert_eq!(
        net_value(&events.next(Duration::from_secs(10)).await),
        dec("2000")
    );
    (svc, secret, path, events)
}

#[tokio::test]
async fn two_replicas_share_one_poller_through_redis_and_a_survivor_takes_over() {
    let chain = funded_chain(10).await;
    let redis = RedisServer::start();
    let (store, a, b) = redis_replicas(&chain, &redis);
    let secret = key(store.as_ref(), "venue-a").await;
    // Registered through one replica, streamed through both.
    let id = owner_set(&b.router, &secret).await;
    let path = format!("/v1/owners/{id}/stream");

    // Replica A runs on a runtime of its own, so that it can later die without any clean-up.
    let runtime_a = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let response = runtime_a
        .spawn(a.router.clone().oneshot(as_key(get(&path), &secret)))
        .await
        .unwrap()
        .unwrap();
    let mut on_a = Events::from_response(response);
    assert_eq!(
        net_value(&on_a.next(Duration::from_secs(10)).await),
        dec("20000")
    );

    // B joins: it gets the latest profile from Redis at once, without reading the chain.
    let mut on_b = Events::request(&b.router, as_key(get(&path), &secret)).await;
    assert_eq!(
        net_value(&on_b.next(Duration::from_secs(5)).await),
        dec("20000")
    );
    chain.mine().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let (polls_a, reads_a) = (a.hub.polls(), a.calls());
    assert!(polls_a >= 3, "A polls every 200 ms: {polls_a}");
    assert!(reads_a >= 2, "A read the new block: {reads_a}");
    assert_eq!((b.hub.polls(), b.calls()), (0, 0), "B never read the chain");

    // A block that changes the position reaches both replicas' subscribers, read once.
    fund(&chain, 4).await;
    assert_eq!(
        net_value(&on_a.next(Duration::from_secs(10)).await),
        dec("8000")
    );
    assert_eq!(
        net_value(&on_b.next(Duration::from_secs(10)).await),
        dec("8000")
    );
    assert_eq!(
        (b.hub.polls(), b.calls()),
        (0, 0),
        "B relayed, did not poll"
    );
    eprintln!(
        "one poller for two replicas: A polled {} times ({} adapter reads), B 0",
        a.hub.polls(),
        a.calls()
    );

    // A dies (its runtime is gone: no release of the lease). Once the lease lapses, B polls and
    // continues from what A published: the next event is the next change, not a repeat.
    drop(on_a);
    runtime_a.shutdown_background();
    fund(&chain, 6).await;
    let died = std::time::Instant::now();
    let next = on_b.next(Duration::from_secs(20)).await;
    eprintln!(
        "takeover: B pushed the next change {:?} after A died",
        died.elapsed()
    );
    assert_eq!(net_value(&next), dec("12000")); // 6 × 2000
    assert!(b.hub.polls() > 0 && b.calls() > 0, "B took the poller over");
}

#[tokio::test]
async fn a_redis_outage_ends_the_stream_with_an_error_event_and_new_streams_are_503() {
    let chain = funded_chain(1).await;
    let mut redis = RedisServer::start();
    let (svc, secret, path, mut events) = relayed_stream(&chain, &redis).await;

    // Redis goes away: the subscriber is told, then the stream ends; no silent stream.
    redis.stop();
    let error = events.next(Duration::from_secs(10)).await;
    assert_eq!(error.event, "error", "{:?}", error.data);
    assert_eq!(error.data["code"], "relay_unavailable");
    assert!(
        events.ends(Duration::from_secs(5)).await,
        "the stream ended"
    );
    assert_eq!(svc.hub.pollers(), 0);

    // While Redis is down, a new stream is refused up front rather than opened silent.
    let refused = send(&svc.router, as_key(get(&path), &secret)).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "relay_unavailable")
    );
}

#[tokio::test]
async fn a_frozen_redis_ends_the_stream_with_an_error_event_rather_than_silence() {
    let chain = funded_chain(1).await;
    let redis = RedisServer::start();
    // The replica is kept alive for the stream; its key and path are not needed again.
    let (_svc, _, _, mut events) = relayed_stream(&chain, &redis).await;

    // A frozen Redis keeps its connections open and answers nothing: the subscription alone
    // would stay silent forever; the lease renewal times out and the subscriber is told.
    redis.freeze();
    let error = events.next(Duration::from_secs(10)).await;
    redis.thaw();
    assert_eq!(
        (error.event.as_str(), &error.data["code"]),
        ("error", &Value::from("relay_unavailable"))
    );
    assert!(
        events.ends(Duration::from_secs(5)).await,
        "the stream ended"
    );
}

#[tokio::test]
async fn a_replica_whose_subscribers_leave_hands_the_poller_over_at_once() {
    let chain = funded_chain(10).await;
    let redis = RedisServer::start();
    let (store, a, b) = redis_replicas(&chain, &redis);
    let secret = key(store.as_ref(), "venue-a").await;
    let id = owner_set(&a.router, &secret).await;
    let path = format!("/v1/owners/{id}/stream");
    let mut on_a = Events::request(&a.router, as_key(get(&path), &secret)).await;
    assert_eq!(
        net_value(&on_a.next(Duration::from_secs(10)).await),
        dec("20000")
    );
    let mut on_b = Events::request(&b.router, as_key(get(&path), &secret)).await;
    assert_eq!(
        net_value(&on_b.next(Duration::from_secs(5)).await),
        dec("20000")
    );
    assert_eq!(b.hub.polls(), 0);

    // A's last subscriber leaves: A retires its relay and releases the lease, so B polls within
    // a few ticks, before the lease (renewed 200 ms before at most) could have lapsed (2 s).
    drop(on_a);
    let left = std::time::Instant::now();
    while b.hub.polls() == 0 {
        assert!(left.elapsed() < Duration::from_secs(5), "B never polled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        left.elapsed() < Duration::from_millis(1_500),
        "the lease was left to lapse: {:?}",
        left.elapsed()
    );
    assert_eq!(a.hub.pollers(), 0, "A relays nothing any more");
    fund(&chain, 4).await;
    assert_eq!(
        net_value(&on_b.next(Duration::from_secs(10)).await),
        dec("8000")
    );
}
