//! Aggregates of positions, in one traversal.
//!
//! The sums are `Decimal` sums, but a profile of many positions adds up thousands of them, so
//! they run on machine integers (`exact::Sum`) wherever that gives the very same `Decimal`
//! (value, scale and sign of zero, all of which show in the JSON: `"1.50"` is not `"1.5"`).

use rust_decimal::Decimal;
use unimargin_schema::{Position, PositionKind, Side, Totals};

use crate::exact::Sum;

/// The aggregates of [`Totals`] as [`Sum`]s, for a traversal that does more than summing (the
/// book sums each market's totals in its own pass over the positions).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sums {
    net_value: Sum,
    collateral: Sum,
    adjusted_collateral: Sum,
    initial_collateral: Sum,
    debt: Sum,
    maintenance_margin: Sum,
    initial_margin: Sum,
}

impl Sums {
    /// Adds one position's contribution (see [`RiskWeights`](unimargin_schema::RiskWeights) for
    /// how each kind reads its weights). A bought option is worth its mark, like a supply, but is
    /// not collateral unless the venue says so; a written one is a liability worth its mark,
    /// margined at a ratio of it, like a debt.
    #[inline]
    pub(crate) fn accumulate(&mut self, p: &Position) {
        let v = p.value_usd;
        match (p.kind, p.side) {
            (PositionKind::Supply, _) | (PositionKind::Option, Side::Long) => {
                self.net_value.add(v);
                if p.counts_as_collateral {
                    self.collateral.add(v);
                    self.adjusted_collateral
                        .add_product(v, p.weights.maintenance);
                    self.initial_collateral.add_product(v, p.weights.initial);
                }
            }
            (PositionKind::Debt, _) | (PositionKind::Option, Side::Short) => {
                self.net_value.sub(v);
                self.debt.add(v);
                self.maintenance_margin
                    .add_product(v, p.weights.maintenance);
                self.initial_margin.add_product(v, p.weights.initial);
            }
            (PositionKind::Perp, _) => {
                // The perp's collateral is its own supply position; the perp adds its PnL to
                // equity and its notional × margin ratio to the requirement. Positive PnL is not
                // spendable for initial margin until settled, so it only counts at maintenance.
                let pnl = p
                    .perp
                    .as_ref()
                    .map_or(Decimal::ZERO, |d| d.unrealized_pnl_usd);
                self.net_value.add(pnl);
                self.adjusted_collateral.add(pnl);
                self.initial_collateral.add(pnl.min(Decimal::ZERO));
                self.maintenance_margin
                    .add_product(v, p.weights.maintenance);
                self.initial_margin.add_product(v, p.weights.initial);
            }
        }
    }

    /// `self += t` for finished totals (their derived fields are recomputed by [`finish`]).
    fn add_totals(&mut self, t: &Totals) {
        self.net_value.add(t.net_value_usd);
        self.collateral.add(t.collateral_usd);
        self.adjusted_collateral.add(t.adjusted_collateral_usd);
        self.initial_collateral.add(t.initial_collateral_usd);
        self.debt.add(t.debt_usd);
        self.maintenance_margin.add(t.maintenance_margin_usd);
        self.initial_margin.add(t.initial_margin_usd);
    }

    /// The finished totals.
    pub(crate) fn totals(&self) -> Totals {
        let mut t = Totals {
            net_value_usd: self.net_value.value(),
            collateral_usd: self.collateral.value(),
            adjusted_collateral_usd: self.adjusted_collateral.value(),
            initial_collateral_usd: self.initial_collateral.value(),
            debt_usd: self.debt.value(),
            maintenance_margin_usd: self.maintenance_margin.value(),
            initial_margin_usd: self.initial_margin.value(),
            ..Totals::default()
        };
        finish(&mut t);
        t
    }
}

/// Fills the derived fields (`margin_excess_usd`, `free_collateral_usd`).
pub fn finish(t: &mut Totals) {
    t.margin_excess_usd = t.adjusted_collateral_usd - t.maintenance_margin_usd;
    t.free_collateral_usd = t.initial_collateral_usd - t.initial_margin_usd;
}

/// Totals of a list of positions: each one's contribution summed (exactly, on integers where
/// `Decimal` would not round), then [`finish`].
pub fn of_positions<'a>(positions: impl IntoIterator<Item = &'a Position>) -> Totals {
    let mut sums = Sums::default();
    for p in positions {
        sums.accumulate(p);
    }
    sums.totals()
}

/// Sums already finished totals.
pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Totals>) -> Totals {
    let mut sums = Sums::default();
    for p in parts {
        sums.add_totals(p);
    }
    sums.totals()
}
