//! Drift's margin arithmetic against values worked out by hand from the program's formulas
//! (`math/margin.rs`, `math/spot_balance.rs`, `state/spot_market.rs`, `state/perp_market.rs`) and
//! from the SDK's `getHealth` / `liquidationPrice`.

use bytemuck::Zeroable;
use unimargin_drift::{
    decode::view_data,
    layout::{PerpMarket, PerpPosition, SpotMarket, User},
    math::{
        MarginType, health,
        margin::{self, Markets},
        perp, spot,
    },
    oracle,
    pod::{I64, I128, U32},
    types::OracleSource,
};
use unimargin_sdk::solana::{Pubkey, oracle::pyth::decode_price_update_v2_data};

use crate::support;

#[test]
fn size_premium_and_discount_follow_imf_factor() {
    // SOL-like spot market: initial liability 1.2, imf_factor 1250 (SPOT_IMF_PRECISION 1e6).
    // 100 SOL = 100e9 in AMM precision: sqrt(100e9 × 10 + 1) = 1_000_000;
    // premium = (12000 − 12000/5) + 1_000_000 × 1250 / (100_000 × 1e6 / 1e4) = 9600 + 125 = 9725,
    // below the configured 12000, which therefore stands.
    assert_eq!(
        spot::size_premium_liability_weight(100_000_000_000, 1250, 12_000, 10_000),
        Ok(12_000)
    );
    // 1M SOL = 1e15: sqrt(1e16 + 1) = 1e8; 9600 + 1e8 × 1250 / 1e7 = 9600 + 12_500 = 22_100.
    assert_eq!(
        spot::size_premium_liability_weight(1_000_000_000_000_000, 1250, 12_000, 10_000),
        Ok(22_100)
    );
    // Asset side, 1M SOL at 0.8: 1.1e6 × 1e4 / (1e6 + 1e8 × 1250 / 1e5) = 1.1e10 / 2.25e6 = 4888.9 → 4888.
    assert_eq!(
        spot::size_discount_asset_weight(1_000_000_000_000_000, 1250, 8_000),
        Ok(4_888)
    );
    // Without imf_factor the weights are the configured ones.
    assert_eq!(
        spot::size_discount_asset_weight(1_000_000_000_000_000, 0, 8_000),
        Ok(8_000)
    );
}

#[test]
fn token_amounts_round_against_the_account() {
    let mut m = SpotMarket::zeroed();
    m.decimals = U32::new(9);
    m.cumulative_deposit_interest = unimargin_drift::pod::U128::new(10_367_196_911);
    m.cumulative_borrow_interest = unimargin_drift::pod::U128::new(11_038_688_574);
    // Deposit: 5706 × 10_367_196_911 / 10^(19 − 9) = 5915.52… → 5915 (down).
    assert_eq!(
        spot::token_amount(5706, &m, unimargin_drift::types::SpotBalanceType::Deposit),
        Ok(5915)
    );
    // Borrow: 5706 × 11_038_688_574 / 1e10 = 6298.67… → 6299 (up).
    assert_eq!(
        spot::token_amount(5706, &m, unimargin_drift::types::SpotBalanceType::Borrow),
        Ok(6299)
    );
    // Value of −1 satoshi at $96_759.649781: −96_759_649_781 / 1e8 = −967.59… → −967 (towards 0).
    assert_eq!(spot::token_value(-1, 8, 96_759_649_781), Ok(-967));
}

fn perp_market(initial: u32, maintenance: u32, imf: u32) -> PerpMarket {
    let mut m = PerpMarket::zeroed();
    m.margin_ratio_initial = U32::new(initial);
    m.margin_ratio_maintenance = U32::new(maintenance);
    m.imf_factor = U32::new(imf);
    m.unrealized_pnl_initial_asset_weight = U32::new(10_000);
    m.unrealized_pnl_maintenance_asset_weight = U32::new(10_000);
    m.status = 1; // Active
    m
}

