//! Tenants: API keys, owner sets and their isolation, per-key rate limits, and the request caps
//! that hold with keys on.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use chrono::Utc;
use serde_json::{Value, json};
use unimargin_cache::{MemoryCache, testkit::RedisServer};
use unimargin_schema::ChainId;
use unimargin_sdk::evm::{EvmClient, EvmSettings};
use unimargin_server::{
    AppState, ServerSettings, Tenancy,
    auth::{ApiKey, FileStore, RateLimit, RedisStore, TenantStore},
    router_with,
};

use crate::harness::{ADDR, ANVIL, CREDIT, account, dec, funded_chain, key, native_profiler, send};

/// The service over `client` with keys required from `store` and `limit` per key.
fn tenant_router(client: EvmClient, store: Arc<dyn TenantStore>, limit: RateLimit) -> Router {
    tenancy_router(client, Tenancy::required(store, limit))
}

/// The service over `client` with keys required from `store`, no rate limit, and a daily quota
/// of `per_day` requests per key.
fn tenant_router_with_quota(
    client: EvmClient,
    store: Arc<dyn TenantStore>,
    per_day: u64,
) -> Router {
    tenancy_router(
        client,
        Tenancy::required(store, RateLimit::unlimited())
            .with_quota(unimargin_server::auth::Quota { per_day }),
    )
}

/// The service over `client` with `tenancy`.
fn tenancy_router(client: EvmClient, tenancy: Tenancy) -> Router {
    let (profiler, _) = native_profiler(client, Arc::new(MemoryCache::default()));
    let state = AppState {
        profiler: Arc::new(profiler),
        settings: ServerSettings::default(),
        attestor: None,
    };
    router_with(state, tenancy)
}

fn offline_client() -> EvmClient {
    EvmClient::http(
        ChainId::evm(ANVIL),
        "http://127.0.0.1:1",
        EvmSettings::default(),
    )
    .unwrap()
}

fn with_key(builder: axum::http::request::Builder, key: &str) -> axum::http::request::Builder {
    builder.header(header::AUTHORIZATION, format!("Bearer {key}"))
}

fn get_as(path: &str, key: &str) -> Request<Body> {
    with_key(Request::get(path), key)
        .body(Body::empty())
        .unwrap()
}

