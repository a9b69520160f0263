//! Outages: Redis down at start-up, killed, frozen and restarted, seen through `RedisCache` (which
//! must fail within its timeout) and `ResilientCache` (which must turn failures into misses and
//! recover by itself).

use std::sync::Arc;
use std::time::{Duration, Instant};

use unimargin_cache::testkit::{RedisServer, free_port};
use unimargin_cache::{Cache, CacheError, MemoryCache, RedisCache, ResilientCache};

use crate::key;
use crate::redis_cache::options;

/// Slack on top of the configured timeout for scheduling on a busy 2-core machine.
const MARGIN: Duration = Duration::from_millis(250);

/// Short, so recovery is noticed quickly; long enough that the skipping is observable.
const PROBE_INTERVAL: Duration = Duration::from_millis(200);

/// How long a restarted server may take to be used again: a few reconnect backoffs (capped at
/// 100 ms by `options()`) plus the start itself.
const RECOVERY: Duration = Duration::from_secs(5);

fn bound() -> Duration {
    options().response_timeout + MARGIN
}

/// Runs `op` and checks that it failed within the configured timeout.
async fn fails_in_time<T: std::fmt::Debug>(
    what: &str,
    op: impl Future<Output = Result<T, CacheError>>,
) -> CacheError {
    let started = Instant::now();
    let result = op.await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < bound(),
        "{what} took {elapsed:?}, bound {:?}",
        bound()
    );
    match result {
        Err(error) => {
            assert!(error.is_transient(), "{what}: {error:?}");
            error
        }
        Ok(value) => panic!("{what} succeeded during an outage: {value:?}"),
    }
}