#[test]
fn perp_pnl_funding_and_requirement() {
    let mut market = perp_market(1000, 500, 0);
    market.amm.cumulative_funding_rate_long = I128::new(5_000_000);
    let mut p = PerpPosition::zeroed();
    p.base_asset_amount = I64::new(1_500_000_000); // 1.5 long
    p.quote_asset_amount = I64::new(-200_000_000); // paid $200
    p.last_cumulative_funding_rate = I64::new(2_000_000);
    p.open_bids = I64::new(500_000_000); // 0.5 more to buy
    // Funding: Δ = 5e6 − 2e6 = 3e6; 3e6 × 1.5e9 / 1e9 / 1e3 = 4500; a long pays: −4500.
    assert_eq!(perp::funding_payment(&p, &market), Ok(-4_500));
    // At $150: value 1.5e9 × 150e6 / 1e9 = 225e6; PnL 225e6 − 200e6 = 25e6.
    assert_eq!(
        perp::base_value_and_pnl(1_500_000_000, -200_000_000, 150_000_000),
        Ok((225_000_000, 25_000_000))
    );
    let quote = spot::StrictPrice::standard(1_000_000);
    let line = margin::perp_line(
        &p,
        &market,
        150_000_000,
        &quote,
        MarginType::Maintenance,
        0,
        false,
    )
    .expect("line");
    // Worst case: all bids fill → 2.0 long; liability 2e9 × 150e6 / 1e9 = 300e6;
    // requirement 300e6 × 500 / 1e4 = 15e6; PnL with funding 25e6 − 4500.
    assert_eq!(line.worst_case_base, 2_000_000_000);
    assert_eq!(line.worst_case_liability, 300_000_000);
    assert_eq!(line.margin_requirement, 15_000_000);
    assert_eq!(line.weighted_pnl, 24_995_500);
    // Initial: 10 % of 300e6 = 30e6, and positive PnL capped at $100 (1e8) — 24.9955e6 is below.
    let line = margin::perp_line(
        &p,
        &market,
        150_000_000,
        &quote,
        MarginType::Initial,
        0,
        false,
    )
    .expect("line");
    assert_eq!(line.margin_requirement, 30_000_000);
    assert_eq!(line.weighted_pnl, 24_995_500);
    // At $300 the profit is 1.5 × 300 − 200 = $250 (− funding): initial counts at most $100.
    let line = margin::perp_line(
        &p,
        &market,
        300_000_000,
        &quote,
        MarginType::Initial,
        0,
        false,
    )
    .expect("line");
    assert_eq!(line.unrealized_pnl, 249_995_500);
    assert_eq!(line.weighted_pnl, 100_000_000);
    // A short: open asks −0.5 make the worst case −2.0 as well.
    p.base_asset_amount = I64::new(-1_500_000_000);
    p.quote_asset_amount = I64::new(200_000_000);
    p.open_bids = I64::new(0);
    p.open_asks = I64::new(-500_000_000);
    p.last_cumulative_funding_rate = I64::new(0);
    let line = margin::perp_line(
        &p,
        &market,
        150_000_000,
        &quote,
        MarginType::Maintenance,
        0,
        false,
    )
    .expect("line");
    // Short PnL: −1.5 × 150 + 200 = −25 → −25e6; requirement 2 × 150 × 5 % = 15e6.
    assert_eq!(line.worst_case_base, -2_000_000_000);
    assert_eq!(line.unrealized_pnl, -25_000_000);
    assert_eq!(line.margin_requirement, 15_000_000);
}

#[test]
fn perp_margin_ratio_grows_with_size() {
    // BTC-like: maintenance 300, imf 4000. 1000 BTC = 1e12: sqrt(1e13 + 1) = 3_162_277;
    // 300 − 60 + 3_162_277 × 4000 / (100_000 × 1e6 / 1e4) = 240 + 1264 = 1504 (> 300).
    let m = perp_market(500, 300, 4000);
    assert_eq!(
        perp::margin_ratio(&m, 1_000_000_000_000, MarginType::Maintenance, false),
        Ok(1504)
    );
    assert_eq!(
        perp::margin_ratio(&m, 1_000_000_000, MarginType::Maintenance, false),
        Ok(300)
    );
}

#[test]
fn health_is_drift_sdk_get_health() {
    // 100 × (1 − 250/1000) = 75.
    assert_eq!(health::health(1000, 250, false), 75);
    // 100 × (1 − 255/1000) = 74.5 → Math.round → 75; 256 → 74.4 → 74.
    assert_eq!(health::health(1000, 255, false), 75);
    assert_eq!(health::health(1000, 256, false), 74);
    assert_eq!(health::health(1000, 0, false), 100);
    assert_eq!(health::health(-5, 10, false), 0);
    assert_eq!(health::health(1000, 250, true), 0);
}

#[test]
fn liquidation_price_is_drift_sdk_liquidation_price() {
    let m = perp_market(1000, 500, 0);
    // Long 1 at $100 with $45 of free collateral: each $1 down costs 1 × (1 − 0.05) = $0.95;
    // Δprice = 45e6 × 1e6 / 950_000 = 47_368_421 → liquidation at 100e6 − 47_368_421 = 52_631_579.
    assert_eq!(
        health::liquidation_price(&m, 1_000_000_000, 100_000_000, 45_000_000, false),
        Ok(Some(52_631_579))
    );
    // Short 1: each $1 up costs 1.05: 45e6 × 1e6 / −1_050_000 = −42_857_142 (towards 0) → 142_857_142.
    assert_eq!(
        health::liquidation_price(&m, -1_000_000_000, 100_000_000, 45_000_000, false),
        Ok(Some(142_857_142))
    );
    // A long that more free collateral than its notional protects has no liquidation price.
    assert_eq!(
        health::liquidation_price(&m, 1_000_000_000, 100_000_000, 200_000_000, false),
        Ok(None)
    );
}

/// The "liquidate_dust_spot_market" accounts of Drift's own tests (mainnet, slot 308 728 664):
/// a user being liquidated with 5706 scaled SOL deposited and 2 scaled wBTC borrowed.
pub(crate) struct DustScenario {
    pub user: Vec<u8>,
    pub usdc: Vec<u8>,
    pub sol: Vec<u8>,
    pub wbtc: Vec<u8>,
    pub oracle_usdc: Vec<u8>,
    pub oracle_sol: Vec<u8>,
    pub oracle_wbtc: Vec<u8>,
}

