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
    // Each position's group by name, in first-appearance order (a portfolio has few risk groups,
    // so an ordered map is cheaper than hashing every position's key).
    let mut names: Vec<&str> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let indexed: Vec<(&[Position], Vec<usize>)> = markets
        .map(|positions| {
            let groups = positions
                .iter()
                .map(|p| {
                    let key = p.asset.risk_key.as_str();
                    *index.entry(key).or_insert_with(|| {
                        names.push(key);
                        names.len() - 1
                    })
                })
                .collect();
            (positions, groups)
        })
        .collect();
    benefit_indexed(
        indexed.iter().map(|(p, g)| (*p, g.as_slice())),
        &names,
    )
}

/// [`cross_margin_benefit_of_profiles`] with each position's risk group already known (as an
/// index into `names`, one slice per market): the engine has mapped every position while
/// building its book, so the netting reads amounts only and never the positions' strings.
pub(crate) fn benefit_indexed<'a>(
    markets: impl Iterator<Item = (&'a [Position], &'a [usize])>,
    names: &[&str],
) -> Decimal {
    let mut groups: Vec<Group> = (0..names.len()).map(|_| Group::default()).collect();
    // Per market: (group, debt, collateral), reused across markets.
    let mut per_protocol: Vec<(usize, Decimal, Decimal)> = Vec::new();
    for (positions, group_of) in markets {
        per_protocol.clear();
        for (p, &g) in positions.iter().zip(group_of) {
            let slot = match per_protocol.iter().position(|(x, _, _)| *x == g) {
                Some(i) => i,
                None => {
                    per_protocol.push((g, Decimal::ZERO, Decimal::ZERO));
                    per_protocol.len() - 1
                }
            };
            let entry = &mut per_protocol[slot];
            let group = &mut groups[g];
            match p.kind {
                PositionKind::Supply if p.counts_as_collateral => {
                    entry.2 += p.value_usd;
                    group.total_collateral += p.value_usd;
                }
                PositionKind::Debt => {
                    entry.1 += p.value_usd;
                    group.total_debt += p.value_usd;
                    group.weighted_debt += p.value_usd * p.weights.maintenance;
                }
                _ => {}
            }
        }
        for (g, debt, collateral) in &per_protocol {
            groups[*g].within_protocol += (*debt).min(*collateral);
        }
    }
    // Summed in name order.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|a, b| names[*a].cmp(names[*b]));
    order
        .iter()
        .map(|g| &groups[*g])
        .filter(|g| !g.total_debt.is_zero())
        .map(|g| {
            let hedged =
                (g.total_debt.min(g.total_collateral) - g.within_protocol).max(Decimal::ZERO);
            hedged * g.weighted_debt / g.total_debt
        })
        .sum()
}
