//! klend's arithmetic against values worked out independently: fixed-point percentages, the
//! borrow-rate curve, compounded interest, and an obligation refreshed from a real reserve.

use std::collections::BTreeMap;

use bytemuck::Zeroable;
use unimargin_kamino::{
    decode::view_data,
    fraction::{Fraction, from_percent},
    layout::{BorrowRateCurve, LendingMarket, Obligation, Reserve},
    obligation::{PricedReserve, refresh},
    pod::{Key, U32},
    reserve::{ReserveAt, borrow_rate, compounded_interest},
};
use unimargin_sdk::solana::Pubkey;

use crate::support;

fn f(x: Fraction) -> f64 {
    x.to_num::<f64>()
}

#[test]
fn percentages_are_exact_where_binary_allows() {
    // 75 % of 1000 is 750 exactly: 0.75 = 3/4 has a finite binary expansion.
    assert_eq!(
        Fraction::from_num(1000) * from_percent(75),
        Fraction::from_num(750)
    );
    // 74 % is not: floor(74 × 2^60 / 100) / 2^60, within 2^-60 of 0.74.
    assert!((f(from_percent(74)) - 0.74).abs() < 1e-15);
}

#[test]
fn borrow_rate_interpolates_the_curve() {
    // USDC's curve: (0 %, 0 bps), (95 %, 475 bps), (100 %, 3000 bps).
    let mut curve = BorrowRateCurve::zeroed();
    let pts = [(0, 0), (9500, 475), (10000, 3000)];
    for (i, p) in curve.points.iter_mut().enumerate() {
        let (u, r) = pts[i.min(2)];
        p.utilization_rate_bps = U32::new(u);
        p.borrow_rate_bps = U32::new(r);
    }
    // At 50 %: 0.5 × 475 / 9500 = 0.025.
    let r = borrow_rate(&curve, Fraction::from_num(1) / 2).expect("rate");
    assert!((f(r) - 0.025).abs() < 1e-12, "{r}");
    // At 97.5 %: 0.0475 + (0.975 − 0.95) × (3000 − 475) / 500 = 0.0475 + 0.12625 = 0.17375.
    let r = borrow_rate(&curve, Fraction::from_num(39) / 40).expect("rate");
    assert!((f(r) - 0.17375).abs() < 1e-12, "{r}");
    // Above 100 % the curve's end applies.
    assert_eq!(
        borrow_rate(&curve, Fraction::from_num(2)).expect("rate"),
        Fraction::from_num(3) / 10
    );
}

#[test]
fn compounded_interest_is_the_third_order_expansion() {
    // 10 % for a year of slots, in klend's 60-bit fixed point (n = 63_072_000):
    // b = ⌊⌊2^60 / 10⌋ / n⌋, b² = ⌊b·b / 2^60⌋, b³ = ⌊b²·b / 2^60⌋ (b ≈ 1.6e-9, so b² keeps only
    // two or three units of 2^-60 and b³ none: klend's own truncation, which makes a year at 10 %
    // compound to ≈ 1.1034 rather than the expansion's 1.10517);
    // 1 + n·b + ⌊b²·n(n−1) / 2⌋ + ⌊b³·n(n−1)(n−2) / 6⌋.
    let n: u128 = 63_072_000;
    let one: u128 = 1 << 60;
    let b = one / 10 / n;
    let b2 = (b * b) >> 60;
    let b3 = (b2 * b) >> 60;
    let expected = one + b * n + b2 * n * (n - 1) / 2 + b3 * n * (n - 1) * (n - 2) / 6;
    let c = compounded_interest(Fraction::from_num(1) / 10, 63_072_000).expect("interest");
    assert_eq!(c.to_bits(), expected);
    assert!((f(c) - 1.1034).abs() < 1e-4, "{c}");
    // One slot: exactly 1 + b.
    let c = compounded_interest(Fraction::from_num(1) / 10, 1).expect("interest");
    assert_eq!(
        c,
        Fraction::ONE + (Fraction::from_num(1) / 10) / 63_072_000u128
    );
}

#[test]
fn an_obligation_refreshes_from_a_real_reserve() {
    let Some(dir) = support::vectors("an_obligation_refreshes_from_a_real_reserve") else {
        return;
    };
    let (_, _, odata) =
        support::load_json(&dir.join("solana/kamino/from_marginfi-v2/kamino_usdc_obligation.json"));
    let (rkey, _, rdata) =
        support::load_json(&dir.join("solana/kamino/from_marginfi-v2/kamino_usdc_reserve.json"));
    let k = Pubkey::default();
    let ob: &Obligation = view_data(&k, &odata).expect("obligation");
    let reserve: &Reserve = view_data(&k, &rdata).expect("reserve");
    let market = LendingMarket::zeroed();
    let mut market = market;
    market.global_allowed_borrow_value = unimargin_kamino::pod::U64::new(u64::MAX);
    let at = ReserveAt::stored(reserve).expect("reserve");
    let price = unimargin_kamino::fraction::sf(reserve.liquidity.market_price_sf.get());
    let key = Key(rkey.parse::<Pubkey>().expect("key").to_bytes());
    let reserves = BTreeMap::from([(key, PricedReserve { reserve, at, price })]);
    let r = refresh(ob, &market, &reserves).expect("refresh");

    // Independently, in floating point:
    // total supply = 129_639_221_256_987 + 528_226…943 / 2^60 − 336_456…074 / 2^60 (USDC base units);
    // 163_105_714_338 cTokens × total supply / 505_501_704_354_504 cTokens → USDC base units;
    // × price 1_152_795_282_760_522_618 / 2^60 ≈ $0.99988 / 1e6 → USD.
    let two60 = 2f64.powi(60);
    let supply = 129_639_221_256_987f64 + 528_226_314_842_391_338_395_768_829_705_943f64 / two60
        - 336_456_479_477_979_253_467_185_780_074f64 / two60;
    let liquidity = 163_105_714_338f64 * supply / 505_501_704_354_504f64;
    let value = liquidity * (1_152_795_282_760_522_618f64 / two60) / 1e6;
    assert!(
        (f(r.deposited_value) - value).abs() / value < 1e-12,
        "{} vs {value}",
        r.deposited_value
    );
    // USDC: LTV 80 %, liquidation threshold 90 %.
    assert!((f(r.allowed_borrow_value) - 0.8 * value).abs() / value < 1e-12);
    assert!((f(r.unhealthy_borrow_value) - 0.9 * value).abs() / value < 1e-12);
    assert_eq!(r.borrow_factor_adjusted_debt_value, Fraction::ZERO);
    assert!(!r.is_liquidatable());
    // The obligation stored $175_536.77 at its last refresh (slot 377_501_284); the reserve is
    // 221_807 slots later, so the recomputed value differs.
    assert!(f(r.deposited_value) > 189_546.0 && f(r.deposited_value) < 189_547.0);
}