pub(crate) const DUST_SLOT: u64 = 308_728_664;
pub(crate) const DUST_NOW: i64 = 1_734_721_516;

pub(crate) fn dust(dir: &std::path::Path) -> DustScenario {
    let d = dir.join("solana/drift");
    let o = d.join("oracle/pyth_pull_price_update_v2");
    DustScenario {
        user: support::load(
            &d.join("user/user_4U5qwCPc3fVfNjFpoLnBjtDNgbcyStpjmGuQiVgPQfdE_ee0f4ee7.b64"),
        ),
        usdc: support::load(&d.join("spot_market/spot_market_0_USDC_05d9e517.b64")),
        sol: support::load(&d.join("spot_market/spot_market_1_SOL_0c0eebd2.b64")),
        wbtc: support::load(&d.join("spot_market/spot_market_3_wBTC_8c4cc792.b64")),
        oracle_wbtc: support::load(
            &o.join("price_update_v2_c9d8b075a5c6_t1734721494_1fd1aafc.b64"),
        ),
        oracle_usdc: support::load(
            &o.join("price_update_v2_eaa020c61cc4_t1734721494_b58ef61d.b64"),
        ),
        oracle_sol: support::load(&o.join("price_update_v2_ef0d8b6fda2c_t1734721506_14b63ab2.b64")),
    }
}

#[test]
fn mainnet_user_being_liquidated_reproduces_by_hand() {
    let Some(dir) = support::vectors("mainnet_user_being_liquidated_reproduces_by_hand") else {
        return;
    };
    let s = dust(&dir);
    let k = Pubkey::default();
    let user: &User = view_data(&k, &s.user).expect("user");
    let usdc: &SpotMarket = view_data(&k, &s.usdc).expect("usdc");
    let sol: &SpotMarket = view_data(&k, &s.sol).expect("sol");
    let wbtc: &SpotMarket = view_data(&k, &s.wbtc).expect("wbtc");
    let price = |data: &[u8], source| {
        let q = decode_price_update_v2_data(&k, data)
            .expect("price update")
            .quote(k);
        oracle::from_quote(&q, source, DUST_SLOT)
            .expect("price")
            .price
    };
    // Pyth: 19_099_718_744e-8 → 1e6 precision: / 100 = 190_997_187 (truncated).
    assert_eq!(price(&s.oracle_sol, OracleSource::PythPull), 190_997_187);
    // 9_675_964_978_194e-8 / 100 = 96_759_649_781.
    assert_eq!(
        price(&s.oracle_wbtc, OracleSource::PythPull),
        96_759_649_781
    );
    // USDC 99_999_715e-8 → 999_997, within min(5 bps, conf) of $1 → pinned to 1_000_000.
    assert_eq!(
        price(&s.oracle_usdc, OracleSource::PythStableCoinPull),
        1_000_000
    );

    let mut markets = Markets::default();
    markets.spot.insert(0, (usdc, 1_000_000));
    markets.spot.insert(1, (sol, 190_997_187));
    markets.spot.insert(3, (wbtc, 96_759_649_781));

    let m = margin::calculate(user, &markets, MarginType::Maintenance).expect("maintenance");
    // SOL: 5706 × 10_367_196_911 / 1e10 = 5915 lamports; 5915 × 190_997_187 / 1e9 = 1129;
    //      maintenance asset weight 9000 (the size discount, 1.1e10 / (1e6 + 243 × 1250 / 1e5) =
    //      10_999, does not bind); 1129 × 9000 / 1e4 = 1016.
    // wBTC: ceil(2 × 10_156_806_173 / 1e11) = 1 sat; −1 × 96_759_649_781 / 1e8 = −967;
    //      maintenance liability weight 11000; −967 × 11000 / 1e4 = −1063.7 → −1063.
    assert_eq!(m.total_collateral, 1016);
    assert_eq!(m.margin_requirement, 1063);
    assert!(!m.meets_margin_requirement());

    let i = margin::calculate(user, &markets, MarginType::Initial).expect("initial");
    // The user's own max margin ratio 2000 caps asset weights at 1 − 0.2 = 8000 and lifts
    // liability weights to 1.2 = 12000. SOL deposits are worth
    // 408_906_693_418_519 × 10_367_196_911 / 1e10 × 190.997187 ≈ $81M, below the $180M scale
    // start, so the initial weight is the configured 8000: 1129 × 8000 / 1e4 = 903.
    // wBTC: −967 × 12000 / 1e4 = −1160.4 → −1160.
    assert_eq!(i.total_collateral, 903);
    assert_eq!(i.margin_requirement, 1160);
    // Being liquidated (status bit 1): Drift's SDK shows health 0.
    assert_eq!(user.status & 1, 1);
    assert_eq!(
        health::health(m.total_collateral, m.margin_requirement, true),
        0
    );
    // Were it not, 100 × (1 − 1063/1016) < 0 → 0 as well.
    assert_eq!(
        health::health(m.total_collateral, m.margin_requirement, false),
        0
    );
}
