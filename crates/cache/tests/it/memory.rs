//! `MemoryCache`: round trip, TTL, overwrite, bound and eviction order.
//!
//! The clock is paused (`start_paused`), so expiry is tested by advancing time, not by sleeping.

use std::sync::Arc;
use std::time::Duration;

use unimargin_cache::{Cache, MemoryCache};

use crate::key;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn get_returns_what_put_stored() {
    let cache = MemoryCache::new(10);
    assert_eq!(cache.get(&key("a")).await.ok(), Some(None));
    cache.put(&key("a"), b"alpha", MINUTE).await.ok();
    assert_eq!(
        cache.get(&key("a")).await.ok(),
        Some(Some(b"alpha".to_vec()))
    );
    // Another key is still a miss.
    assert_eq!(cache.get(&key("b")).await.ok(), Some(None));
    assert_eq!(cache.backend(), "memory");
    assert!(cache.ping().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn entries_expire_after_their_ttl() {
    let cache = MemoryCache::new(10);
    cache
        .put(&key("short"), b"s", Duration::from_secs(1))
        .await
        .ok();
    cache.put(&key("long"), b"l", MINUTE).await.ok();

    tokio::time::advance(Duration::from_millis(999)).await;
    assert_eq!(
        cache.get(&key("short")).await.ok(),
        Some(Some(b"s".to_vec()))
    );

    // At exactly 1 s the entry is expired (expiry is `now >= put + ttl`).
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(cache.get(&key("short")).await.ok(), Some(None));
    assert_eq!(
        cache.get(&key("long")).await.ok(),
        Some(Some(b"l".to_vec()))
    );
    // Reading the expired entry dropped it.
    assert_eq!(cache.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn overwrite_replaces_value_and_ttl() {
    let cache = MemoryCache::new(10);
    cache
        .put(&key("a"), b"old", Duration::from_secs(1))
        .await
        .ok();
    cache.put(&key("a"), b"new", MINUTE).await.ok();
    assert_eq!(cache.len(), 1);

    // Past the first TTL, the second one holds.
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(cache.get(&key("a")).await.ok(), Some(Some(b"new".to_vec())));
}

#[tokio::test(start_paused = true)]
async fn bound_evicts_the_oldest_insertion() {
    let cache = MemoryCache::new(3);
    for name in ["a", "b", "c"] {
        cache.put(&key(name), name.as_bytes(), MINUTE).await.ok();
    }
    // Overwriting "a" makes it the newest insertion, so "b" is now the oldest.
    cache.put(&key("a"), b"a2", MINUTE).await.ok();
    cache.put(&key("d"), b"d", MINUTE).await.ok();

    assert_eq!(cache.len(), 3);
    assert_eq!(cache.get(&key("b")).await.ok(), Some(None));
    for (name, value) in [("a", &b"a2"[..]), ("c", b"c"), ("d", b"d")] {
        assert_eq!(
            cache.get(&key(name)).await.ok(),
            Some(Some(value.to_vec())),
            "{name}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn bound_evicts_expired_entries_before_live_ones() {
    let cache = MemoryCache::new(3);
    cache.put(&key("a"), b"a", MINUTE).await.ok();
    cache
        .put(&key("b"), b"b", Duration::from_secs(1))
        .await
        .ok();
    cache.put(&key("c"), b"c", MINUTE).await.ok();
    tokio::time::advance(Duration::from_secs(2)).await;

    // Full: the expired "b" goes, not the oldest insertion "a".
    cache.put(&key("d"), b"d", MINUTE).await.ok();
    assert_eq!(cache.len(), 3);
    for name in ["a", "c", "d"] {
        assert!(matches!(cache.get(&key(name)).await, Ok(Some(_))), "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn purge_expired_drops_only_expired_entries() {
    let cache = MemoryCache::new(10);
    cache
        .put(&key("a"), b"a", Duration::from_secs(1))
        .await
        .ok();
    cache
        .put(&key("b"), b"b", Duration::from_secs(2))
        .await
        .ok();
    cache.put(&key("c"), b"c", MINUTE).await.ok();
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(cache.purge_expired(), 2);
    assert_eq!(cache.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn zero_ttl_and_zero_bound_store_nothing() {
    let cache = MemoryCache::new(10);
    cache.put(&key("a"), b"a", Duration::ZERO).await.ok();
    assert!(cache.is_empty());

    let disabled = MemoryCache::new(0);
    disabled.put(&key("a"), b"a", MINUTE).await.ok();
    assert_eq!(disabled.get(&key("a")).await.ok(), Some(None));

    // An absurd TTL is capped rather than overflowing the clock.
    cache.put(&key("forever"), b"f", Duration::MAX).await.ok();
    assert_eq!(
        cache.get(&key("forever")).await.ok(),
        Some(Some(b"f".to_vec()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_use_keeps_the_bound() {
    const BOUND: usize = 50;
    // Used through `Arc<dyn Cache>`, as the server holds it.
    let memory = Arc::new(MemoryCache::new(BOUND));
    let cache: Arc<dyn Cache> = memory.clone();
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let cache = cache.clone();
            tokio::spawn(async move {
                for i in 0..200 {
                    let key = key(&format!("{task}-{i}"));
                    cache.put(&key, &[task as u8], MINUTE).await.ok();
                    // Either still there with this task's value, or already evicted.
                    match cache.get(&key).await {
                        Ok(Some(value)) => assert_eq!(value, [task as u8]),
                        Ok(None) => {}
                        Err(error) => panic!("memory cache failed: {error}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.is_ok());
    }
    assert_eq!(memory.len(), BOUND);
}