fn reserve(ltv: u8, threshold: u8, borrow_factor_pct: u64, groups: &[u8]) -> Reserve {
    let mut r = Reserve::zeroed();
    r.config.loan_to_value_pct = ltv;
    r.config.liquidation_threshold_pct = threshold;
    r.config.borrow_factor_pct = unimargin_kamino::pod::U64::new(borrow_factor_pct);
    r.config.elevation_groups[..groups.len()].copy_from_slice(groups);
    r.liquidity.cumulative_borrow_rate_bsf.value[0] = unimargin_kamino::pod::U64::new(1 << 60);
    r
}

#[test]
fn elevation_groups_replace_ltv_threshold_and_borrow_factor() {
    // Group 2: LTV 87 %, liquidation threshold 92 %.
    let mut market = LendingMarket::zeroed();
    market.global_allowed_borrow_value = unimargin_kamino::pod::U64::new(u64::MAX);
    market.elevation_groups[1].id = 2;
    market.elevation_groups[1].ltv_pct = 87;
    market.elevation_groups[1].liquidation_threshold_pct = 92;
    // Collateral: LTV 74 %, threshold 75 %; debt: borrow factor 150 %. Both in group 2. Empty
    // reserves: one cToken per token; decimals 0 and price $1, so values are token counts.
    let coll = reserve(74, 75, 100, &[2]);
    let debt = reserve(0, 0, 150, &[2]);
    let (kc, kd) = (Key([1; 32]), Key([2; 32]));
    fn priced(r: &Reserve) -> PricedReserve<'_> {
        PricedReserve {
            reserve: r,
            at: ReserveAt::stored(r).expect("at"),
            price: Fraction::ONE,
        }
    }
    let reserves = BTreeMap::from([(kc, priced(&coll)), (kd, priced(&debt))]);
    let mut ob = Obligation::zeroed();
    ob.deposits[0].deposit_reserve = kc;
    ob.deposits[0].deposited_amount = unimargin_kamino::pod::U64::new(1000);
    ob.borrows[0].borrow_reserve = kd;
    ob.borrows[0].borrowed_amount_sf = unimargin_kamino::pod::U128::new(500 << 60);
    ob.borrows[0].cumulative_borrow_rate_bsf.value[0] = unimargin_kamino::pod::U64::new(1 << 60);

    // Outside any group: allowed 1000 × 74 % = 740, liquidation limit 750, debt 500 × 1.5 = 750:
    // at the limit, so liquidatable.
    let r = refresh(&ob, &market, &reserves).expect("refresh");
    assert_eq!(f(r.deposited_value), 1000.0);
    assert!((f(r.allowed_borrow_value) - 740.0).abs() < 1e-12);
    assert!((f(r.unhealthy_borrow_value) - 750.0).abs() < 1e-12);
    assert_eq!(f(r.borrow_factor_adjusted_debt_value), 750.0);
    // 74 % and 75 % are not exact binary fractions: the limit lands a hair under 750.
    assert!(r.is_liquidatable());

    // In group 2: 1000 × 87 % = 870, 1000 × 92 % = 920, borrow factor 1: debt 500. Healthy.
    ob.elevation_group = 2;
    let r = refresh(&ob, &market, &reserves).expect("refresh");
    assert!((f(r.allowed_borrow_value) - 870.0).abs() < 1e-12);
    assert!((f(r.unhealthy_borrow_value) - 920.0).abs() < 1e-12);
    assert_eq!(f(r.borrow_factor_adjusted_debt_value), 500.0);
    assert!(!r.is_liquidatable());

    // A reserve outside the obligation's group is klend's `InconsistentElevationGroup`.
    let outsider = reserve(74, 75, 150, &[]);
    let reserves = BTreeMap::from([(kc, priced(&coll)), (kd, priced(&outsider))]);
    assert!(matches!(
        refresh(&ob, &market, &reserves),
        Err(
            unimargin_kamino::obligation::RefreshError::InconsistentElevationGroup { group: 2, .. }
        )
    ));
    // An unconfigured group is refused too.
    ob.elevation_group = 9;
    assert!(refresh(&ob, &market, &reserves).is_err());
}