/// Polls `get` through the wrapper until the backend answers again.
async fn wait_recovered<C: Cache>(cache: &ResilientCache<C>) {
    let started = Instant::now();
    loop {
        assert_eq!(
            cache.get(&key("probe")).await.ok(),
            Some(None),
            "never an error"
        );
        if !cache.degraded() {
            return;
        }
        assert!(
            started.elapsed() < RECOVERY,
            "no recovery within {RECOVERY:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn killed_server_fails_fast_then_recovers_after_restart() {
    let mut server = RedisServer::start();
    let redis = Arc::new(
        RedisCache::connect(&server.url(), options())
            .await
            .expect("connect"),
    );
    let cache = ResilientCache::new(redis.clone()).with_probe_interval(PROBE_INTERVAL);
    redis
        .put(&key("a"), b"a", Duration::from_secs(60))
        .await
        .expect("put");
    assert_eq!(cache.get(&key("a")).await.ok(), Some(Some(b"a".to_vec())));
    assert!(!cache.degraded());

    server.stop();
    fails_in_time("get after kill", redis.get(&key("a"))).await;
    fails_in_time(
        "put after kill",
        redis.put(&key("a"), b"a", Duration::from_secs(60)),
    )
    .await;
    fails_in_time("ping after kill", redis.ping()).await;

    // Through the wrapper: a miss within the timeout, and the wrapper is now degraded.
    let started = Instant::now();
    assert_eq!(cache.get(&key("a")).await.ok(), Some(None));
    assert!(started.elapsed() < bound(), "took {:?}", started.elapsed());
    assert!(cache.degraded());
    assert_eq!(cache.error_count(), 1);

    // While degraded, calls within the probe interval do not reach Redis: immediate misses and
    // no-op puts, not one timeout each.
    let started = Instant::now();
    for _ in 0..10 {
        assert_eq!(cache.get(&key("a")).await.ok(), Some(None));
        assert!(
            cache
                .put(&key("a"), b"a", Duration::from_secs(60))
                .await
                .is_ok()
        );
    }
    assert!(
        started.elapsed() < PROBE_INTERVAL / 2,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(cache.error_count(), 1);

    // A probe always reaches the backend and reports the outage.
    assert!(cache.ping().await.is_err());
    assert_eq!(cache.error_count(), 2);

    server.restart();
    wait_recovered(&cache).await;
    cache
        .put(&key("b"), b"b", Duration::from_secs(60))
        .await
        .ok();
    assert_eq!(cache.get(&key("b")).await.ok(), Some(Some(b"b".to_vec())));
    assert!(!cache.degraded());
    assert!(cache.ping().await.is_ok());
}

#[tokio::test]
async fn frozen_server_times_out_then_recovers_when_thawed() {
    let server = RedisServer::start();
    let redis = RedisCache::connect(&server.url(), options())
        .await
        .expect("connect");
    let cache = ResilientCache::new(redis.clone()).with_probe_interval(PROBE_INTERVAL);
    redis
        .put(&key("a"), b"a", Duration::from_secs(60))
        .await
        .expect("put");

    // The TCP connection stays up but nothing answers: only the timeout protects the caller.
    server.freeze();
    let error = fails_in_time("get while frozen", redis.get(&key("a"))).await;
    assert!(matches!(error, CacheError::Timeout { .. }), "{error:?}");
    assert_eq!(cache.get(&key("a")).await.ok(), Some(None));
    assert!(cache.degraded());

    server.thaw();
    wait_recovered(&cache).await;
    assert_eq!(cache.get(&key("a")).await.ok(), Some(Some(b"a".to_vec())));
}

#[tokio::test]
async fn server_down_at_start_up_is_not_fatal() {
    // Nothing listens on this port yet.
    let port = free_port().expect("free port");
    let url = format!("redis://127.0.0.1:{port}/");

    // As documented: `connect` succeeds and does not wait for the server.
    let started = Instant::now();
    let redis = RedisCache::connect(&url, options())
        .await
        .expect("connect with Redis down");
    assert!(
        started.elapsed() < MARGIN,
        "connect waited {:?}",
        started.elapsed()
    );

    // Every command fails within the timeout; the wrapper serves misses.
    fails_in_time("get with Redis down", redis.get(&key("a"))).await;
    fails_in_time("ping with Redis down", redis.ping()).await;
    let cache = ResilientCache::new(redis).with_probe_interval(PROBE_INTERVAL);
    assert_eq!(cache.get(&key("a")).await.ok(), Some(None));
    assert!(cache.degraded());

    // Once Redis comes up, the same cache works without any action from the caller.
    let _server = RedisServer::start_on_port(port);
    wait_recovered(&cache).await;
    cache
        .put(&key("a"), b"a", Duration::from_secs(60))
        .await
        .ok();
    assert_eq!(cache.get(&key("a")).await.ok(), Some(Some(b"a".to_vec())));
}

#[tokio::test]
async fn healthy_backend_is_passed_through() {
    let cache = ResilientCache::new(MemoryCache::new(10));
    assert_eq!(cache.backend(), "memory");
    cache
        .put(&key("a"), b"a", Duration::from_secs(60))
        .await
        .ok();
    assert_eq!(cache.get(&key("a")).await.ok(), Some(Some(b"a".to_vec())));
    assert!(cache.ping().await.is_ok());
    assert!(!cache.degraded());
    assert_eq!(cache.error_count(), 0);
}

#[tokio::test]
async fn an_outage_logs_once_not_once_per_call() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    // Current-thread runtime: the guard covers every poll of this test's futures.
    let _guard = tracing::subscriber::set_default(subscriber);

    let port = free_port().expect("free port");
    let redis = RedisCache::connect(&format!("redis://127.0.0.1:{port}/"), options())
        .await
        .expect("connect with Redis down");
    // Every call reaches the backend, so every call fails.
    let cache = ResilientCache::new(redis).with_probe_interval(Duration::ZERO);
    for _ in 0..3 {
        assert_eq!(cache.get(&key("a")).await.ok(), Some(None));
    }
    assert_eq!(cache.error_count(), 3);

    let _server = RedisServer::start_on_port(port);
    wait_recovered(&cache).await;
    cache
        .put(&key("a"), b"a", Duration::from_secs(60))
        .await
        .ok();

    let text = logs.text();
    let warnings: Vec<_> = text.lines().filter(|line| line.contains("WARN")).collect();
    let recoveries: Vec<_> = text
        .lines()
        .filter(|line| line.contains("recovered"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(
        warnings[0].contains("serving misses") && warnings[0].contains("backend=\"redis\""),
        "{text}"
    );
    assert_eq!(recoveries.len(), 1, "{text}");
}

/// An in-memory log sink for `tracing_subscriber`.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
