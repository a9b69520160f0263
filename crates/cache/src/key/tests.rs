#![allow(clippy::panic, reason = "a test reports failure by panicking")]

use super::CacheKey;
use crate::CacheError;

const CHAIN: &str = "eip155:1";
const HASH: &str = "0xabc0";
const ACCOUNT: &str = "eip155:1:0x00000000000000000000000000000000000000aa";

fn snapshot(chain: &str, hash: &str, protocol: &str, market: &str, account: &str) -> String {
    CacheKey::snapshot(chain, 7, hash, protocol, market, account).into_string()
}

#[test]
fn snapshot_layout_is_fixed() {
    let key = CacheKey::snapshot(CHAIN, 19_000_000, HASH, "aave-v3", "core", ACCOUNT);
    let expected = "unimargin:v1:snapshot:eip155:1:19000000:0xabc0:aave-v3:core:\
                    eip155:1:0x00000000000000000000000000000000000000aa";
    assert_eq!(key.as_str(), expected);
    assert_eq!(key.to_string(), expected);
    assert_eq!(key.as_ref() as &str, expected);
}

#[test]
fn snapshot_escapes_awkward_parts() {
    // (input part, how it appears in the key)
    let cases = [
        ("a b", "a%20b"),
        ("tab\there", "tab%09here"),
        ("new\nline", "new%0Aline"),
        ("100%", "100%25"),
        ("", "%"),
        // U+00A0 (no-break space) is whitespace: its two UTF-8 bytes are encoded.
        ("nb\u{a0}sp", "nb%C2%A0sp"),
        // Colons are escaped outside chain and account, so segment counts stay fixed.
        ("eip155:1:0xpool", "eip155%3A1%3A0xpool"),
        ("plain-ascii_0x1", "plain-ascii_0x1"),
    ];
    for (input, encoded) in cases {
        let key = snapshot(CHAIN, HASH, "p", input, ACCOUNT);
        let expected = format!("unimargin:v1:snapshot:{CHAIN}:7:{HASH}:p:{encoded}:{ACCOUNT}");
        assert_eq!(key, expected, "market {input:?}");
    }
}

#[test]
fn snapshot_keys_never_contain_whitespace() {
    let key = snapshot("eip155 :1", " ", "\r\n", "x y", "eip155:1: 0x");
    assert!(!key.chars().any(char::is_whitespace), "{key}");
}

#[test]
fn snapshot_distinguishes_every_part() {
    let base = CacheKey::snapshot(CHAIN, 7, HASH, "p", "m", ACCOUNT);
    let variants = [
        CacheKey::snapshot("eip155:10", 7, HASH, "p", "m", ACCOUNT),
        CacheKey::snapshot(CHAIN, 8, HASH, "p", "m", ACCOUNT),
        CacheKey::snapshot(CHAIN, 7, "0xabc1", "p", "m", ACCOUNT),
        CacheKey::snapshot(CHAIN, 7, HASH, "q", "m", ACCOUNT),
        CacheKey::snapshot(CHAIN, 7, HASH, "p", "n", ACCOUNT),
        CacheKey::snapshot(CHAIN, 7, HASH, "p", "m", "eip155:1:0xbb"),
    ];
    for variant in variants {
        assert_ne!(base, variant);
    }
}

#[test]
fn escaping_keeps_keys_apart() {
    // Pairs that would collide without escaping, or with a naive escaping.
    let pairs = [
        // A colon moved from one free-form part to the next.
        (("a:b", "c"), ("a", "b:c")),
        // An empty part against a literal '%', and a literal "%20" against a space.
        (("", "c"), ("%", "c")),
        (("%20", "c"), (" ", "c")),
    ];
    for ((p1, m1), (p2, m2)) in pairs {
        assert_ne!(
            snapshot(CHAIN, HASH, p1, m1, ACCOUNT),
            snapshot(CHAIN, HASH, p2, m2, ACCOUNT),
            "({p1:?}, {m1:?}) vs ({p2:?}, {m2:?})"
        );
    }
}

#[test]
fn try_snapshot_accepts_caip_ids_and_agrees_with_snapshot() {
    let solana_chain = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
    let solana_account =
        "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:7S3P4HxJpyyigGzodYwHtCxZyUQe9JiBMHyRWXArAaKv";
    for (chain, account) in [(CHAIN, ACCOUNT), (solana_chain, solana_account)] {
        let checked = CacheKey::try_snapshot(chain, 7, HASH, "drift", "eip155:1:0xpool", account);
        let unchecked = CacheKey::snapshot(chain, 7, HASH, "drift", "eip155:1:0xpool", account);
        assert_eq!(checked.ok(), Some(unchecked));
    }
}

#[test]
fn try_snapshot_rejects_malformed_parts() {
    // (chain, block hash, protocol, market, account, rejected part)
    let cases = [
        ("", HASH, "p", "m", ACCOUNT, "chain"),
        (CHAIN, "", "p", "m", ACCOUNT, "block_hash"),
        (CHAIN, HASH, "", "m", ACCOUNT, "protocol"),
        (CHAIN, HASH, "p", "", ACCOUNT, "market"),
        (CHAIN, HASH, "p", "m", "", "account"),
        (CHAIN, "0xab c", "p", "m", ACCOUNT, "block_hash"),
        (CHAIN, HASH, "aave\tv3", "m", ACCOUNT, "protocol"),
        (CHAIN, HASH, "p", "m\n", ACCOUNT, "market"),
        ("eip155", HASH, "p", "m", ACCOUNT, "chain"),
        ("eip155:1:2", HASH, "p", "m", ACCOUNT, "chain"),
        ("eip155:", HASH, "p", "m", ACCOUNT, "chain"),
        (CHAIN, HASH, "p", "m", "0xaa", "account"),
        (CHAIN, HASH, "p", "m", "eip155:1:", "account"),
        (CHAIN, HASH, "p", "m", "eip155:1:0xaa:extra", "account"),
        // Well-formed CAIP-10, but for another chain.
        (CHAIN, HASH, "p", "m", "eip155:10:0xaa", "account"),
        // The chain is a prefix of the account's chain, but not the whole of it.
        ("eip155:1", HASH, "p", "m", "eip155:10:0xaa", "account"),
    ];
    for (chain, hash, protocol, market, account, rejected) in cases {
        match CacheKey::try_snapshot(chain, 7, hash, protocol, market, account) {
            Err(CacheError::InvalidKey { part, .. }) => assert_eq!(
                part, rejected,
                "{chain:?} {hash:?} {protocol:?} {market:?} {account:?}"
            ),
            other => panic!("expected InvalidKey for {rejected}, got {other:?}"),
        }
    }
}
