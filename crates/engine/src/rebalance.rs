//! Rebalancing advice: the smallest collateral moves or repayments across protocol markets that
//! lift every market to a target health, as advice (nothing is executed).
//!
//! A market `p` below the target `H` needs `need = H × R_p − A_p` more "adjusted units" (with
//! `A` its adjusted collateral and `R` its maintenance margin, health `A ÷ R`). Moving `x` USD of
//! an asset it accepts as collateral with weight `w` supplies `w × x`; repaying `x` USD of a debt
//! with liability weight `v` supplies `H × v × x` (the requirement shrinks, and the target applies
//! to it). Each USD moved therefore has an efficiency, and the fewest USD are moved by taking the
//! most efficient sources first (a fractional knapsack). A source is a supply on another market
//! that is at or above the target; it can give at most what keeps its own market at the target:
//! `(A_q − H × R_q) ÷ w_q` (anything when it has no liabilities, anything if the supply is not
//! collateral there). Only the same asset is moved or repaid (no swaps); markets are worked on
//! from the least healthy. If the sources run out, the plan says so (`feasible = false`).

use rust_decimal::{Decimal, RoundingStrategy};
use unimargin_schema::{
    Health, MarketHealthChange, PositionKind, ProtocolProfile, RebalanceAction, RebalanceMove,
    RebalancePlan,
};

use crate::{model::RiskModel, prices::asset_key};

struct Market {
    label: String,
    adjusted: Decimal,
    requirement: Decimal,
    before: Health,
    touched: bool,
}

struct Source {
    market: usize,
    key: String,
    symbol: String,
    price: Decimal,
    value_left: Decimal,
    weight: Decimal,
}

fn label(p: &ProtocolProfile) -> String {
    format!("{}/{}@{}", p.protocol, p.market, p.account)
}

