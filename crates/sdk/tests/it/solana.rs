//! The Solana read path against the loopback JSON-RPC server: the real `RpcClient` sends real
//! requests over HTTP, and the server counts them.

use std::time::Duration;

use unimargin_schema::{ChainId, FailureKind, ReadPoint};
use unimargin_sdk::{
    AdapterError, ChainClient,
    solana::{
        AccountFilter, CLOCK_SYSVAR, Pubkey, RawAccount, SolanaSettings,
        testkit::{SolanaTestServer, account_json, parse_account_json},
    },
};

fn mainnet() -> ChainId {
    ChainId::solana("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").expect("mainnet-beta")
}

fn key(i: u32) -> Pubkey {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    b[31] = 0xAB;
    Pubkey::new_from_array(b)
}

fn account(owner: Pubkey, data: Vec<u8>) -> RawAccount {
    RawAccount {
        lamports: 1_000_000,
        owner,
        executable: false,
        data,
    }
}

#[tokio::test]
async fn pins_a_slot_and_reads_many_accounts_in_concurrent_chunks() {
    let server = SolanaTestServer::start().await.expect("server");
    server.set_slot(300_000_123);
    server.set_unix_timestamp(1_750_000_000);
    let program = key(999_999);
    for i in 0..250 {
        server.insert(key(i), account(program, i.to_le_bytes().to_vec()));
    }
    let client = server
        .client(mainnet(), SolanaSettings::default())
        .expect("client");
    let reader = ChainClient::Solana(std::sync::Arc::new(client))
        .pin()
        .await
        .expect("pin");
    assert_eq!(
        reader.read_point(),
        ReadPoint::Slot {
            slot: 300_000_123,
            timestamp: Some(1_750_000_000)
        }
    );
    let solana = reader.solana().expect("solana reader");
    assert!(
        reader.evm().is_err(),
        "a Solana reader is not an EVM reader"
    );
    // Pinning costs getSlot and one read of the Clock sysvar.
    assert_eq!(server.requests(), ["getSlot", "getMultipleAccounts"]);
    server.reset_requests();

    // 250 present keys and one missing key, interleaved: 251 keys = 100 + 100 + 51.
    let mut keys: Vec<Pubkey> = (0..250).map(key).collect();
    keys.insert(17, key(5_000));
    let served = solana.get_multiple_accounts(&keys).await.expect("read");
    assert_eq!(served.slot, 300_000_123);
    assert_eq!(served.value.len(), 251);
    assert!(
        served.value[17].is_none(),
        "a missing account is None, never an empty account"
    );
    assert_eq!(
        served.value[0].as_ref().expect("present").data,
        0u32.to_le_bytes()
    );
    assert_eq!(
        served.value[250].as_ref().expect("present").data,
        249u32.to_le_bytes()
    );
    assert_eq!(
        served.value[18].as_ref().expect("present").data,
        17u32.to_le_bytes()
    );
    assert_eq!(
        server.requests(),
        ["getMultipleAccounts"; 3],
        "ceil(251 / 100) requests"
    );
    assert_eq!(solana.latest_served_slot(), 300_000_123);
}

#[tokio::test]
async fn program_accounts_are_filtered_by_memcmp_and_size() {
    let server = SolanaTestServer::start().await.expect("server");
    let program = key(7);
    let alice = key(100);
    let bob = key(101);
    let with_authority = |authority: &Pubkey, len: usize| {
        let mut data = vec![0u8; len];
        data[40..72].copy_from_slice(&authority.to_bytes());
        data
    };
    server.insert(key(1), account(program, with_authority(&alice, 128)));
    server.insert(key(2), account(program, with_authority(&alice, 96)));
    server.insert(key(3), account(program, with_authority(&bob, 128)));
    server.insert(key(4), account(key(8), with_authority(&alice, 128))); // another program
    let client = server
        .client(mainnet(), SolanaSettings::default())
        .expect("client");
    let pinned = client.pin().await.expect("pin");
    let found = pinned
        .get_program_accounts(
            &program,
            &[
                AccountFilter::DataSize(128),
                AccountFilter::key_at(40, &alice),
            ],
        )
        .await
        .expect("gPA");
    assert_eq!(
        found.value.iter().map(|k| k.pubkey).collect::<Vec<_>>(),
        [key(1)]
    );
    assert_eq!(found.slot, pinned.slot());
    let all_alice = pinned
        .get_program_accounts(&program, &[AccountFilter::key_at(40, &alice)])
        .await
        .expect("gPA");
    assert_eq!(all_alice.value.len(), 2);
}

