//! Option positions: the inputs of the pricing model, and greeks at the boundary.
//!
//! The underlying price is, in order: the venue's own figure in `native`
//! (`underlying_price`, `index_price`), the profile's price of the underlying asset, or the price
//! of its group's reference asset. Volatility is the venue's implied volatility, else the group's
//! configured volatility. Time runs from the profile's `as_of` (the caller's clock) to expiry.
//! The model is Black-76 with the configured rate; crypto venues quote on an index or a future,
//! and with a zero rate Black-76 and Black-Scholes coincide.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy, prelude::ToPrimitive};
use unimargin_schema::{
    Greeks, OptionKind, OptionValuation, PortfolioGreeks, Position, Side, UnderlyingGreeks,
};

use crate::{
    book::{GroupState, KeyState, OptionLeg},
    fixed,
    model::RiskModel,
    pricing::{ModelInput, Right, black76},
};

/// Seconds in the year of the models (365 days).
pub(crate) const YEAR_SECS: f64 = 365.0 * 86_400.0;

/// `f64` → `Decimal` at the boundary, rounded to `dp` places; `None` for NaN, infinities and
/// magnitudes beyond the decimal range. (An integer conversion: `Decimal::from_f64`'s exact
/// binary expansion costs more than the option model itself.)
pub(crate) fn to_decimal_dp(x: f64, dp: u32) -> Option<Decimal> {
    let scaled = (x * 10f64.powi(i32::try_from(dp).ok()?)).round();
    if !scaled.is_finite() || scaled.abs() >= 7.9e28 {
        return None;
    }
    // `scaled` is integral and within ±2⁹⁶, so the cast is exact.
    Some(Decimal::from_i128_with_scale(scaled as i128, dp))
}

/// [`to_decimal_dp`] to 10 places, normalized, for reported figures.
pub(crate) fn to_decimal(x: f64) -> Option<Decimal> {
    to_decimal_dp(x, 10).map(|d| d.normalize())
}

/// The underlying price of an option position (see the module doc for the order).
pub(crate) fn underlying_price(
    p: &Position,
    key: &KeyState,
    reference: Option<&KeyState>,
) -> Option<Decimal> {
    ["underlying_price", "index_price"]
        .iter()
        .find_map(|k| {
            p.native
                .get(*k)
                .and_then(|s| Decimal::from_str_exact(s).ok())
        })
        .filter(|v| *v > Decimal::ZERO)
        .or_else(|| Some(key.price.reference).filter(|v| *v > Decimal::ZERO))
        .or_else(|| {
            reference
                .map(|r| r.price.reference)
                .filter(|v| *v > Decimal::ZERO)
        })
}

/// Builds the option leg of `p` (market `m`, underlying asset `k`, group `g`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn leg(
    p: &Position,
    m: usize,
    k: usize,
    g: usize,
    underlying: Decimal,
    group_volatility: Decimal,
    model: &RiskModel,
    as_of: DateTime<Utc>,
) -> Option<OptionLeg> {
    let details = p.option.as_ref()?;
    let years = (details.expiry as f64 - as_of.timestamp() as f64) / YEAR_SECS;
    let vol = details
        .implied_vol
        .filter(|v| *v > Decimal::ZERO)
        .unwrap_or(group_volatility);
    let input = ModelInput {
        right: match details.kind {
            OptionKind::Call => Right::Call,
            OptionKind::Put => Right::Put,
        },
        underlying: underlying.to_f64()?,
        strike: details.strike.to_f64()?,
        years: years.max(0.0),
        vol: vol.to_f64()?,
        rate: model.options.rate.to_f64()?,
        carry_yield: 0.0,
    };
    let base = black76(input);
    let weight = match p.side {
        Side::Long => p.counts_as_collateral.then_some(p.weights.maintenance),
        Side::Short => Some(p.weights.maintenance),
    };
    let (value_rounding, weight_rounding) = match p.side {
        Side::Long => (
            RoundingStrategy::ToNegativeInfinity,
            RoundingStrategy::ToNegativeInfinity,
        ),
        Side::Short => (
            RoundingStrategy::ToPositiveInfinity,
            RoundingStrategy::ToPositiveInfinity,
        ),
    };
    Some(OptionLeg {
        weight_fixed: weight.map(|w| fixed::to_fixed(w, fixed::FACTOR, weight_rounding)),
        value_fixed: fixed::to_fixed(p.value_usd, fixed::MONEY, value_rounding),
        market: m,
        key: k,
        group: g,
        instrument: details.instrument.clone(),
        kind: details.kind,
        side: p.side,
        amount: p.amount,
        amount_f64: p.amount.to_f64()?,
        value: p.value_usd,
        weight,
        input,
        base,
        underlying_usd: underlying,
        delta_usd: Decimal::ZERO,
    })
}

