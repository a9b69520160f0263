//! Decode time per account: checks (size, discriminator) plus the zero-copy view, for each Drift
//! account type, on real mainnet accounts when `UNIMARGIN_TEST_VECTORS` is set and on zeroed
//! accounts of the right size otherwise; and one maintenance margin calculation.

// criterion's macros generate undocumented public items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use unimargin_drift::{
    decode::view_data,
    layout::{AnchorAccount, PerpMarket, SpotMarket, User},
    math::{MarginType, margin},
};
use unimargin_sdk::solana::Pubkey;

fn load(rel: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let dir = std::env::var_os("UNIMARGIN_TEST_VECTORS")?;
    let text =
        std::fs::read_to_string(std::path::Path::new(&dir).join("solana/drift").join(rel)).ok()?;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

fn account<T: AnchorAccount>(rel: &str) -> Vec<u8> {
    load(rel).unwrap_or_else(|| {
        let mut data = vec![0u8; T::SIZE];
        data[..8].copy_from_slice(&T::DISCRIMINATOR);
        data
    })
}

fn bench(c: &mut Criterion) {
    let key = Pubkey::default();
    let user =
        account::<User>("user/user_4U5qwCPc3fVfNjFpoLnBjtDNgbcyStpjmGuQiVgPQfdE_ee0f4ee7.b64");
    let sol = account::<SpotMarket>("spot_market/spot_market_1_SOL_0c0eebd2.b64");
    let wbtc = account::<SpotMarket>("spot_market/spot_market_3_wBTC_8c4cc792.b64");
    let usdc = account::<SpotMarket>("spot_market/spot_market_0_USDC_05d9e517.b64");
    let perp = account::<PerpMarket>("perp_market/perp_market_0_SOL-PERP_66cc4cae.b64");
    c.bench_function("drift decode User (4376 B)", |b| {
        b.iter(|| {
            black_box(view_data::<User>(&key, black_box(&user)).map(|u| u.sub_account_id.get()))
        })
    });
    c.bench_function("drift decode SpotMarket (776 B)", |b| {
        b.iter(|| {
            black_box(view_data::<SpotMarket>(&key, black_box(&sol)).map(|m| m.market_index.get()))
        })
    });
    c.bench_function("drift decode PerpMarket (1216 B)", |b| {
        b.iter(|| {
            black_box(view_data::<PerpMarket>(&key, black_box(&perp)).map(|m| m.market_index.get()))
        })
    });
    let (Ok(u), Ok(m0), Ok(m1), Ok(m3)) = (
        view_data::<User>(&key, &user),
        view_data::<SpotMarket>(&key, &usdc),
        view_data::<SpotMarket>(&key, &sol),
        view_data::<SpotMarket>(&key, &wbtc),
    ) else {
        return;
    };
    let mut markets = margin::Markets::default();
    markets.spot.insert(0, (m0, 1_000_000));
    markets.spot.insert(1, (m1, 190_997_187));
    markets.spot.insert(3, (m3, 96_759_649_781));
    c.bench_function("drift maintenance margin of one user", |b| {
        b.iter(|| {
            black_box(
                margin::calculate(black_box(u), &markets, MarginType::Maintenance)
                    .map(|m| m.total_collateral),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
