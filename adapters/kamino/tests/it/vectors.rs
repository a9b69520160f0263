//! Real mainnet accounts (see the vectors' SOURCES.md) decoded with the crate's layouts, checked
//! against the fields their source repositories assert, and the checks that refuse wrong data.

use unimargin_kamino::{
    decode::{name, view, view_data},
    fraction::big_bits,
    layout::{AnchorAccount, LendingMarket, Obligation, OraclePrices, Reserve},
};
use unimargin_sdk::solana::{DecodeError, Pubkey, RawAccount};

use crate::support;

const PROGRAM: &str = "KLend2g3cP87fffoy8q1mQqGKjrxjC8boSyAYavgmjD";
const KEEL: &str = "solana/kamino/from_keel-fi_svm-alm-controller";

#[test]
fn obligation_decodes_to_the_fields_its_source_asserts() {
    let Some(dir) = support::vectors("obligation_decodes_to_the_fields_its_source_asserts") else {
        return;
    };
    let data = support::load(
        &dir.join(KEEL)
            .join("Obligation_RAW_OBLIGATION_B64_9da7336e@c6d70aa7.b64"),
    );
    let o: &Obligation = view_data(&Pubkey::default(), &data).expect("obligation");
    // keel-fi kamino_state.rs `obligation_try_from_works`.
    assert_eq!(
        o.lending_market.to_base58(),
        "7u3HeHxYDLhnCoErrtycNokbQYbWGzLs6JSDqGAv5PfF"
    );
    assert_eq!(
        o.owner.to_base58(),
        "4EiYqK5PCfLVyvL3WQRkifkPoVtaRHdTvYTzeLkydtHW"
    );
    assert_eq!(
        o.deposits[0].deposit_reserve.to_base58(),
        "d4A2prbA2whesmvHaL88BH6Ewn5N4bTSU2Ze8P6Bc4Q"
    );
    assert_eq!(o.deposits[0].deposited_amount.get(), 32_990_512_301);
    assert!(
        o.deposits[1..]
            .iter()
            .all(|d| d.deposit_reserve.is_default() && d.deposited_amount.get() == 0)
    );
    let borrows: Vec<_> = o
        .borrows
        .iter()
        .filter(|b| !b.borrow_reserve.is_default())
        .collect();
    assert_eq!(borrows.len(), 1);
    assert_eq!(
        borrows[0].borrow_reserve.to_base58(),
        "D6q6wuQSrifJKZYpR1M8R4YawnLDtDsMmWM1NbBmgJ59"
    );
    assert!(big_bits(&borrows[0].cumulative_borrow_rate_bsf.value).expect("rate") > 1 << 60);
}

#[test]
fn reserve_decodes_to_the_fields_its_source_asserts() {
    let Some(dir) = support::vectors("reserve_decodes_to_the_fields_its_source_asserts") else {
        return;
    };
    let data = support::load(
        &dir.join(KEEL)
            .join("Reserve_RAW_SOL_RESERVE_B64_0df17576@6f14163d.b64"),
    );
    let r: &Reserve = view_data(&Pubkey::default(), &data).expect("reserve");
    // keel-fi kamino_state.rs `reserve_try_from_works`.
    assert_eq!(
        r.lending_market.to_base58(),
        "7u3HeHxYDLhnCoErrtycNokbQYbWGzLs6JSDqGAv5PfF"
    );
    assert_eq!(
        r.farm_collateral.to_base58(),
        "955xWFhSDcDiUgUr4sBRtCpTLiMd4H5uZLAmgtP3R3sX"
    );
    assert_eq!(r.farm_debt.to_base58(), "11111111111111111111111111111111");
    assert_eq!(
        r.liquidity.mint_pubkey.to_base58(),
        "So11111111111111111111111111111111111111112"
    );
    assert_eq!(r.liquidity.available_amount.get(), 576_438_315_861_112);
    assert_eq!(
        r.liquidity.borrowed_amount_sf.get(),
        5_235_401_463_459_533_234_106_624_313_776_750
    );
    assert_eq!(
        r.liquidity.accumulated_protocol_fees_sf.get(),
        11_918_939_084_660_235_266_979_009_752_828
    );
    assert_eq!(
        r.collateral.mint_pubkey.to_base58(),
        "2UywZrUdyqs5vDchy7fKQJKau2RVyuzBev2XKGPDSiX1"
    );
    assert_eq!(r.collateral.mint_total_supply.get(), 4_684_732_222_348_610);
    assert_eq!(name(&r.config.token_info.name), "SOL");
    assert_eq!(
        (
            r.config.loan_to_value_pct,
            r.config.liquidation_threshold_pct
        ),
        (74, 75)
    );
    assert_eq!(r.config.borrow_factor_pct.get(), 125);
}

