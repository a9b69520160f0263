//! What cross margining frees.
//!
//! Each protocol margins its own positions: a debt on one protocol must be covered by collateral on
//! that same protocol, even when the owner holds the same asset as collateral elsewhere. Across
//! protocols, a liability of risk group `k` (say ETH debt) is hedged by collateral of the same group
//! held on another protocol (ETH supplied elsewhere): whatever the price of ETH does, the two move
//! together. The hedged part needs no margin under cross margining.
//!
//! For each risk group, with `D_p` / `C_p` its debt / collateral value on protocol market `p`:
//! `hedged = min(ΣD_p, ΣC_p) − Σ min(D_p, C_p)` (hedging inside one protocol is already counted by
//! that protocol), and the requirement freed is `hedged ×` the group's average maintenance
//! liability weight.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use unimargin_schema::{Position, PositionKind, ProtocolProfile, ProtocolSnapshot};

use crate::exact::Sum;

/// One risk group's netting sums, as exact [`Sum`]s (the same `Decimal`s, computed faster).
#[derive(Debug, Clone, Default)]
pub(crate) struct Group {
    total_debt: Sum,
    total_collateral: Sum,
    weighted_debt: Sum,
    within_protocol: Sum,
    /// The current market's debt and collateral in the group, closed by [`Group::end_market`].
    market_debt: Sum,
    market_collateral: Sum,
}

impl Group {
    /// Adds one position to the group's totals and to its current market's.
    pub(crate) fn add(&mut self, p: &Position) {
        match p.kind {
            PositionKind::Supply if p.counts_as_collateral => {
                self.market_collateral.add(p.value_usd);
                self.total_collateral.add(p.value_usd);
            }
            PositionKind::Debt => {
                self.market_debt.add(p.value_usd);
                self.total_debt.add(p.value_usd);
                self.weighted_debt
                    .add_product(p.value_usd, p.weights.maintenance);
            }
            _ => {}
        }
    }

    /// Closes the current market: what it hedges within itself is not a cross-margin benefit.
    /// Called once per market in which the group had positions, after them.
    pub(crate) fn end_market(&mut self) {
        let debt = std::mem::take(&mut self.market_debt);
        let collateral = std::mem::take(&mut self.market_collateral);
        self.within_protocol.add_sum(debt.min(collateral));
    }

    /// The requirement freed across markets.
    fn freed(&self) -> Decimal {
        let total_debt = self.total_debt.value();
        let hedged = (total_debt.min(self.total_collateral.value()) - self.within_protocol.value())
            .max(Decimal::ZERO);
        hedged * self.weighted_debt.value() / total_debt
    }
}

/// The benefit from groups' sums, `(name, group)`, summed in name order.
pub(crate) fn benefit_of_groups<'a>(
    groups: impl IntoIterator<Item = (&'a str, &'a Group)>,
) -> Decimal {
    let mut groups: Vec<(&str, &Group)> = groups.into_iter().collect();
    groups.sort_by(|a, b| a.0.cmp(b.0));
    groups
        .iter()
        .filter(|(_, g)| !g.total_debt.value().is_zero())
        .map(|(_, g)| g.freed())
        .sum()
}

/// The maintenance requirement freed by cross margining (≥ 0).
pub fn cross_margin_benefit<'a>(
    snapshots: impl IntoIterator<Item = &'a ProtocolSnapshot>,
) -> Decimal {
    benefit(snapshots.into_iter().map(|s| s.positions.as_slice()))
}

/// [`cross_margin_benefit`] of the markets of a profile.
pub fn cross_margin_benefit_of_profiles(protocols: &[ProtocolProfile]) -> Decimal {
    benefit(protocols.iter().map(|p| p.positions.as_slice()))
}

fn benefit<'a>(markets: impl Iterator<Item = &'a [Position]>) -> Decimal {
    // Groups by first appearance, with an index by name (a portfolio has few risk groups, so
    // an ordered map is cheaper than hashing every position's key).
    let mut groups: Vec<(&str, Group)> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    // Per market: the groups it has positions in, reused across markets.
    let mut in_market: Vec<usize> = Vec::new();
    for positions in markets {
        in_market.clear();
        for p in positions {
            let key = p.asset.risk_key.as_str();
            let g = *index.entry(key).or_insert_with(|| {
                groups.push((key, Group::default()));
                groups.len() - 1
            });
            if !in_market.contains(&g) {
                in_market.push(g);
            }
            groups[g].1.add(p);
        }
        for g in &in_market {
            groups[*g].1.end_market();
        }
    }
    benefit_of_groups(groups.iter().map(|(name, g)| (*name, g)))
}