/// The plan, or `None` when every market is at or above the target.
pub fn plan(protocols: &[ProtocolProfile], model: &RiskModel) -> Option<RebalancePlan> {
    let target = model.rebalance.target_health;
    // Most profiles need no advice: decide that before labelling every market.
    let needs_advice = protocols.iter().any(|p| {
        let t = &p.totals;
        t.maintenance_margin_usd > Decimal::ZERO
            && t.adjusted_collateral_usd < target * t.maintenance_margin_usd
    });
    if !needs_advice {
        return None;
    }
    let mut markets: Vec<Market> = protocols
        .iter()
        .map(|p| Market {
            label: label(p),
            adjusted: p.totals.adjusted_collateral_usd,
            requirement: p.totals.maintenance_margin_usd,
            before: Health::ratio(
                p.totals.adjusted_collateral_usd,
                p.totals.maintenance_margin_usd,
            ),
            touched: false,
        })
        .collect();
    let below = |m: &Market| m.requirement > Decimal::ZERO && m.adjusted < target * m.requirement;
    let mut recipients: Vec<usize> = (0..markets.len()).filter(|i| below(&markets[*i])).collect();
    if recipients.is_empty() {
        return None;
    }
    recipients.sort_by(|a, b| {
        markets[*a]
            .before
            .cmp(&markets[*b].before)
            .then(markets[*a].label.cmp(&markets[*b].label))
    });

    let mut sources: Vec<Source> = Vec::new();
    for (q, p) in protocols.iter().enumerate() {
        if recipients.contains(&q) {
            continue;
        }
        for pos in p
            .positions
            .iter()
            .filter(|x| x.kind == PositionKind::Supply && x.value_usd > Decimal::ZERO)
        {
            sources.push(Source {
                market: q,
                key: asset_key(model, &pos.asset.risk_key, &pos.asset.symbol).0,
                symbol: pos.asset.symbol.clone(),
                price: pos.price.usd,
                value_left: pos.value_usd,
                weight: if pos.counts_as_collateral {
                    pos.weights.maintenance
                } else {
                    Decimal::ZERO
                },
            });
        }
    }

    let mut moves = Vec::new();
    let mut feasible = true;
    for &p in &recipients {
        let recipient = &protocols[p];
        // Per asset of the recipient: collateral weight and remaining debt (value, weight).
        let accepts = |key: &str| {
            recipient
                .positions
                .iter()
                .filter(|x| {
                    x.kind == PositionKind::Supply
                        && x.counts_as_collateral
                        && x.weights.maintenance > Decimal::ZERO
                })
                .find(|x| asset_key(model, &x.asset.risk_key, &x.asset.symbol).0 == key)
                .map(|x| x.weights.maintenance)
        };
        let mut debts: Vec<(String, Decimal, Decimal)> = recipient
            .positions
            .iter()
            .filter(|x| x.kind == PositionKind::Debt && x.value_usd > Decimal::ZERO)
            .map(|x| {
                (
                    asset_key(model, &x.asset.risk_key, &x.asset.symbol).0,
                    x.value_usd,
                    x.weights.maintenance,
                )
            })
            .collect();
        let mut candidates: Vec<(Decimal, RebalanceAction, usize)> = Vec::new();
        for (s, source) in sources.iter().enumerate() {
            let repay = debts
                .iter()
                .find(|d| d.0 == source.key)
                .map(|d| target * d.2);
            let collateral = accepts(&source.key);
            let best = match (repay, collateral) {
                (Some(r), Some(c)) if c > r => Some((c, RebalanceAction::MoveCollateral)),
                (Some(r), _) => Some((r, RebalanceAction::Repay)),
                (None, Some(c)) => Some((c, RebalanceAction::MoveCollateral)),
                (None, None) => None,
            };
            if let Some((efficiency, action)) = best {
                candidates.push((efficiency, action, s));
            }
        }
        candidates.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(
                    markets[sources[a.2].market]
                        .label
                        .cmp(&markets[sources[b.2].market].label),
                )
                .then(sources[a.2].symbol.cmp(&sources[b.2].symbol))
        });
        let mut need = target * markets[p].requirement - markets[p].adjusted;
        for (efficiency, action, s) in candidates {
            if need <= Decimal::ZERO {
                break;
            }
            let source = &sources[s];
            let donor = &markets[source.market];
            let mut cap = source.value_left;
            if source.weight > Decimal::ZERO && donor.requirement > Decimal::ZERO {
                cap = cap.min(
                    ((donor.adjusted - target * donor.requirement) / source.weight)
                        .max(Decimal::ZERO),
                );
            }
            let debt_slot = debts.iter().position(|d| d.0 == source.key);
            if action == RebalanceAction::Repay
                && let Some(d) = debt_slot
            {
                cap = cap.min(debts[d].1);
            }
            let wanted = need / efficiency;
            let use_usd = wanted.min(cap);
            if use_usd <= Decimal::ZERO || source.price <= Decimal::ZERO {
                continue;
            }
            // Whole units rounded up (1e-8), so the target is reached, not missed by a rounding.
            let amount =
                (use_usd / source.price).round_dp_with_strategy(8, RoundingStrategy::AwayFromZero);
            let value = (amount * source.price).min(source.value_left);
            need -= value * efficiency;
            match action {
                RebalanceAction::Repay => {
                    let w = debt_slot.map_or(Decimal::ONE, |d| debts[d].2);
                    markets[p].requirement -= value * w;
                    if let Some(d) = debt_slot {
                        debts[d].1 -= value;
                    }
                }
                RebalanceAction::MoveCollateral => {
                    markets[p].adjusted += value * efficiency;
                }
            }
            markets[p].touched = true;
            let q = source.market;
            markets[q].adjusted -= value * source.weight;
            markets[q].touched = true;
            sources[s].value_left -= value;
            moves.push(RebalanceMove {
                action,
                from: markets[q].label.clone(),
                to: markets[p].label.clone(),
                asset: sources[s].symbol.clone(),
                amount: amount.normalize(),
                value_usd: value.normalize(),
            });
        }
        if need > Decimal::ZERO {
            feasible = false;
        }
    }
    let total_moved_usd = moves.iter().map(|m: &RebalanceMove| m.value_usd).sum();
    Some(RebalancePlan {
        target_health: target,
        feasible,
        moves,
        total_moved_usd,
        markets: markets
            .into_iter()
            .filter(|m| {
                m.touched || m.requirement > Decimal::ZERO && m.adjusted < target * m.requirement
            })
            .map(|m| MarketHealthChange {
                after: Health::ratio(m.adjusted, m.requirement),
                market: m.label,
                before: m.before,
            })
            .collect(),
    })
}
