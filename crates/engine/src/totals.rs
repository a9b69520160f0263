//! Aggregates of positions, in one traversal.

use rust_decimal::Decimal;
use unimargin_schema::{Position, PositionKind, Side, Totals};

/// Adds one position's contribution to `t` (see [`RiskWeights`](unimargin_schema::RiskWeights)
/// for how each kind reads its weights).
pub fn accumulate(t: &mut Totals, p: &Position) {
    let v = p.value_usd;
    match (p.kind, p.side) {
        (PositionKind::Supply, _) => {
            t.net_value_usd += v;
            if p.counts_as_collateral {
                t.collateral_usd += v;
                t.adjusted_collateral_usd += v * p.weights.maintenance;
                t.initial_collateral_usd += v * p.weights.initial;
            }
        }
        (PositionKind::Debt, _) => {
            t.net_value_usd -= v;
            t.debt_usd += v;
            t.maintenance_margin_usd += v * p.weights.maintenance;
            t.initial_margin_usd += v * p.weights.initial;
        }
        (PositionKind::Perp, _) => {
            // The perp's collateral is its own supply position; the perp adds its PnL to equity and
            // its notional × margin ratio to the requirement. Positive PnL is not spendable for
            // initial margin until settled, so it only counts at maintenance.
            let pnl = p
                .perp
                .as_ref()
                .map_or(Decimal::ZERO, |d| d.unrealized_pnl_usd);
            t.net_value_usd += pnl;
            t.adjusted_collateral_usd += pnl;
            t.initial_collateral_usd += pnl.min(Decimal::ZERO);
            t.maintenance_margin_usd += v * p.weights.maintenance;
            t.initial_margin_usd += v * p.weights.initial;
        }
        (PositionKind::Option, Side::Long) => {
            // A bought option is worth its mark but is not collateral unless the venue says so.
            t.net_value_usd += v;
            if p.counts_as_collateral {
                t.collateral_usd += v;
                t.adjusted_collateral_usd += v * p.weights.maintenance;
                t.initial_collateral_usd += v * p.weights.initial;
            }
        }
        (PositionKind::Option, Side::Short) => {
            // A written option is a liability worth its mark, margined at a ratio of that mark.
            t.net_value_usd -= v;
            t.debt_usd += v;
            t.maintenance_margin_usd += v * p.weights.maintenance;
            t.initial_margin_usd += v * p.weights.initial;
        }
    }
}

/// Fills the derived fields (`margin_excess_usd`, `free_collateral_usd`).
pub fn finish(t: &mut Totals) {
    t.margin_excess_usd = t.adjusted_collateral_usd - t.maintenance_margin_usd;
    t.free_collateral_usd = t.initial_collateral_usd - t.initial_margin_usd;
}

/// Totals of a list of positions.
pub fn of_positions<'a>(positions: impl IntoIterator<Item = &'a Position>) -> Totals {
    let mut t = Totals::default();
    for p in positions {
        accumulate(&mut t, p);
    }
    finish(&mut t);
    t
}

/// Sums already finished totals.
pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Totals>) -> Totals {
    let mut t = Totals::default();
    for p in parts {
        t.net_value_usd += p.net_value_usd;
        t.collateral_usd += p.collateral_usd;
        t.adjusted_collateral_usd += p.adjusted_collateral_usd;
        t.initial_collateral_usd += p.initial_collateral_usd;
        t.debt_usd += p.debt_usd;
        t.maintenance_margin_usd += p.maintenance_margin_usd;
        t.initial_margin_usd += p.initial_margin_usd;
    }
    finish(&mut t);
    t
}
