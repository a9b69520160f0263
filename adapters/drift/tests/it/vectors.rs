//! Real mainnet accounts (Drift's own test fixtures, see the vectors' SOURCES.md) decoded with
//! the crate's layouts, and the checks that refuse wrong data.

use serde_json::Value;
use unimargin_drift::{
    decode::{view, view_data},
    layout::{AnchorAccount, PerpMarket, SpotMarket, User},
    pda,
};
use unimargin_sdk::solana::{DecodeError, Pubkey, RawAccount};

use crate::support;

const PROGRAM: &str = "dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH";

fn program() -> Pubkey {
    PROGRAM.parse().expect("program id")
}

fn manifest(dir: &std::path::Path) -> Vec<Value> {
    let path = dir.join("solana/drift/manifest_protocol-v2.json");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("manifest")).expect("json");
    v["entries"].as_array().expect("entries").clone()
}

#[test]
fn every_user_decodes_and_sits_at_its_derived_address() {
    let Some(dir) = support::vectors("every_user_decodes_and_sits_at_its_derived_address") else {
        return;
    };
    let mut n = 0;
    for e in manifest(&dir)
        .iter()
        .filter(|e| e["account_type"] == "User")
    {
        let data = support::load(
            &dir.join("solana/drift")
                .join(e["file"].as_str().expect("file")),
        );
        let key: Pubkey = e["pubkey"]
            .as_str()
            .expect("pubkey")
            .parse()
            .expect("pubkey");
        let user: &User = view_data(&key, &data).expect("user decodes");
        // The collector derived each pubkey as the PDA of (authority, sub_account_id): deriving it
        // again from the decoded fields checks both fields' offsets and the PDA seeds.
        let authority = Pubkey::new_from_array(user.authority.0);
        assert_eq!(
            pda::user(&program(), &authority, user.sub_account_id.get()),
            key,
            "{}",
            e["file"]
        );
        n += 1;
    }
    assert!(n >= 100, "only {n} users");
}

#[test]
fn every_market_decodes_and_names_itself() {
    let Some(dir) = support::vectors("every_market_decodes_and_names_itself") else {
        return;
    };
    let (mut spot, mut perp) = (0, 0);
    for e in manifest(&dir) {
        let file = e["file"].as_str().expect("file");
        // Oracles and payloads may have no recorded address; markets always do.
        let Some(key) = e["pubkey"].as_str().and_then(|k| k.parse::<Pubkey>().ok()) else {
            continue;
        };
        let data = support::load(&dir.join("solana/drift").join(file));
        // File names carry the market index: `spot_market_<index>_<name>_<hash>.b64`.
        let base = file.rsplit('/').next().unwrap_or(file);
        let index: u16 = base
            .split('_')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(u16::MAX);
        match e["account_type"].as_str() {
            Some("SpotMarket") => {
                let m: &SpotMarket = view_data(&key, &data).expect("spot market decodes");
                assert_eq!(m.market_index.get(), index, "{file}");
                assert_eq!(Pubkey::new_from_array(m.pubkey.0), key, "{file}");
                assert_eq!(pda::spot_market(&program(), index), key, "{file}");
                assert!(m.decimals.get() <= 19, "{file}");
                spot += 1;
            }
            Some("PerpMarket") => {
                let m: &PerpMarket = view_data(&key, &data).expect("perp market decodes");
                assert_eq!(m.market_index.get(), index, "{file}");
                assert_eq!(Pubkey::new_from_array(m.pubkey.0), key, "{file}");
                assert_eq!(pda::perp_market(&program(), index), key, "{file}");
                perp += 1;
            }
            _ => {}
        }
    }
    assert!(spot >= 20 && perp >= 30, "{spot} spot, {perp} perp");
}

#[test]
fn drift_rs_user_fixture_decodes_to_its_published_fields() {
    let Some(dir) = support::vectors("drift_rs_user_fixture_decodes_to_its_published_fields")
    else {
        return;
    };
    let data = support::load(&dir.join("solana/drift/drift-rs_res/9Jtc.hex"));
    let key: Pubkey = "9JtczxrJjPM4J1xooxr2rFXmRivarb4BwjNiBgXDwe2p"
        .parse()
        .expect("key");
    let user: &User = view_data(&key, &data).expect("decodes");
    // manifest_drift-rs.json: authority GiMX…, sub-account 0, name "Main Account".
    assert_eq!(
        user.authority.to_base58(),
        "GiMXQkJXLVjScmQDkoLJShBJpTh9SDPvT2AZQq8NyEBf"
    );
    assert_eq!(user.sub_account_id.get(), 0);
    assert_eq!(unimargin_drift::decode::name(&user.name), "Main Account");
}

