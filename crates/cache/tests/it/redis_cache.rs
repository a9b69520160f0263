//! `RedisCache` against a private `redis-server`: round trip, TTL, namespacing, bad URLs.

use std::time::Duration;

use redis::AsyncCommands as _;
use unimargin_cache::testkit::RedisServer;
use unimargin_cache::{Cache, CacheError, RedisCache, RedisOptions};

use crate::key;

/// Options with short timeouts, so a failing test fails fast.
pub(crate) fn options() -> RedisOptions {
    RedisOptions {
        connect_timeout: Duration::from_millis(300),
        response_timeout: Duration::from_millis(300),
        reconnect_retries: 3,
        reconnect_max_delay: Duration::from_millis(100),
        ..RedisOptions::default()
    }
}

/// A plain client on the same server, to look at what the cache wrote.
async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(server.url()).expect("test server URL parses");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("test server accepts connections")
}

#[tokio::test]
async fn round_trip_of_binary_values() {
    let server = RedisServer::start();
    let cache = RedisCache::connect(&server.url(), options())
        .await
        .expect("connect");
    assert_eq!(cache.backend(), "redis");
    assert!(cache.ping().await.is_ok());

    assert_eq!(cache.get(&key("a")).await.ok(), Some(None));
    // Not UTF-8 on purpose: values are opaque bytes.
    let value = [0u8, 159, 146, 150, 255, b'{', b'}'];
    cache
        .put(&key("a"), &value, Duration::from_secs(60))
        .await
        .expect("put");
    assert_eq!(cache.get(&key("a")).await.ok(), Some(Some(value.to_vec())));

    cache
        .put(&key("a"), b"second", Duration::from_secs(60))
        .await
        .expect("overwrite");
    assert_eq!(
        cache.get(&key("a")).await.ok(),
        Some(Some(b"second".to_vec()))
    );
}

#[tokio::test]
async fn entries_expire_after_their_ttl() {
    let server = RedisServer::start();
    let cache = RedisCache::connect(&server.url(), options())
        .await
        .expect("connect");

    // Sub-second: stored with PX.
    cache
        .put(&key("short"), b"s", Duration::from_millis(200))
        .await
        .expect("put");
    assert_eq!(
        cache.get(&key("short")).await.ok(),
        Some(Some(b"s".to_vec()))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cache.get(&key("short")).await.ok(), Some(None));

    // Whole seconds: stored with EX; checked through the server's own TTL rather than by waiting.
    cache
        .put(&key("long"), b"l", Duration::from_secs(90))
        .await
        .expect("put");
    let mut raw = raw(&server).await;
    let pttl: i64 = raw.pttl(cache.redis_key(&key("long"))).await.expect("PTTL");
    assert!(
        (89_000..=90_000).contains(&pttl),
        "PTTL {pttl} ms, expected about 90 s"
    );

    // A zero TTL stores nothing.
    cache
        .put(&key("zero"), b"z", Duration::ZERO)
        .await
        .expect("put");
    assert_eq!(cache.get(&key("zero")).await.ok(), Some(None));
}

#[tokio::test]
async fn key_prefix_namespaces_entries() {
    let server = RedisServer::start();
    let staging = RedisCache::connect(
        &server.url(),
        RedisOptions {
            key_prefix: "staging:".into(),
            ..options()
        },
    )
    .await
    .expect("connect");
    let unprefixed = RedisCache::connect(&server.url(), options())
        .await
        .expect("connect");

    staging
        .put(&key("a"), b"staging", Duration::from_secs(60))
        .await
        .expect("put");
    assert_eq!(unprefixed.get(&key("a")).await.ok(), Some(None));
    unprefixed
        .put(&key("a"), b"default", Duration::from_secs(60))
        .await
        .expect("put");
    assert_eq!(
        staging.get(&key("a")).await.ok(),
        Some(Some(b"staging".to_vec()))
    );

    // What is actually in Redis: the prefix, then the namespaced key.
    let mut raw = raw(&server).await;
    let mut keys: Vec<String> = raw.keys("*").await.expect("KEYS");
    keys.sort();
    let expected_key = key("a").to_string();
    assert_eq!(
        keys,
        [format!("staging:{expected_key}"), expected_key.clone()]
    );
    assert!(expected_key.starts_with("unimargin:v1:snapshot:eip155:1:19000000:"));
}

#[tokio::test]
async fn unusable_url_or_options_fail_at_connect() {
    for url in ["", "not a url", "http://127.0.0.1:6379/"] {
        let result = RedisCache::connect(url, options()).await;
        assert!(
            matches!(result, Err(CacheError::InvalidUrl { .. })),
            "{url:?}: {result:?}"
        );
    }
    // The URL is never echoed: it may carry a password.
    let error = RedisCache::connect("http://user:hunter2@host/", options())
        .await
        .err();
    let shown = error.map(|e| format!("{e} {e:?}")).unwrap_or_default();
    assert!(!shown.contains("hunter2"), "{shown}");

    let zero = RedisOptions {
        response_timeout: Duration::ZERO,
        ..options()
    };
    let result = RedisCache::connect("redis://127.0.0.1:1/", zero).await;
    assert!(
        matches!(result, Err(CacheError::InvalidConfig { .. })),
        "{result:?}"
    );
}
