//! API keys: generation, the stored record, and verification.
//!
//! A key reads `um_<id>_<secret>`: the id (16 hex digits) is public and indexes the record, the
//! secret (64 hex digits, 256 random bits) is shown once at creation. The record keeps only
//! `sha256(salt ‖ key)` with a 128-bit random salt of its own, so a leaked store does not yield
//! usable keys and equal keys never hash alike. The comparison runs in constant time.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The prefix of every key, so that a leaked key is recognisable by secret scanners.
pub const KEY_PREFIX: &str = "um_";

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// The tenant name is not `[a-z0-9_-]{1,64}`.
    #[error("invalid tenant `{0}`: use 1 to 64 characters among a-z, 0-9, `-` and `_`")]
    InvalidTenant(String),
}

/// What the store keeps about a key. Never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyRecord {
    /// Public id, the middle part of the key.
    pub id: String,
    /// The tenant the key acts for.
    pub tenant: String,
    /// Per-key salt, hex.
    pub salt: String,
    /// `sha256(salt ‖ key)`, hex.
    pub hash: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key authenticates nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Requests this key may make per UTC day, overriding the deployment's default quota
    /// (`auth.quota_per_day`); 0 means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_per_day: Option<u64>,
}

/// A freshly made key: the secret to hand out once, and the record to store.
#[derive(Clone)]
pub struct ApiKey {
    /// The full key (`um_<id>_<secret>`). Show it once; it is not stored.
    pub secret: String,
    /// What is stored.
    pub record: KeyRecord,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log, even through `{:?}`.
        f.debug_struct("ApiKey")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, KeyError> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

/// Checks a tenant name.
pub fn validate_tenant(tenant: &str) -> Result<(), KeyError> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(KeyError::InvalidTenant(tenant.to_owned()))
    }
}

fn digest(salt: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

impl ApiKey {
    /// Makes a new key for `tenant`.
    pub fn generate(tenant: &str) -> Result<Self, KeyError> {
        validate_tenant(tenant)?;
        let id = random_hex(8)?;
        let secret = format!("{KEY_PREFIX}{id}_{}", random_hex(32)?);
        let salt = random_hex(16)?;
        let hash = digest(&salt, &secret);
        let record = KeyRecord {
            id,
            tenant: tenant.to_owned(),
            salt,
            hash,
            created_at: Utc::now(),
            revoked_at: None,
            quota_per_day: None,
        };
        Ok(Self { secret, record })
    }
}

/// The id part of a presented key, or `None` when it does not look like a key at all.
pub fn key_id(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 16 && secret.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(id)
}

impl KeyRecord {
    /// Whether `presented` is this record's key and the key is not revoked.
    pub fn accepts(&self, presented: &str) -> bool {
        let computed = digest(&self.salt, presented);
        constant_time_eq(computed.as_bytes(), self.hash.as_bytes()) && self.revoked_at.is_none()
    }
}

/// Compares without an early exit, so the time taken does not tell how many leading bytes of a
/// guessed hash were right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn a_key_verifies_only_itself_and_not_once_revoked() {
        let key = ApiKey::generate("venue-a").unwrap();
        assert!(key.secret.starts_with("um_"));
        assert_eq!(key_id(&key.secret), Some(key.record.id.as_str()));
        assert!(key.record.accepts(&key.secret));
        assert!(
            !key.record.hash.contains(&key.secret[3..]),
            "the key itself is not stored"
        );
        let other = ApiKey::generate("venue-a").unwrap();
        assert!(!key.record.accepts(&other.secret));
        assert_ne!(key.record.salt, other.record.salt);
        let mut revoked = key.record.clone();
        revoked.revoked_at = Some(Utc::now());
        assert!(!revoked.accepts(&key.secret));
        assert!(
            !format!("{key:?}").contains(&key.secret),
            "Debug hides the secret"
        );
        assert!(ApiKey::generate("Bad Tenant").is_err());
        assert_eq!(key_id("um_short_x"), None);
    }
}