/// Position greeks of a leg in the schema's units: delta in underlying units, gamma per USD, vega
/// per volatility point (÷ 100), theta per day (÷ 365), signed by side.
pub(crate) fn position_greeks(leg: &OptionLeg) -> Greeks {
    let n = leg.amount.to_f64().unwrap_or(0.0) * if leg.side == Side::Long { 1.0 } else { -1.0 };
    let g = leg.base;
    let d = |x: f64| to_decimal(x).unwrap_or(Decimal::ZERO);
    Greeks {
        delta: d(n * g.delta),
        gamma: d(n * g.gamma),
        vega: d(n * g.vega / 100.0),
        theta: d(n * g.theta / 365.0),
    }
}

/// Valuations per leg, greeks per underlying and for the portfolio.
pub(crate) fn report(
    legs: &[OptionLeg],
    labels: &[String],
    groups: &[GroupState],
) -> (Vec<OptionValuation>, Vec<UnderlyingGreeks>, PortfolioGreeks) {
    let mut valuations = Vec::with_capacity(legs.len());
    let mut per: BTreeMap<&str, UnderlyingGreeks> = BTreeMap::new();
    for leg in legs {
        let greeks = position_greeks(leg);
        let underlying = groups[leg.group].name.as_str();
        let u = per.entry(underlying).or_insert_with(|| UnderlyingGreeks {
            underlying: underlying.to_owned(),
            ..UnderlyingGreeks::default()
        });
        let price = leg.underlying_usd;
        u.delta += greeks.delta;
        u.delta_usd += greeks.delta * price;
        u.gamma += greeks.gamma;
        u.gamma_usd_per_pct += greeks.gamma * price * price / Decimal::ONE_HUNDRED;
        u.vega_usd += greeks.vega;
        u.theta_usd += greeks.theta;
        valuations.push(OptionValuation {
            market: labels[leg.market].clone(),
            instrument: leg.instrument.clone(),
            underlying: underlying.to_owned(),
            kind: leg.kind,
            side: leg.side,
            amount: leg.amount,
            underlying_usd: price,
            volatility: to_decimal(leg.input.vol).unwrap_or(Decimal::ZERO),
            years_to_expiry: to_decimal(leg.input.years).unwrap_or(Decimal::ZERO),
            model_price_usd: to_decimal(leg.base.price).unwrap_or(Decimal::ZERO),
            greeks,
        });
    }
    let mut total = PortfolioGreeks::default();
    let per: Vec<UnderlyingGreeks> = per
        .into_values()
        .map(|mut u| {
            u.delta_usd = u.delta_usd.round_dp(8);
            u.gamma_usd_per_pct = u.gamma_usd_per_pct.round_dp(8);
            total.delta_usd += u.delta_usd;
            total.gamma_usd_per_pct += u.gamma_usd_per_pct;
            total.vega_usd += u.vega_usd;
            total.theta_usd += u.theta_usd;
            u
        })
        .collect();
    (valuations, per, total)
}
