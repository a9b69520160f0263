//! Integration tests for `unimargin-cache`, in one binary (see the crate docs).
//!
//! Redis tests start a private `redis-server` each through `unimargin_cache::testkit`, so they run
//! in parallel, never touch the machine's Redis, and can kill or freeze their server.

#![allow(clippy::panic, reason = "a test reports failure by panicking")]

mod memory;
mod redis_cache;
mod resilient;

use unimargin_cache::CacheKey;

/// A snapshot key that differs per `account` suffix, so tests sharing a cache never collide.
pub(crate) fn key(account: &str) -> CacheKey {
    CacheKey::snapshot(
        "eip155:1",
        19_000_000,
        "0xabc0",
        "aave-v3",
        "core",
        &format!("eip155:1:0x{account}"),
    )
}
