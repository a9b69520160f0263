//! The Redis [`TenantStore`], used when `cache.redis_url` is set so that every replica sees the
//! same keys and owner sets.
//!
//! Layout (after the configured prefix): `auth:key:<id>` holds a key record as JSON and the set
//! `auth:keys` lists the ids; `owners:<tenant>:<id>` holds an owner set as JSON and the set
//! `owners:<tenant>` lists that tenant's ids. The tenant is part of every owner-set key, so a
//! lookup can only ever find the caller's own sets. `attest:nonce:<nonce>` marks a spent
//! attestation nonce until the attestation expires (`SET NX EXAT`, one atomic step, so two
//! replicas verifying the same attestation at once cannot both accept it), and
//! `quota:<key id>:<day>` counts a key's requests of one UTC day (`INCR`, kept two days).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::{
    FromRedisValue,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use serde::{Serialize, de::DeserializeOwned};

use super::{
    keys::KeyRecord,
    store::{StoreError, TenantStore},
};
use crate::owners::OwnerSet;

/// Keys and owner sets in Redis. Every command is bounded by a timeout, so an outage answers
/// 503 quickly instead of hanging requests.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: it is not kept.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A day's quota counter outlives its day by one, so a clock a little off between replicas
/// never restarts a count early.
const QUOTA_WINDOW_KEPT_SECS: u64 = 2 * 86_400;

fn redis_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Redis(crate::profiler::redact_urls(&e.to_string()))
}

impl RedisStore {
    /// Connects lazily (start-up does not wait for Redis) to `url`, prefixing every key with
    /// `prefix`.
    pub fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(redis_err)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(redis_err)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            timeout,
        })
    }

    async fn run<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(result) => result.map_err(redis_err),
            Err(_) => Err(StoreError::Redis(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    fn k(&self, parts: &[&str]) -> String {
        format!("{}{}", self.prefix, parts.join(":"))
    }

    async fn get_json<T: DeserializeOwned>(&self, key: String) -> Result<Option<T>, StoreError> {
        let raw: Option<String> = self.run(redis::cmd("GET").arg(key)).await?;
        raw.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    async fn set_json<T: Serialize>(
        &self,
        key: String,
        index: String,
        id: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(key)
            .arg(json)
            .ignore()
            .cmd("SADD")
            .arg(index)
            .arg(id)
            .ignore();
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, pipe.query_async::<()>(&mut conn)).await {
            Ok(result) => result.map_err(redis_err),
            Err(_) => Err(StoreError::Redis(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    async fn all<T: DeserializeOwned>(
        &self,
        index: String,
        key: impl Fn(&str) -> String,
    ) -> Result<Vec<T>, StoreError> {
        let mut ids: Vec<String> = self.run(redis::cmd("SMEMBERS").arg(index)).await?;
        ids.sort();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = self.get_json(key(&id)).await? {
                out.push(v);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl TenantStore for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run::<String>(&redis::cmd("PING")).await.map(drop)
    }

    async fn insert_key(&self, record: &KeyRecord) -> Result<(), StoreError> {
        self.set_json(
            self.k(&["auth", "key", &record.id]),
            self.k(&["auth", "keys"]),
            &record.id,
            record,
        )
        .await
    }

    async fn key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.get_json(self.k(&["auth", "key", id])).await
    }

    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.all(self.k(&["auth", "keys"]), |id| self.k(&["auth", "key", id]))
            .await
    }

    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let Some(mut record) = self.key(id).await? else {
            return Ok(false);
        };
        record.revoked_at.get_or_insert(at);
        self.insert_key(&record).await.map(|()| true)
    }

    async fn put_owner_set(&self, set: &OwnerSet) -> Result<(), StoreError> {
        self.set_json(
            self.k(&["owners", &set.tenant, &set.id]),
            self.k(&["owners", &set.tenant]),
            &set.id,
            set,
        )
        .await
    }

    async fn owner_set(&self, tenant: &str, id: &str) -> Result<Option<OwnerSet>, StoreError> {
        self.get_json(self.k(&["owners", tenant, id])).await
    }

    async fn owner_sets(&self, tenant: &str) -> Result<Vec<OwnerSet>, StoreError> {
        self.all(self.k(&["owners", tenant]), |id| {
            self.k(&["owners", tenant, id])
        })
        .await
    }

    async fn claim_nonce(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // At least one second, so that an attestation expiring now still cannot be replayed
        // in the same second it is checked.
        let expires = expires_at.timestamp().max(Utc::now().timestamp() + 1);
        let set: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(self.k(&["attest", "nonce", nonce]))
                    .arg(1)
                    .arg("NX")
                    .arg("EXAT")
                    .arg(expires),
            )
            .await?;
        Ok(set.is_some())
    }

    async fn count_request(&self, key_id: &str, window: &str) -> Result<u64, StoreError> {
        let key = self.k(&["quota", key_id, window]);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(QUOTA_WINDOW_KEPT_SECS)
            .ignore();
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, pipe.query_async::<(u64,)>(&mut conn)).await {
            Ok(result) => result.map(|(count,)| count).map_err(redis_err),
            Err(_) => Err(StoreError::Redis(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    async fn delete_owner_set(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let removed: u64 = self
            .run(redis::cmd("DEL").arg(self.k(&["owners", tenant, id])))
            .await?;
        let _: u64 = self
            .run(redis::cmd("SREM").arg(self.k(&["owners", tenant])).arg(id))
            .await?;
        Ok(removed > 0)
    }
}
