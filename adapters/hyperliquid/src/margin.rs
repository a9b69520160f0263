//! Hyperliquid's margin arithmetic, from its documentation ("Margin tiers", "Liquidations"):
//!
//! * maintenance margin rate of a tier = half the initial margin rate at the tier's maximum
//!   leverage, `mmr(n) = 1 / (2 × max_leverage(n))`;
//! * `maintenance_margin = notional × mmr(tier) − deduction(tier)`, with `deduction(0) = 0` and
//!   `deduction(n) = deduction(n−1) + lower_bound(n) × (mmr(n) − mmr(n−1))`, so the requirement is
//!   continuous in the notional;
//! * margin table ids below 50 are a single tier at that leverage;
//! * `liq_price = price − side × margin_available / |size| / (1 − l × side)` with `l` the
//!   maintenance rate, `side` = 1 for longs and −1 for shorts, and `margin_available` the cross
//!   account value less the cross maintenance margin (cross) or the isolated margin less the
//!   position's maintenance margin (isolated).

use rust_decimal::Decimal;
use unimargin_sdk::{AdapterError, Result};

use crate::api::{MarginTable, PerpAsset};

/// One tier with its derived rate and deduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Notional where the tier starts (USD).
    pub lower_bound: Decimal,
    /// Maximum leverage within the tier.
    pub max_leverage: u32,
    /// `1 / (2 × max_leverage)`.
    pub maintenance_rate: Decimal,
    /// Keeps the requirement continuous across tiers.
    pub deduction: Decimal,
}

/// The tiers of one asset, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiers(Vec<Tier>);

impl Tiers {
    /// The tiers of `asset`: its margin table, a single tier when the table id is below 50 (the
    /// documented shorthand), or a single tier at the asset's maximum leverage when it names no
    /// table.
    pub fn for_asset(asset: &PerpAsset, tables: &[(u32, MarginTable)]) -> Result<Self> {
        let single = |leverage: u32| vec![(Decimal::ZERO, leverage)];
        let raw: Vec<(Decimal, u32)> = match asset.margin_table_id {
            None => single(asset.max_leverage),
            Some(id) if id < 50 => single(id),
            Some(id) => {
                let table = tables
                    .iter()
                    .find(|(t, _)| *t == id)
                    .map(|(_, t)| t)
                    .ok_or_else(|| {
                        AdapterError::malformed(
                            format!("meta for {}", asset.name),
                            format!("margin table {id} is not in `marginTables`"),
                        )
                    })?;
                table
                    .margin_tiers
                    .iter()
                    .map(|t| (t.lower_bound, t.max_leverage))
                    .collect()
            }
        };
        Self::from_bounds(&asset.name, &raw)
    }

    /// Tiers from `(lower_bound, max_leverage)` pairs.
    pub fn from_bounds(coin: &str, raw: &[(Decimal, u32)]) -> Result<Self> {
        let bad = |why: &str| AdapterError::malformed(format!("margin tiers of {coin}"), why);
        if raw.is_empty() {
            return Err(bad("no tiers"));
        }
        let mut tiers: Vec<Tier> = Vec::with_capacity(raw.len());
        for &(lower_bound, max_leverage) in raw {
            if max_leverage == 0 {
                return Err(bad("a tier has maximum leverage 0"));
            }
            let maintenance_rate = Decimal::ONE / Decimal::from(2 * u64::from(max_leverage));
            let deduction = match tiers.last() {
                None => Decimal::ZERO,
                Some(prev) => {
                    if lower_bound <= prev.lower_bound {
                        return Err(bad("tiers are not in ascending order"));
                    }
                    prev.deduction + lower_bound * (maintenance_rate - prev.maintenance_rate)
                }
            };
            tiers.push(Tier {
                lower_bound,
                max_leverage,
                maintenance_rate,
                deduction,
            });
        }
        if tiers[0].lower_bound != Decimal::ZERO {
            return Err(bad("the first tier does not start at 0"));
        }
        Ok(Self(tiers))
    }

    /// The tier a notional falls in (the last whose lower bound it reaches).
    pub fn tier(&self, notional: Decimal) -> Tier {
        // `from_bounds` guarantees a first tier starting at 0.
        self.0
            .iter()
            .rev()
            .find(|t| notional >= t.lower_bound)
            .copied()
            .unwrap_or(self.0[0])
    }

    /// `notional × mmr(tier) − deduction(tier)`.
    pub fn maintenance_margin(&self, notional: Decimal) -> Decimal {
        let t = self.tier(notional);
        notional * t.maintenance_rate - t.deduction
    }
}

