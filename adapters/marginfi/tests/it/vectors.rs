//! Real mainnet accounts (copies published in marginfi's own repository; see the vectors'
//! SOURCES.md). Expected identities come from the vectors' manifest and from bytes read at the
//! IDL's offsets here, never from the decoder. Runs when `UNIMARGIN_TEST_VECTORS` is set.

use std::{path::Path, sync::Arc};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde_json::Value;
use unimargin_marginfi::{Address, MarginfiDeployment, fetch};
use unimargin_schema::{AccountId, ChainId, MarketId, ProtocolId};
use unimargin_sdk::{
    AdapterFactory, ChainClient, DeploymentSpec,
    solana::{
        Pubkey, RawAccount, SolanaSettings,
        decode::DecodeError,
        oracle::{pyth::decode_price_update_v2_data, switchboard::decode_pull_feed_data},
        testkit::{SolanaTestServer, load_account_file},
    },
};

use crate::{fixtures::*, idl::vectors, profile};

fn deployment() -> MarginfiDeployment {
    serde_json::from_value(
        serde_json::json!({"program_id": program().to_string(), "group": group().to_string()}),
    )
    .expect("config")
}

fn manifest(dir: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("marginfi/manifest.json")).expect("manifest"),
    )
    .expect("json");
    v["entries"].as_array().expect("entries").clone()
}

fn i80_at(data: &[u8], at: usize) -> i128 {
    i128::from_le_bytes(data[at..at + 16].try_into().expect("16 bytes"))
}

#[test]
fn real_accounts_and_banks_decode_with_the_ids_the_manifest_records() {
    let Some(dir) = vectors("real_accounts_and_banks_decode_with_the_ids_the_manifest_records")
    else {
        return;
    };
    let d = deployment();
    let mut accounts = 0;
    let mut banks = 0;
    for e in manifest(&dir) {
        let file = e["file"].as_str().expect("file");
        if !file.starts_with("solana/marginfi/accounts/") || !file.ends_with(".json") {
            continue;
        }
        let (key, mut account) =
            load_account_file(&dir.parent().expect("root").join(file)).expect("account file");
        // Fixtures re-owned to marginfi's localnet id hold mainnet data (SOURCES.md): decode them
        // as the mainnet program's, after checking the wrong owner is refused as such.
        if account.owner == pk("2jGhuVUuy3umdzByFx8sNWUAaf5vaeuDm78RDPEnhrMr") {
            let refused = match e["account_type"].as_str() {
                Some("Bank") => fetch::decode_bank(&key, &account, &d).err(),
                Some("MarginfiAccount") => fetch::decode_account(&key, &account, &d).err(),
                _ => continue,
            };
            assert!(
                matches!(refused, Some(DecodeError::WrongOwner { .. })),
                "{file}: {refused:?}"
            );
            account.owner = program();
        }
        let data = account.data.clone();
        match e["account_type"].as_str() {
            Some("Bank") => {
                // The group at its IDL offset (8 + 33); the staging program's banks decode as its own.
                let group_at = Pubkey::new_from_array(data[41..73].try_into().expect("group"));
                let dd = MarginfiDeployment {
                    program_id: Address(account.owner),
                    group: Address(group_at),
                    ..deployment()
                };
                let bank = fetch::decode_bank(&key, &account, &dd).expect(file);
                let ids = &e["decoded_ids"];
                assert_eq!(
                    group_at.to_string(),
                    ids["group"].as_str().expect("group"),
                    "{file}"
                );
                assert_eq!(
                    Pubkey::new_from_array(bank.mint).to_string(),
                    ids["mint"].as_str().expect("mint"),
                    "{file}"
                );
                assert_eq!(
                    u64::from(bank.mint_decimals),
                    ids["mint_decimals"].as_u64().expect("decimals"),
                    "{file}"
                );
                // Share values at the IDL offsets (8 + 72, 8 + 88).
                assert_eq!(
                    bank.asset_share_value.to_bits(),
                    i80_at(&data, 80),
                    "{file}"
                );
                assert_eq!(
                    bank.liability_share_value.to_bits(),
                    i80_at(&data, 96),
                    "{file}"
                );
                assert!(
                    bank.asset_share_value.to_bits() >= 1 << 48,
                    "share values start at 1 and only grow: {file}"
                );
                // A bank of another group is refused for this deployment.
                if group_at != group() {
                    let other = MarginfiDeployment {
                        program_id: Address(account.owner),
                        ..deployment()
                    };
                    assert!(
                        matches!(
                            fetch::decode_bank(&key, &account, &other),
                            Err(DecodeError::InvalidField { .. })
                        ),
                        "{file}"
                    );
                }
                banks += 1;
            }
            Some("MarginfiAccount") => {
                let dd = MarginfiDeployment {
                    group: Address(Pubkey::new_from_array(
                        data[8..40].try_into().expect("group"),
                    )),
                    ..deployment()
                };
                let a = fetch::decode_account(&key, &account, &dd).expect("account");
                let ids = &e["decoded_ids"];
                if let Some(auth) = ids["authority"].as_str() {
                    assert_eq!(
                        Pubkey::new_from_array(a.authority).to_string(),
                        auth,
                        "{file}"
                    );
                }
                // Active balances counted from the raw bytes (72 + 104 i) agree with the decoder.
                let raw_active = (0..16).filter(|i| data[72 + 104 * i] != 0).count();
                assert_eq!(
                    a.lending_account
                        .balances
                        .iter()
                        .filter(|b| b.active != 0)
                        .count(),
                    raw_active,
                    "{file}"
                );
                accounts += 1;
            }
            _ => {}
        }
    }
    assert!(
        accounts >= 5 && banks >= 5,
        "decoded {accounts} accounts and {banks} banks"
    );
}