#[test]
fn account_files_decode_with_their_owner() {
    let Some(dir) = support::vectors("account_files_decode_with_their_owner") else {
        return;
    };
    let program: Pubkey = PROGRAM.parse().expect("program");
    let files = [
        (KEEL, "kamino_main_market@918013d2.json", "LendingMarket"),
        (KEEL, "kamino_other_market@35a1ae4c.json", "LendingMarket"),
        (KEEL, "kamino_usdc_reserve@918013d2.json", "Reserve"),
        (KEEL, "kamino_other_market_reserve@35a1ae4c.json", "Reserve"),
        (
            "solana/kamino/from_marginfi-v2",
            "kamino_usdc_reserve.json",
            "Reserve",
        ),
        (
            "solana/kamino/from_marginfi-v2",
            "kamino_usdc_obligation.json",
            "Obligation",
        ),
    ];
    for (sub, file, kind) in files {
        let (key, owner, data) = support::load_json(&dir.join(sub).join(file));
        let key: Pubkey = key.parse().expect("key");
        let acc = RawAccount {
            lamports: 1,
            owner: owner.parse().expect("owner"),
            executable: false,
            data,
        };
        match kind {
            "LendingMarket" => {
                let m: &LendingMarket = view(&program, &key, &acc).expect(file);
                assert!(
                    m.elevation_groups
                        .iter()
                        .all(|g| g.liquidation_threshold_pct <= 100),
                    "{file}"
                );
            }
            "Reserve" => {
                let r: &Reserve = view(&program, &key, &acc).expect(file);
                assert_eq!(r.liquidity.mint_decimals.get(), 6, "{file}: USDC");
                assert!(
                    r.config.loan_to_value_pct <= r.config.liquidation_threshold_pct
                        || r.config.liquidation_threshold_pct == 0
                );
            }
            _ => {
                let o: &Obligation = view(&program, &key, &acc).expect(file);
                assert_eq!(
                    o.owner.to_base58(),
                    "HRpCJaTjXMgxsDAHSLHTQigUmezEitySEf6SWWmLsiNY"
                );
            }
        }
    }
    let (key, owner, data) = support::load_json(
        &dir.join(KEEL)
            .join("kamino_usdc_reserve_scope_config_price_feed@88765f29.json"),
    );
    let acc = RawAccount {
        lamports: 1,
        owner: owner.parse().expect("owner"),
        executable: false,
        data,
    };
    let scope: Pubkey = "HFn8GnPADiny6XqUoWE8uRPPxb29ikn4yTuPa9MF2fWJ"
        .parse()
        .expect("scope");
    let prices: &OraclePrices =
        view(&scope, &key.parse().expect("key"), &acc).expect("scope prices");
    // Index 20 is USDC in Kamino's Scope mapping: 99_982_513e-8.
    assert_eq!(
        (
            prices.prices[20].price.value.get(),
            prices.prices[20].price.exp.get()
        ),
        (99_982_513, 8)
    );
}

#[test]
fn wrong_owner_truncated_and_foreign_accounts_are_refused() {
    let Some(dir) = support::vectors("wrong_owner_truncated_and_foreign_accounts_are_refused")
    else {
        return;
    };
    let program: Pubkey = PROGRAM.parse().expect("program");
    let (key, _, data) =
        support::load_json(&dir.join("solana/kamino/from_marginfi-v2/kamino_usdc_obligation.json"));
    let key: Pubkey = key.parse().expect("key");
    let acc = |owner: Pubkey, data: Vec<u8>| RawAccount {
        lamports: 1,
        owner,
        executable: false,
        data,
    };
    assert!(matches!(
        view::<Obligation>(&program, &key, &acc(Pubkey::new_unique(), data.clone())),
        Err(DecodeError::WrongOwner { .. })
    ));
    assert!(matches!(
        view::<Obligation>(
            &program,
            &key,
            &acc(program, data[..Obligation::SIZE - 8].to_vec())
        ),
        Err(DecodeError::WrongSize {
            expected: 3344,
            actual: 3336,
            ..
        })
    ));
    // Obligation bytes presented as a Reserve: wrong size first.
    assert!(matches!(
        view::<Reserve>(&program, &key, &acc(program, data.clone())),
        Err(DecodeError::WrongSize { .. })
    ));
    let mut relabelled = data;
    relabelled[0] ^= 0xff;
    assert!(matches!(
        view::<Obligation>(&program, &key, &acc(program, relabelled)),
        Err(DecodeError::WrongDiscriminator { .. })
    ));
}