/// The documented liquidation price, or `None` when it would not be positive (a long that
/// cannot be liquidated). `size` is signed.
pub fn liquidation_price(
    price: Decimal,
    size: Decimal,
    margin_available: Decimal,
    maintenance_rate: Decimal,
) -> Option<Decimal> {
    if size.is_zero() {
        return None;
    }
    let side = if size.is_sign_positive() {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    let denominator = Decimal::ONE - maintenance_rate * side;
    if denominator <= Decimal::ZERO {
        return None;
    }
    let liq = price - side * margin_available / size.abs() / denominator;
    (liq > Decimal::ZERO).then_some(liq)
}

/// `numerator / denominator` rounded up in the last digit, so a weight derived from a
/// requirement never understates it. `None` for a zero denominator.
pub fn ratio_up(numerator: Decimal, denominator: Decimal) -> Option<Decimal> {
    let q = numerator.checked_div(denominator)?;
    match q.checked_mul(denominator) {
        Some(back) if back < numerator => {
            let ulp = Decimal::new(1, q.scale());
            q.checked_add(ulp)
        }
        _ => Some(q),
    }
}

/// Agreement of a USD figure at the venue's printed precision: within one millionth of a dollar
/// per position that went into it, because the venue rounds what it prints to 6 decimals.
pub fn usd_agrees(ours: Decimal, venue: Decimal, terms: usize) -> bool {
    let tolerance = Decimal::new(1, 6) * Decimal::from(terms.max(1));
    (ours - venue).abs() <= tolerance
}

/// Agreement of a price: within one millionth of it (the venue prints liquidation prices to about
/// ten significant digits).
pub fn price_agrees(ours: Decimal, venue: Decimal) -> bool {
    (ours - venue).abs() <= (venue.abs() * Decimal::new(1, 6)).max(Decimal::new(1, 8))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn tiers_follow_the_documented_deduction() {
        // Testnet DOGE in the docs: 0–20k at 10x, 20k–100k at 5x, above 100k at 3x.
        let tiers =
            Tiers::from_bounds("DOGE", &[(d("0"), 10), (d("20000"), 5), (d("100000"), 3)]).unwrap();
        // mmr: 1/20 = 0.05, 1/10 = 0.1, 1/6.
        // deduction(1) = 20000 × (0.1 − 0.05) = 1000.
        assert_eq!(tiers.tier(d("50000")).deduction, d("1000"));
        // At 50k: 50000 × 0.1 − 1000 = 4000; continuous at 20k: 20000 × 0.05 = 1000 = 20000 × 0.1 − 1000.
        assert_eq!(tiers.maintenance_margin(d("50000")), d("4000"));
        assert_eq!(tiers.maintenance_margin(d("20000")), d("1000"));
        // deduction(2) = 1000 + 100000 × (1/6 − 0.1) = 1000 + 6666.67 = 7666.67; at 100k the
        // requirement is still 100000 × 0.1 − 1000 = 9000.
        let at_100k = tiers.maintenance_margin(d("100000"));
        assert!(
            (at_100k - d("9000")).abs() < d("0.000000000001"),
            "{at_100k}"
        );
    }

    #[test]
    fn table_ids_below_50_are_a_single_tier() {
        let asset = PerpAsset {
            name: "X".into(),
            sz_decimals: 0,
            max_leverage: 3,
            margin_table_id: Some(20),
            only_isolated: false,
            is_delisted: false,
        };
        let tiers = Tiers::for_asset(&asset, &[]).unwrap();
        assert_eq!(tiers.tier(d("1000000")).max_leverage, 20);
    }

    #[test]
    fn liquidation_price_of_the_documented_formula() {
        // Long 2 at mark 37.826, 10x max leverage (l = 0.05), isolated margin 7.525754:
        // available = 7.525754 − 75.652 × 0.05 = 3.743154; liq = 37.826 − 3.743154 / 2 / 0.95.
        let liq = liquidation_price(d("37.826"), d("2"), d("3.743154"), d("0.05")).unwrap();
        assert!(price_agrees(liq, d("35.8559189474")), "{liq}");
        // A short 1 at 100 with 10 available and l = 0.01: 100 + 10 / 1 / 1.01.
        let liq = liquidation_price(d("100"), d("-1"), d("10"), d("0.01")).unwrap();
        assert_eq!(liq, d("100") + d("10") / d("1.01"));
        // A long whose available margin exceeds its value cannot be liquidated.
        assert_eq!(
            liquidation_price(d("10"), d("1"), d("100"), d("0.05")),
            None
        );
    }

    #[test]
    fn ratio_up_never_understates() {
        let w = ratio_up(d("1"), d("3")).unwrap();
        assert!(w * d("3") >= d("1"));
        assert_eq!(ratio_up(d("1"), d("4")), Some(d("0.25")));
        assert_eq!(ratio_up(d("1"), Decimal::ZERO), None);
    }
}