#[test]
fn real_oracle_accounts_decode() {
    let Some(dir) = vectors("real_oracle_accounts_decode") else {
        return;
    };
    let m = dir.join("marginfi");
    let key = Pubkey::new_from_array([0; 32]);
    // SOL/USD PriceUpdateV2: feed ef0d8b6f…, publish_time 1735984087 per the manifest.
    let (_, sol) = load_account_file(&m.join("accounts/sol_pyth_price_feed.json")).expect("file");
    let p = decode_price_update_v2_data(&key, &sol.data).expect("PriceUpdateV2");
    assert_eq!(p.feed_id[..4], [0xef, 0x0d, 0x8b, 0x6f]);
    assert_eq!(p.publish_time, 1_735_984_087);
    assert!(p.is_fully_verified() && p.price > 0 && p.exponent == -8);
    for f in [
        "accounts/pyth_push_sol_price.bin",
        "accounts/pyth_push_usdc_price.bin",
    ] {
        let data = std::fs::read(m.join(f)).expect("bin");
        assert!(decode_price_update_v2_data(&key, &data).expect(f).price > 0);
    }
    let swb = std::fs::read(m.join("accounts/swb_pull_sol_price.bin")).expect("bin");
    let feed = decode_pull_feed_data(&key, &swb).expect("PullFeedAccountData");
    let q = feed.quote(key);
    // A SOL price with 18 decimals, between 1 and 10 000 USD.
    assert!(
        q.price > 10i128.pow(18) && q.price < 10i128.pow(22),
        "{}",
        q.price
    );
    assert!(feed.last_update_timestamp > 1_600_000_000);
    for lit in [
        "PullFeedAccountData_lit_74cc1063.b64",
        "PullFeedAccountData_lit_7e11acb0.b64",
    ] {
        let data = BASE64
            .decode(
                std::fs::read_to_string(m.join("from_source_literals").join(lit))
                    .expect("b64")
                    .trim(),
            )
            .expect("base64");
        decode_pull_feed_data(&key, &data).expect(lit);
    }
    // Truncated and mistyped real data are typed errors, never garbage.
    assert!(matches!(
        decode_pull_feed_data(&key, &swb[..3207]),
        Err(DecodeError::WrongSize { .. })
    ));
    assert!(matches!(
        decode_price_update_v2_data(&key, &swb[..134]),
        Err(DecodeError::WrongDiscriminator { .. })
    ));
}

#[tokio::test]
async fn a_real_bank_priced_by_a_real_pyth_update_reproduces_the_health_exactly() {
    let Some(dir) =
        vectors("a_real_bank_priced_by_a_real_pyth_update_reproduces_the_health_exactly")
    else {
        return;
    };
    let m = dir.join("marginfi");
    // The JitoSOL bank (mainnet, group 4qp6…), with its oracle pointed at the real SOL/USD
    // PriceUpdateV2 account (fields patched at the IDL offsets: oracle_setup 609 = PythPushOracle,
    // config_flags 786 = migrated, oracle_keys[0] at 610).
    let (bank_key, mut bank) =
        load_account_file(&m.join("accounts/bank_sample_1.json")).expect("bank");
    let (feed_key, feed) =
        load_account_file(&m.join("accounts/sol_pyth_price_feed.json")).expect("feed");
    bank.data[609] = 3;
    bank.data[786] = 1;
    bank.data[610..642].copy_from_slice(&feed_key.to_bytes());
    let p = decode_price_update_v2_data(&feed_key, &feed.data).expect("price");
    let server = SolanaTestServer::start().await.expect("server");
    server.set_unix_timestamp(p.publish_time + 10);
    server.insert(bank_key, bank.clone());
    server.insert(
        feed_key,
        RawAccount {
            owner: pyth_receiver(),
            ..feed
        },
    );
    let owner = Pubkey::new_from_array([0xD1; 32]);
    let shares = profile::int(3_000_000_000); // 3e9 shares of JitoSOL (9 decimals)
    server.insert(
        Pubkey::new_from_array([0xD2; 32]),
        owned(
            program(),
            marginfi_account(&owner, &group(), &[(bank_key, shares, 0)]),
        ),
    );

    let chain = ChainId::solana("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").expect("chain");
    let adapter = unimargin_marginfi::MarginfiFactory
        .build(&DeploymentSpec {
            protocol: ProtocolId::new("marginfi").expect("id"),
            kind: None,
            chain: chain.clone(),
            market: MarketId("main".into()),
            params: serde_json::json!({"program_id": program().to_string(), "group": group().to_string()}),
        })
        .expect("adapter");
    let reader = ChainClient::Solana(Arc::new(
        server
            .client(chain.clone(), SolanaSettings::default())
            .expect("client"),
    ))
    .pin()
    .await
    .expect("pin");
    let s = adapter
        .snapshot(
            &reader,
            &AccountId::new(chain, &owner.to_string()).expect("id"),
        )
        .await
        .expect("snapshot");

    // Expected, from the bank's own bytes at the IDL offsets: amount = shares × asset_share_value;
    // value = amount × asset_weight_maint × (price − conf × 2.12) / 10^9.
    let asv = i80_at(&bank.data, 80);
    let awm = i80_at(&bank.data, 296 + 16);
    let (price, conf) = profile::pyth_price_conf(p.price, p.conf, p.exponent.unsigned_abs());
    let expected = profile::value(profile::mul(shares, asv), awm, price - conf, 9);
    let d2 = Pubkey::new_from_array([0xD2; 32]);
    assert_eq!(
        s.native_health.figures[&format!("{d2}.maint.health_i80f48_bits")],
        expected.to_string()
    );
    assert_eq!(s.positions.len(), 1);
    assert_eq!(s.positions[0].price.age_seconds, Some(10));
}