#[tokio::test]
async fn a_reply_older_than_the_pinned_slot_is_an_error() {
    let server = SolanaTestServer::start().await.expect("server");
    server.insert(key(1), account(key(2), vec![1, 2, 3]));
    let client = server
        .client(mainnet(), SolanaSettings::default())
        .expect("client");
    let pinned = client.pin().await.expect("pin");
    // A lagging node behind the same URL answers from 5 slots earlier.
    server.serve_stale_by(5);
    let err = pinned
        .get_multiple_accounts(&[key(1)])
        .await
        .expect_err("older slot must fail");
    assert!(
        matches!(&err, AdapterError::RpcError { message, .. } if message.contains("older than the pinned slot")),
        "{err}"
    );
    let err = pinned
        .get_program_accounts(&key(2), &[])
        .await
        .expect_err("older slot must fail");
    assert!(
        err.to_string().contains("older than the pinned slot"),
        "{err}"
    );
    // A node that has not reached the pinned slot answers the real -32016 error.
    server.serve_stale_by(0);
    server.set_slot(pinned.slot() - 1);
    let err = pinned
        .get_multiple_accounts(&[key(1)])
        .await
        .expect_err("min context slot");
    assert!(
        matches!(&err, AdapterError::RpcError { message, .. } if message.contains("-32016")),
        "{err}"
    );
    assert_eq!(err.failure_kind(), FailureKind::RpcError);
}

#[tokio::test]
async fn an_unreachable_node_is_rpc_unavailable_without_the_url() {
    let server = SolanaTestServer::start().await.expect("server");
    let url = server.url();
    drop(server);
    let settings = SolanaSettings {
        request_timeout: Duration::from_secs(5),
        ..SolanaSettings::default()
    };
    let client =
        unimargin_sdk::solana::SolanaClient::http(mainnet(), &url, settings).expect("client");
    let err = client.pin().await.expect_err("down");
    assert_eq!(err.failure_kind(), FailureKind::RpcUnavailable, "{err}");
    assert!(
        !err.to_string().contains("127.0.0.1"),
        "no URL in errors: {err}"
    );
    assert!(
        unimargin_sdk::solana::SolanaClient::http(
            mainnet(),
            "not a url",
            SolanaSettings::default()
        )
        .is_err()
    );
}

#[tokio::test]
async fn account_files_round_trip_and_the_clock_is_served() {
    let owner = key(3);
    let original = account(owner, vec![9; 165]);
    let text = account_json(&key(42), &original).to_string();
    let (pubkey, parsed) = parse_account_json(&text, "inline").expect("parse");
    assert_eq!((pubkey, &parsed), (key(42), &original));
    assert!(parse_account_json(r#"{"pubkey": "x"}"#, "bad").is_err());

    let server = SolanaTestServer::start().await.expect("server");
    let dir = std::env::temp_dir().join(format!("unimargin-solana-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("a.json");
    std::fs::write(&path, text).expect("write");
    assert_eq!(server.load_file(&path).expect("load"), key(42));
    let client = server
        .client(mainnet(), SolanaSettings::default())
        .expect("client");
    let pinned = client.pin().await.expect("pin");
    let served = pinned
        .get_multiple_accounts(&[key(42), CLOCK_SYSVAR])
        .await
        .expect("read");
    assert_eq!(served.value[0].as_ref(), Some(&original));
    assert_eq!(served.value[1].as_ref().map(|c| c.data.len()), Some(40));
    std::fs::remove_dir_all(&dir).ok();
}