fn post_as(path: &str, key: &str, body: &Value) -> Request<Body> {
    with_key(Request::post(path), key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn delete_as(path: &str, key: &str) -> Request<Body> {
    with_key(Request::delete(path), key)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn another_tenants_owner_set_is_404_and_the_owner_set_profile_is_read_from_the_chain() {
    let chain = funded_chain(10).await;
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    let router = tenant_router(
        chain.client(EvmSettings::default()),
        store.clone(),
        RateLimit::unlimited(),
    );
    let (a, b) = (
        key(store.as_ref(), "venue-a").await,
        key(store.as_ref(), "venue-b").await,
    );

    let body = json!({
        "name": "desk 1",
        "accounts": [format!("anvil:{ADDR}"), account()],
        "segments": [{"name": "hot", "accounts": [account()]}]
    });
    let created = send(&router, post_as("/v1/owners", &a, &body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("os_"), "{id}");
    // Both spellings are the same account: stored once, canonical.
    assert_eq!(created.body["accounts"], json!([account()]));
    assert_eq!(created.body["tenant"], "venue-a");

    // The owner sees it ...
    let own = send(&router, get_as(&format!("/v1/owners/{id}"), &a)).await;
    assert_eq!(
        (own.status, own.body["name"].clone()),
        (StatusCode::OK, json!("desk 1"))
    );
    let listed = send(&router, get_as("/v1/owners", &a)).await;
    assert_eq!(listed.body["owner_sets"].as_array().unwrap().len(), 1);

    // ... another tenant gets exactly what a made-up id gets: 404, not 403.
    for path in [
        format!("/v1/owners/{id}"),
        format!("/v1/owners/{id}/profile"),
    ] {
        let theirs = send(&router, get_as(&path, &b)).await;
        let made_up = send(
            &router,
            get_as(&path.replace(&id, "os_0000000000000000"), &b),
        )
        .await;
        assert_eq!(
            (theirs.status, theirs.code()),
            (StatusCode::NOT_FOUND, "unknown_owner_set"),
            "{path}"
        );
        assert_eq!(
            (made_up.status, made_up.code()),
            (theirs.status, theirs.code()),
            "{path}"
        );
    }
    assert_eq!(
        send(&router, get_as("/v1/owners", &b)).await.body,
        json!({"owner_sets": []})
    );
    let delete = send(&router, delete_as(&format!("/v1/owners/{id}"), &b)).await;
    assert_eq!(
        (delete.status, delete.code()),
        (StatusCode::NOT_FOUND, "unknown_owner_set")
    );

    // The owner's profile of the set is the chain's: 10 ETH × 2000 USD = 20 000 USD collateral,
    // 20 000 × 0.80 = 16 000 credit capacity; the segment holds the same single account.
    let profile = send(&router, get_as(&format!("/v1/owners/{id}/profile"), &a)).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    assert_eq!(profile.body["accounts"], json!([account()]));
    assert_eq!(
        dec(profile.body["totals"]["collateral_usd"].as_str().unwrap()),
        dec("20000")
    );
    assert_eq!(
        dec(profile.body["credit_capacity_usd"].as_str().unwrap()),
        dec(CREDIT)
    );

    // The owner deletes it; then it is gone for the owner too.
    let deleted = send(&router, delete_as(&format!("/v1/owners/{id}"), &a)).await;
    assert_eq!(
        (deleted.status, deleted.body.clone()),
        (StatusCode::OK, json!({"deleted": id}))
    );
    assert_eq!(
        send(&router, get_as(&format!("/v1/owners/{id}"), &a))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn missing_invalid_and_revoked_keys_are_401() {
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    let router = tenant_router(offline_client(), store.clone(), RateLimit::unlimited());
    let good = ApiKey::generate("venue-a").unwrap();
    store.insert_key(&good.record).await.unwrap();

    // A valid key works in both headers.
    assert_eq!(
        send(&router, get_as("/v1/owners", &good.secret))
            .await
            .status,
        StatusCode::OK
    );
    let x_api_key = Request::get("/v1/owners")
        .header("x-api-key", &good.secret)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, x_api_key).await.status, StatusCode::OK);

    // Same id, wrong secret: the hash decides, not the id.
    let forged = format!(
        "{}{}",
        &good.secret[..good.secret.len() - 1],
        if good.secret.ends_with('0') { '1' } else { '0' }
    );
    let unknown = ApiKey::generate("venue-a").unwrap().secret; // never stored
    let cases = [
        Request::get("/v1/owners").body(Body::empty()).unwrap(),
        get_as("/v1/owners", "not-a-key"),
        get_as("/v1/owners", &forged),
        get_as("/v1/owners", &unknown),
        Request::get("/v1/owners")
            .header(header::AUTHORIZATION, format!("Basic {}", good.secret))
            .body(Body::empty())
            .unwrap(),
    ];
    for req in cases {
        let answer = send(&router, req).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{}",
            answer.body
        );
        assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
        assert!(
            !answer.body.to_string().contains(&good.secret[3..]),
            "the key is never echoed"
        );
    }

    // Revoked: 401 from then on, with the same message as a made-up key.
    assert!(store.revoke_key(&good.record.id, Utc::now()).await.unwrap());
    let answer = send(&router, get_as("/v1/owners", &good.secret)).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    assert_eq!(answer.message(), "invalid or revoked API key");
    let profile = send(
        &router,
        get_as(&format!("/v1/accounts/{}/profile", account()), &good.secret),
    )
    .await;
    assert_eq!(profile.status, StatusCode::UNAUTHORIZED);

    // Routes outside /v1 stay open for probes.
    let health = send(
        &router,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_per_key() {
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    // 60 per minute = one per second, bursts of 2.
    let router = tenant_router(
        offline_client(),
        store.clone(),
        RateLimit {
            per_minute: 60,
            burst: 2,
        },
    );
    let (a, b) = (
        key(store.as_ref(), "venue-a").await,
        key(store.as_ref(), "venue-b").await,
    );

    let first = send(&router, get_as("/v1/owners", &a)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.headers["ratelimit-limit"], "2");
    assert_eq!(first.headers["ratelimit-remaining"], "1");
    assert_eq!(first.headers["x-ratelimit-remaining"], "1");
    let second = send(&router, get_as("/v1/owners", &a)).await;
    assert_eq!(
        (second.status, &second.headers["ratelimit-remaining"]),
        (StatusCode::OK, &"0".parse().unwrap())
    );
    // Bucket full again two intervals after the first request: ceil(≤ 2 s) = 2.
    assert_eq!(second.headers["ratelimit-reset"], "2");

    let third = send(&router, get_as("/v1/owners", &a)).await;
    assert_eq!(
        (third.status, third.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{}",
        third.body
    );
    // TAT = t0 + 2 s, tolerance τ = 1 s × (2 − 1) = 1 s: wait TAT − now − τ ≤ 1 s, rounded up to 1.
    assert_eq!(third.headers[header::RETRY_AFTER], "1");
    assert_eq!(third.body["error"]["limit"], 2);

    // Another key has its own bucket.
    assert_eq!(
        send(&router, get_as("/v1/owners", &b)).await.status,
        StatusCode::OK
    );
    // After the interval one more request of `a` passes.
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    assert_eq!(
        send(&router, get_as("/v1/owners", &a)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn caps_hold_with_keys_on_oversized_too_many_and_caller_supplied_rpc_urls() {
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    let router = tenant_router(offline_client(), store.clone(), RateLimit::unlimited());
    let a = key(store.as_ref(), "venue-a").await;

    // 64 KiB body limit: 70 KiB is refused before it is parsed.
    let huge = json!({ "name": "x", "accounts": ["x".repeat(70 * 1024)] });
    for path in ["/v1/owners", "/v1/profiles"] {
        let answer = send(&router, post_as(path, &a, &huge)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            "{path}"
        );
        assert_eq!(answer.body["error"]["limit"], 65_536, "{path}"); // 64 × 1024
    }

    // 51 accounts against the default cap of 50: 422.
    let many: Vec<String> = (0..51)
        .map(|i| format!("eip155:{ANVIL}:0x{i:040x}"))
        .collect();
    for (path, body) in [
        ("/v1/owners", json!({"name": "many", "accounts": many})),
        ("/v1/profiles", json!({"accounts": many})),
    ] {
        let answer = send(&router, post_as(path, &a, &body)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "too_many_accounts"),
            "{path}"
        );
        assert_eq!(answer.body["error"]["limit"], 50, "{path}");
    }

    // No request can name the RPC endpoint to read from (SSRF): an `rpc_url` field is refused.
    for (path, body) in [
        (
            "/v1/owners",
            json!({"name": "x", "accounts": [account()], "rpc_url": "http://169.254.169.254/"}),
        ),
        (
            "/v1/profiles",
            json!({"accounts": [account()], "rpc_url": "http://169.254.169.254/"}),
        ),
    ] {
        let answer = send(&router, post_as(path, &a, &body)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{path}"
        );
        assert!(
            answer.message().contains("rpc_url"),
            "{path}: {}",
            answer.message()
        );
    }

    // A segment must be drawn from the set's accounts; an unserved chain is refused up front.
    let stray = json!({"name": "x", "accounts": [account()], "segments": [{"name": "s", "accounts": [format!("eip155:{ANVIL}:0x{:040x}", 7)]}]});
    assert_eq!(
        send(&router, post_as("/v1/owners", &a, &stray))
            .await
            .code(),
        "invalid_request"
    );
    let unserved = json!({"name": "x", "accounts": [format!("eip155:1:{ADDR}")]});
    assert_eq!(
        send(&router, post_as("/v1/owners", &a, &unserved))
            .await
            .code(),
        "unknown_chain"
    );
    assert_eq!(
        store.owner_sets("venue-a").await.unwrap(),
        Vec::new(),
        "nothing refused was stored"
    );
}

/// A key written by another process (`unimargin keys create` while the server runs) is seen
/// without a restart; the file holds no key, only salted hashes.
#[tokio::test]
async fn the_file_store_is_shared_through_the_file() {
    let dir = std::env::temp_dir().join(format!(
        "unimargin-keys-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    let path = dir.join("keys.json");
    let server = FileStore::open(&path).unwrap();
    assert_eq!(server.keys().await.unwrap(), Vec::new());

    let cli = FileStore::open(&path).unwrap();
    let new = ApiKey::generate("venue-a").unwrap();
    cli.insert_key(&new.record).await.unwrap();
    let seen = server
        .key(&new.record.id)
        .await
        .unwrap()
        .expect("seen through the file");
    assert!(seen.accepts(&new.secret));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&new.secret[3..]), "the file holds no key");
    assert!(cli.revoke_key(&new.record.id, Utc::now()).await.unwrap());
    assert!(
        !server
            .key(&new.record.id)
            .await
            .unwrap()
            .unwrap()
            .accepts(&new.secret)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The Redis store against a private redis-server: keys and owner sets round-trip, another
/// tenant's set is invisible, and an outage is a 503, never an open door.
#[tokio::test]
async fn the_redis_store_round_trips_and_fails_closed() {
    let mut redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "t:", Duration::from_millis(500)).unwrap();
    store.ping().await.unwrap();
    let store: Arc<dyn TenantStore> = Arc::new(store);
    let router = tenant_router(offline_client(), store.clone(), RateLimit::unlimited());
    let (a, b) = (
        key(store.as_ref(), "venue-a").await,
        key(store.as_ref(), "venue-b").await,
    );
    assert_eq!(store.keys().await.unwrap().len(), 2);

    let created = send(
        &router,
        post_as(
            "/v1/owners",
            &a,
            &json!({"name": "d", "accounts": [account()]}),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        send(&router, get_as(&format!("/v1/owners/{id}"), &a))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(&router, get_as(&format!("/v1/owners/{id}"), &b))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    redis.stop();
    let answer = send(&router, get_as("/v1/owners", &a)).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        "{}",
        answer.body
    );
}

/// The daily quota: counted per key, 429 `quota_exceeded` with `Retry-After` up to the next UTC
/// day once used up, and a key's own quota overriding the default.
#[tokio::test]
async fn the_daily_quota_is_per_key_and_answers_429_until_the_next_day() {
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    let router = tenant_router_with_quota(offline_client(), store.clone(), 3);
    let a = key(store.as_ref(), "venue-a").await;
    let mut own = ApiKey::generate("venue-b").unwrap();
    own.record.quota_per_day = Some(1);
    store.insert_key(&own.record).await.unwrap();

    for remaining in ["2", "1", "0"] {
        let ok = send(&router, get_as("/v1/owners", &a)).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        assert_eq!(ok.headers["x-quota-limit"], "3");
        assert_eq!(ok.headers["x-quota-remaining"], remaining);
    }
    let over = send(&router, get_as("/v1/owners", &a)).await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"),
        "{}",
        over.body
    );
    assert_eq!(over.body["error"]["limit"], 3);
    // Seconds to the next UTC midnight, as the quota's own clock computes them.
    let retry: u64 = over.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (_, left) = unimargin_server::auth::Quota::window(Utc::now());
    assert!(
        retry >= left.as_secs() && retry <= left.as_secs() + 2,
        "{retry} vs {left:?}"
    );

    // The key's own quota of 1 wins over the default of 3.
    let b = own.secret;
    assert_eq!(
        send(&router, get_as("/v1/owners", &b)).await.headers["x-quota-limit"],
        "1"
    );
    assert_eq!(
        send(&router, get_as("/v1/owners", &b)).await.code(),
        "quota_exceeded"
    );
}

/// Two replicas over one Redis draw on one quota count, and a Redis that stops answering is a
/// 503 rather than an uncounted request.
#[tokio::test]
async fn replicas_share_the_quota_through_redis() {
    let mut redis = RedisServer::start();
    let connect = || {
        let store: Arc<dyn TenantStore> =
            Arc::new(RedisStore::connect(&redis.url(), "q:", Duration::from_millis(500)).unwrap());
        store
    };
    let (one, two) = (connect(), connect());
    let first = tenant_router_with_quota(offline_client(), one.clone(), 2);
    let second = tenant_router_with_quota(offline_client(), two, 2);
    let a = key(one.as_ref(), "venue-a").await;

    assert_eq!(
        send(&first, get_as("/v1/owners", &a)).await.headers["x-quota-remaining"],
        "1"
    );
    assert_eq!(
        send(&second, get_as("/v1/owners", &a)).await.headers["x-quota-remaining"],
        "0"
    );
    assert_eq!(
        send(&first, get_as("/v1/owners", &a)).await.code(),
        "quota_exceeded"
    );
    redis.stop();
    assert_eq!(
        send(&second, get_as("/v1/owners", &a)).await.code(),
        "store_unavailable"
    );
}