#[test]
fn wrong_owner_truncated_and_foreign_accounts_are_refused() {
    let Some(dir) = support::vectors("wrong_owner_truncated_and_foreign_accounts_are_refused")
    else {
        return;
    };
    let data = support::load(&dir.join("solana/drift/drift-rs_res/9Jtc.hex"));
    let key = Pubkey::new_unique();
    let owned = |owner: Pubkey, data: Vec<u8>| RawAccount {
        lamports: 1,
        owner,
        executable: false,
        data,
    };

    let ok = owned(program(), data.clone());
    assert!(view::<User>(&program(), &key, &ok).is_ok());

    let foreign = owned(Pubkey::new_unique(), data.clone());
    assert!(matches!(
        view::<User>(&program(), &key, &foreign),
        Err(DecodeError::WrongOwner { .. })
    ));

    let truncated = owned(program(), data[..User::SIZE - 1].to_vec());
    assert!(matches!(
        view::<User>(&program(), &key, &truncated),
        Err(DecodeError::WrongSize {
            expected: 4376,
            actual: 4375,
            ..
        })
    ));

    // A SpotMarket is not a User even when the size were right: the discriminator says so.
    let mut relabelled = data.clone();
    relabelled[..8].copy_from_slice(&SpotMarket::DISCRIMINATOR);
    assert!(matches!(
        view::<User>(&program(), &key, &owned(program(), relabelled)),
        Err(DecodeError::WrongDiscriminator { .. })
    ));
}

#[test]
fn drift_owned_oracles_scale_as_drift_scales_them() {
    let Some(dir) = support::vectors("drift_owned_oracles_scale_as_drift_scales_them") else {
        return;
    };
    let d = dir.join("solana/drift");
    let key = Pubkey::default();
    // 1MPEPE-PERP prices a million PEPE from Drift's Lazer oracle Eo8x9Y….
    let market_data = support::load(&d.join("perp_market/perp_market_10_1MPEPE-PERP_6a4904dd.b64"));
    let market: &PerpMarket = view_data(&key, &market_data).expect("market");
    assert_eq!(
        market.amm.oracle.to_base58(),
        "Eo8x9Y1289GvsuYVwRS2R8HfiWRXxYofL1KYvHK2ZM2o"
    );
    let source =
        unimargin_drift::types::OracleSource::from_u8(market.amm.oracle_source).expect("source");
    assert_eq!(source, unimargin_drift::types::OracleSource::PythLazer1M);
    let data = support::load(
        &d.join("oracle/drift_owned/PythLazerOracle_Eo8x9Y1289GvsuYVwRS2R8HfiWRXxYofL1KYvHK2ZM2o_31f49c1a.b64"),
    );
    let lazer: &unimargin_drift::layout::PythLazerOracle = view_data(&key, &data).expect("lazer");
    let p = unimargin_drift::oracle::from_lazer(lazer, source, 347_668_030 + 10).expect("price");
    // 101_181e-10 per PEPE; × 1e6 for a million; to 1e-6: 10^10 / 1e6 = 1e4 < 1e6, so
    // × 1e6 / 1e4 = × 100 → 10_118_100 ($10.1181), confidence 12 × 100 = 1200.
    assert_eq!((p.price, p.confidence, p.delay), (10_118_100, 1_200, 10));
    // Lazer publish times are microseconds.
    assert_eq!(p.publish_time, Some(1_750_276_355));

    let data =
        support::load(&d.join("oracle/drift_owned/PrelaunchOracle_AowFw1dCVjS8kngvTCoT3oshiUyL69k7P1uxqXwteWH4_e6e10143.b64"));
    let pre: &unimargin_drift::layout::PrelaunchOracle = view_data(&key, &data).expect("prelaunch");
    // Already in 1e-6: price 2, confidence 2; delay from the AMM's last update slot.
    let p = unimargin_drift::oracle::from_prelaunch(pre, 303_826_071 + 5);
    assert_eq!((p.price, p.confidence, p.delay), (2, 2, 5));
}
