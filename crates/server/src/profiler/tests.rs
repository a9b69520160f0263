use std::sync::Arc;

use unimargin_cache::MemoryCache;
use unimargin_schema::{AccountId, AccountIdError, ChainAliases, ChainId};
use unimargin_sdk::{
    AdapterRegistry, ChainClient, ChainClients,
    evm::{EvmClient, EvmSettings},
};

use super::{ProfileError, Profiler, ProfilerSettings, redact_urls};

const ADDR: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// A profiler with a client for eip155:1 (never contacted by these tests) and alias `ethereum`.
fn profiler(max_accounts: usize) -> Profiler {
    let mut clients = ChainClients::new();
    let client = EvmClient::http(
        ChainId::evm(1),
        "http://127.0.0.1:9",
        EvmSettings::default(),
    );
    clients.insert(ChainClient::Evm(Arc::new(client.expect("a valid URL"))));
    let mut aliases = ChainAliases::new();
    aliases.insert("ethereum", ChainId::evm(1));
    Profiler::new(
        clients,
        AdapterRegistry::new(),
        Arc::new(MemoryCache::new(16)),
        Default::default(),
        aliases,
        ProfilerSettings {
            max_accounts,
            ..ProfilerSettings::default()
        },
    )
}

#[test]
fn urls_are_redacted_from_messages() {
    let cases = [
        // (input, expected)
        (
            "error sending request for url (http://127.0.0.1:8545/)",
            "error sending request for url (<url>)",
        ),
        ("https://eth.example/v2/SECRETKEY failed", "<url> failed"),
        ("a wss://x/y?k=1, then b", "a <url>, then b"),
        (
            "two: http://a/1 and `https://b/2`",
            "two: <url> and `<url>`",
        ),
        ("no url here: a://", "no url here: <url>"),
        ("just :// alone", "just :// alone"),
        ("plain message", "plain message"),
    ];
    for (input, expected) in cases {
        assert_eq!(redact_urls(input), expected, "{input}");
    }
}

#[test]
fn account_counts_are_checked_before_parsing() {
    let p = profiler(2);
    let none: [&str; 0] = [];
    assert_eq!(p.parse_accounts(&none), Err(ProfileError::NoAccounts));
    // Three garbage accounts: the count is reported, not the first parse error.
    assert_eq!(
        p.parse_accounts(&["x", "y", "z"]),
        Err(ProfileError::TooManyAccounts { count: 3, limit: 2 })
    );
}

#[test]
fn accounts_parse_with_aliases_and_name_the_input_on_error() {
    let p = profiler(50);
    let parsed = p
        .parse_accounts(&[format!("ethereum:{}", ADDR.to_lowercase())])
        .expect("alias form");
    assert_eq!(parsed[0].to_string(), format!("eip155:1:{ADDR}"));

    let wrong = "eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
    let err = p.parse_accounts(&[wrong]).expect_err("bad checksum");
    assert!(
        matches!(&err, ProfileError::InvalidAccount { input, reason: AccountIdError::BadChecksum { .. } } if input == wrong)
    );
    let message = err.to_string();
    assert!(
        message.contains(wrong) && message.contains(ADDR),
        "{message}"
    );
}

#[test]
fn unknown_chains_are_rejected_and_duplicates_merged() {
    let p = profiler(50);
    let on_1: AccountId = format!("eip155:1:{ADDR}").parse().expect("valid");
    let groups = p
        .group(vec![on_1.clone(), on_1.clone()])
        .expect("served chain");
    assert_eq!(groups.len(), 1);
    let (client, accounts) = &groups[0];
    assert_eq!(client.chain(), &ChainId::evm(1));
    assert_eq!(accounts, std::slice::from_ref(&on_1));

    let on_10: AccountId = format!("eip155:10:{ADDR}").parse().expect("valid");
    let err = p
        .group(vec![on_1, on_10.clone()])
        .expect_err("eip155:10 has no client");
    assert_eq!(
        err,
        ProfileError::UnknownChain {
            account: on_10,
            chain: ChainId::evm(10),
            served: "eip155:1 (ethereum)".to_owned()
        }
    );
}
