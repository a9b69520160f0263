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

#[derive(Default)]
struct Group {
    total_debt: Decimal,
    total_collateral: Decimal,
    weighted_debt: Decimal,
    within_protocol: Decimal,
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
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    for positions in markets {
        let mut per_protocol: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
        for p in positions {
            let key = p.asset.risk_key.as_str();
            let entry = per_protocol.entry(key).or_default();
            let g = groups.entry(key).or_default();
            match p.kind {
                PositionKind::Supply if p.counts_as_collateral => {
                    entry.1 += p.value_usd;
                    g.total_collateral += p.value_usd;
                }
                PositionKind::Debt => {
                    entry.0 += p.value_usd;
                    g.total_debt += p.value_usd;
                    g.weighted_debt += p.value_usd * p.weights.maintenance;
                }
                _ => {}
            }
        }
        for (key, (debt, collateral)) in per_protocol {
            if let Some(g) = groups.get_mut(key) {
                g.within_protocol += debt.min(collateral);
            }
        }
    }
    groups
        .values()
        .filter(|g| !g.total_debt.is_zero())
        .map(|g| {
            let hedged =
                (g.total_debt.min(g.total_collateral) - g.within_protocol).max(Decimal::ZERO);
            hedged * g.weighted_debt / g.total_debt
        })
        .sum()
}
