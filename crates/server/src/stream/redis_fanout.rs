//! [`RedisFanout`]: several API replicas share one poller per subscription.
//!
//! Layout (after the configured prefix), per subscription key `<k>` (a SHA-256 in hex, so the
//! names hold no account): `stream:{<k>}:lease` names the replica that polls, with a TTL that
//! the holder renews on every tick; `stream:{<k>}:latest` holds the latest profile; events are
//! published on the channel `stream:{<k>}:events`. Taking or renewing the lease and publishing
//! are Lua scripts, so a replica that lost its lease can never publish (a fencing check), and
//! the latest profile lives only as long as someone polls.
//!
//! Each replica opens one pub/sub connection per subscription it relays. When that connection
//! drops, its event stream ends and the replica's subscribers are told (fail closed).

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::{
    FromRedisValue,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::fanout::{Fanout, FanoutError, Message, Subscription};

/// Takes the lease when free or renews it for its holder; keeps the latest profile alive.
const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0";

/// Deletes the lease only if `ARGV[1]` holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Publishes only while `ARGV[1]` holds the lease; a profile (`ARGV[3]` = 1) becomes the latest.
const PUBLISH: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
end
return redis.call('PUBLISH', ARGV[5], ARGV[2])";

/// The Redis [`Fanout`]. Every command is bounded by a timeout, so an outage is reported
/// quickly instead of hanging a poller.
#[derive(Clone)]
pub struct RedisFanout {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisFanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: it is not shown.
        f.debug_struct("RedisFanout")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn redis_err(e: impl std::fmt::Display) -> FanoutError {
    FanoutError::Unavailable(crate::profiler::redact_urls(&e.to_string()))
}

impl RedisFanout {
    /// Connects lazily (start-up does not wait for Redis) to `url`, prefixing every name with
    /// `prefix`; `timeout` bounds every command and every new connection.
    pub fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Self, FanoutError> {
        let client = redis::Client::open(url).map_err(redis_err)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let conn =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(redis_err)?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_owned(),
            timeout,
        })
    }

    fn name(&self, key: &str, part: &str) -> String {
        // The braces make every name of a key hash to one Redis Cluster slot, as scripts need.
        format!("{}stream:{{{key}}}:{part}", self.prefix)
    }

    async fn bounded<T>(
        &self,
        what: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, FanoutError> {
        match tokio::time::timeout(self.timeout, what).await {
            Ok(result) => result.map_err(redis_err),
            Err(_) => Err(FanoutError::Unavailable(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    async fn eval<T: FromRedisValue>(
        &self,
        script: &str,
        keys: &[String],
        args: &[String],
    ) -> Result<T, FanoutError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(keys.len()).arg(keys).arg(args);
        let mut conn = self.conn.clone();
        self.bounded(cmd.query_async::<T>(&mut conn)).await
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

#[async_trait]
impl Fanout for RedisFanout {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, FanoutError> {
        let keys = [self.name(key, "lease"), self.name(key, "latest")];
        let held: i64 = self
            .eval(LEASE, &keys, &[holder.to_owned(), millis(ttl)])
            .await?;
        Ok(held == 1)
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), FanoutError> {
        let keys = [self.name(key, "lease")];
        self.eval::<i64>(RELEASE, &keys, &[holder.to_owned()])
            .await
            .map(drop)
    }

    async fn publish(
        &self,
        key: &str,
        holder: &str,
        message: &Message,
        ttl: Duration,
    ) -> Result<bool, FanoutError> {
        let keys = [self.name(key, "lease"), self.name(key, "latest")];
        let profile = if matches!(message, Message::Profile(_)) {
            "1"
        } else {
            "0"
        };
        let args = [
            holder.to_owned(),
            message.encode(),
            profile.to_owned(),
            millis(ttl),
            self.name(key, "events"),
        ];
        let sent: i64 = self.eval(PUBLISH, &keys, &args).await?;
        Ok(sent >= 0)
    }

    async fn latest(&self, key: &str) -> Result<Option<Message>, FanoutError> {
        let mut conn = self.conn.clone();
        let wire: Option<String> = self
            .bounded(
                redis::cmd("GET")
                    .arg(self.name(key, "latest"))
                    .query_async(&mut conn),
            )
            .await?;
        Ok(wire.as_deref().and_then(Message::decode))
    }

    async fn subscribe(&self, key: &str) -> Result<Subscription, FanoutError> {
        let mut pubsub = self.bounded(self.client.get_async_pubsub()).await?;
        self.bounded(pubsub.subscribe(self.name(key, "events")))
            .await?;
        Ok(pubsub
            .into_on_message()
            .filter_map(|msg| async move {
                let wire: String = msg.get_payload().ok()?;
                Message::decode(&wire)
            })
            .boxed())
    }
}
