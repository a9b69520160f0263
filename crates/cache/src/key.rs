//! Namespaced, versioned cache keys.

use std::fmt::{self, Write as _};

use crate::error::CacheError;

/// Every key starts with this namespace and layout version. Bump the version when the meaning or
/// the encoding of stored values changes, so that old entries become misses instead of being
/// misread.
const PREFIX: &str = "unimargin:v1";

/// A validated, namespaced cache key.
///
/// Keys are only built by typed constructors that take every part, so callers cannot forget one.
/// The layout is fixed-arity, for example
/// `unimargin:v1:snapshot:{chain}:{block_number}:{block_hash}:{protocol}:{market}:{account}`.
///
/// Each part is escaped so that a key is always one printable token and two different inputs
/// never share a key:
///
/// - `%`, whitespace and control characters are percent-encoded (UTF-8 bytes, `%XX`);
/// - an empty part is written as a lone `%`, which no escaped non-empty part can produce;
/// - colons are kept in `chain` (CAIP-2, `namespace:reference`) and `account` (CAIP-10,
///   `namespace:reference:address`), and percent-encoded (`%3A`) in every other part, so that the
///   number of colon-separated segments is fixed once chain and account have their CAIP shapes.
///
/// Parts are not otherwise normalized: callers pass canonical forms (for instance a lower-case
/// block hash), or the same snapshot is cached under two keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

/// Whether colons inside a part are kept or escaped; see [`CacheKey`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Colons {
    Keep,
    Escape,
}

impl CacheKey {
    /// The key of one account's margin snapshot at one block.
    ///
    /// `chain` is a CAIP-2 chain id (`eip155:1`), `account` a CAIP-10 account id
    /// (`eip155:1:0xabc…`). Including the block number and hash makes a new block (or a reorg) a
    /// natural miss, so entries never need invalidating.
    ///
    /// This constructor is total: any input is escaped into a well-formed key (see [`CacheKey`]).
    /// Distinct inputs get distinct keys whenever `chain` and `account` have their CAIP shapes
    /// (one and two colons); use [`CacheKey::try_snapshot`] when the inputs are not validated yet.
    pub fn snapshot(
        chain: &str,
        block_number: u64,
        block_hash: &str,
        protocol: &str,
        market: &str,
        account: &str,
    ) -> CacheKey {
        let mut key = String::with_capacity(
            PREFIX.len()
                + ":snapshot".len()
                + chain.len()
                + 21
                + block_hash.len()
                + protocol.len()
                + market.len()
                + account.len()
                + 6,
        );
        key.push_str(PREFIX);
        key.push_str(":snapshot");
        push_part(&mut key, chain, Colons::Keep);
        // A u64 is digits only, so it needs no escaping.
        let _ = write!(key, ":{block_number}");
        push_part(&mut key, block_hash, Colons::Escape);
        push_part(&mut key, protocol, Colons::Escape);
        push_part(&mut key, market, Colons::Escape);
        push_part(&mut key, account, Colons::Keep);
        CacheKey(key)
    }

    /// Like [`CacheKey::snapshot`], but rejects input that would need escaping or that breaks the
    /// CAIP shapes, instead of encoding it.
    ///
    /// Rejected: an empty part; whitespace or control characters in any part; a `chain` that is
    /// not `namespace:reference`; an `account` that is not `{chain}:{address}` for this `chain`.
    /// Use it where the parts come straight from a request, so a malformed id is reported rather
    /// than cached under an odd key.
    pub fn try_snapshot(
        chain: &str,
        block_number: u64,
        block_hash: &str,
        protocol: &str,
        market: &str,
        account: &str,
    ) -> Result<CacheKey, CacheError> {
        check_part("chain", chain)?;
        check_part("block_hash", block_hash)?;
        check_part("protocol", protocol)?;
        check_part("market", market)?;
        check_part("account", account)?;
        check_segments(
            "chain",
            chain,
            2,
            "must be a CAIP-2 chain id (namespace:reference)",
        )?;
        check_segments(
            "account",
            account,
            3,
            "must be a CAIP-10 account id (namespace:reference:address)",
        )?;
        let on_chain = account
            .strip_prefix(chain)
            .is_some_and(|rest| rest.starts_with(':'));
        if !on_chain {
            return Err(CacheError::InvalidKey {
                part: "account",
                reason: "is not on the given chain",
            });
        }
        Ok(CacheKey::snapshot(
            chain,
            block_number,
            block_hash,
            protocol,
            market,
            account,
        ))
    }

    /// The key as stored (backends may add their own prefix, see [`crate::RedisOptions`]).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CacheKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn needs_escape(c: char, colons: Colons) -> bool {
    c == '%' || c.is_whitespace() || c.is_control() || (c == ':' && colons == Colons::Escape)
}

/// Appends `:` and the escaped `part` to `out`.
fn push_part(out: &mut String, part: &str, colons: Colons) {
    out.push(':');
    if part.is_empty() {
        out.push('%');
        return;
    }
    for c in part.chars() {
        if needs_escape(c, colons) {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
}

fn check_part(part: &'static str, value: &str) -> Result<(), CacheError> {
    if value.is_empty() {
        return Err(CacheError::InvalidKey {
            part,
            reason: "is empty",
        });
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CacheError::InvalidKey {
            part,
            reason: "contains whitespace or control characters",
        });
    }
    Ok(())
}

/// Checks that `value` has exactly `count` non-empty colon-separated segments.
fn check_segments(
    part: &'static str,
    value: &str,
    count: usize,
    reason: &'static str,
) -> Result<(), CacheError> {
    let mut segments = 0;
    for segment in value.split(':') {
        if segment.is_empty() {
            return Err(CacheError::InvalidKey { part, reason });
        }
        segments += 1;
    }
    if segments == count {
        Ok(())
    } else {
        Err(CacheError::InvalidKey { part, reason })
    }
}

#[cfg(test)]
mod tests;
