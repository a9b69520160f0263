//! Decode time per account: checks (size, discriminator) plus the zero-copy view, for each
//! Kamino account type, on real mainnet accounts when `UNIMARGIN_TEST_VECTORS` is set and on
//! zeroed accounts of the right size otherwise; and one obligation refresh.

// criterion's macros generate undocumented public items.
#![allow(missing_docs)]

use std::{collections::BTreeMap, hint::black_box};

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use unimargin_kamino::{
    decode::view_data,
    layout::{AnchorAccount, LendingMarket, Obligation, OraclePrices, Reserve},
    obligation::{PricedReserve, refresh},
    pod::Key,
    reserve::ReserveAt,
};
use unimargin_sdk::solana::{Pubkey, decode::anchor_discriminator};

fn load(rel: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os("UNIMARGIN_TEST_VECTORS")?;
    let text =
        std::fs::read_to_string(std::path::Path::new(&dir).join("solana/kamino").join(rel)).ok()?;
    if rel.ends_with(".json") {
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        base64::engine::general_purpose::STANDARD
            .decode(v["account"]["data"][0].as_str()?)
            .ok()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
    }
}

fn account<T: AnchorAccount>(rel: &str) -> Vec<u8> {
    load(rel).unwrap_or_else(|| {
        let mut data = vec![0u8; T::SIZE];
        data[..8].copy_from_slice(&anchor_discriminator(T::NAME));
        data
    })
}

fn bench(c: &mut Criterion) {
    let key = Pubkey::default();
    let ob = account::<Obligation>("from_marginfi-v2/kamino_usdc_obligation.json");
    let reserve = account::<Reserve>("from_marginfi-v2/kamino_usdc_reserve.json");
    let market = account::<LendingMarket>(
        "from_keel-fi_svm-alm-controller/kamino_main_market@918013d2.json",
    );
    let prices = account::<OraclePrices>(
        "from_keel-fi_svm-alm-controller/kamino_usdc_reserve_scope_config_price_feed@88765f29.json",
    );
    c.bench_function("kamino decode Obligation (3344 B)", |b| {
        b.iter(|| {
            black_box(view_data::<Obligation>(&key, black_box(&ob)).map(|o| o.elevation_group))
        })
    });
    c.bench_function("kamino decode Reserve (8624 B)", |b| {
        b.iter(|| {
            black_box(
                view_data::<Reserve>(&key, black_box(&reserve))
                    .map(|r| r.liquidity.mint_decimals.get()),
            )
        })
    });
    c.bench_function("kamino decode LendingMarket (4664 B)", |b| {
        b.iter(|| {
            black_box(
                view_data::<LendingMarket>(&key, black_box(&market))
                    .map(|m| m.referral_fee_bps.get()),
            )
        })
    });
    c.bench_function("kamino decode Scope OraclePrices (28712 B)", |b| {
        b.iter(|| {
            black_box(
                view_data::<OraclePrices>(&key, black_box(&prices))
                    .map(|p| p.prices[0].price.exp.get()),
            )
        })
    });
    let (Ok(o), Ok(r), Ok(m)) = (
        view_data::<Obligation>(&key, &ob),
        view_data::<Reserve>(&key, &reserve),
        view_data::<LendingMarket>(&key, &market),
    ) else {
        return;
    };
    let Ok(at) = ReserveAt::stored(r) else { return };
    let price = unimargin_kamino::fraction::sf(r.liquidity.market_price_sf.get());
    let reserves: BTreeMap<Key, PricedReserve<'_>> = o
        .deposits
        .iter()
        .filter(|d| !d.deposit_reserve.is_default())
        .map(|d| {
            (
                d.deposit_reserve,
                PricedReserve {
                    reserve: r,
                    at,
                    price,
                },
            )
        })
        .collect();
    c.bench_function("kamino refresh of one obligation", |b| {
        b.iter(|| black_box(refresh(black_box(o), m, &reserves).is_ok()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
