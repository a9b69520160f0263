//! What-if: hypothetical changes applied to a profile, the profile recomputed, and the diff.
//!
//! The profile carries everything needed to recompute it (positions, native health, read points,
//! failures), so a simulation needs no new reads: [`simulate`] rebuilds the engine's input from
//! the profile, applies the changes in order, and computes both profiles with the same settings.
//! A market touched by a change gets its native health recomputed by the engine from its changed
//! positions (`adjusted collateral ÷ maintenance margin`, metric suffixed `.simulated`), since the
//! protocol's own figure no longer applies. Failures stay failures: a simulation of an incomplete
//! profile is incomplete too.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use unimargin_schema::{
    DecimalChange, Health, HealthChange, MarginProfile, MarketDiff, MarketRef, NativeHealth,
    Position, PositionKind, PriceSource, ProfileDiff, ProtocolSnapshot, Provenance, Segment, Side,
    Simulation, WarningKind, WhatIfChange,
};

use crate::{EngineSettings, ProfileInput, compute_segmented_profile, totals};

/// Why a change could not be applied. `index` is the change's position in the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    /// No market of the profile matches.
    #[error("change {index}: the profile has no market {market}")]
    UnknownMarket {
        /// Change index.
        index: usize,
        /// `protocol/market`.
        market: String,
    },
    /// Several accounts use the market and none was named.
    #[error("change {index}: several accounts use {market}; name the account")]
    AmbiguousMarket {
        /// Change index.
        index: usize,
        /// `protocol/market`.
        market: String,
    },
    /// The asset is not held in the way the change needs.
    #[error("change {index}: no {kind} position in {symbol} on {market}")]
    NotHeld {
        /// Change index.
        index: usize,
        /// `supply`, `debt`, …
        kind: &'static str,
        /// Asset symbol.
        symbol: String,
        /// `protocol/market`.
        market: String,
    },
    /// An amount, price or value is zero or negative where it must be positive.
    #[error("change {index}: {what} must be positive")]
    NotPositive {
        /// Change index.
        index: usize,
        /// What.
        what: &'static str,
    },
    /// A withdrawal or repayment larger than the position.
    #[error("change {index}: {amount} is more than the {held} held")]
    TooMuch {
        /// Change index.
        index: usize,
        /// Requested.
        amount: Decimal,
        /// Held.
        held: Decimal,
    },
    /// Nothing in the profile prices the asset to be borrowed.
    #[error("change {index}: no price for {symbol} anywhere in the profile")]
    NoPrice {
        /// Change index.
        index: usize,
        /// Asset symbol.
        symbol: String,
    },
}

impl SimulateError {
    /// The position of the offending change in the request.
    pub fn index(&self) -> usize {
        match self {
            Self::UnknownMarket { index, .. }
            | Self::AmbiguousMarket { index, .. }
            | Self::NotHeld { index, .. }
            | Self::NotPositive { index, .. }
            | Self::TooMuch { index, .. }
            | Self::NoPrice { index, .. } => *index,
        }
    }
}

/// The engine's input and segments, rebuilt from a profile.
pub fn input_from_profile(profile: &MarginProfile) -> (ProfileInput, Vec<Segment>) {
    let snapshots = profile
        .protocols
        .iter()
        .map(|p| ProtocolSnapshot {
            provenance: Provenance {
                chain: p.chain.clone(),
                read_point: p.block.clone(),
                protocol: p.protocol.clone(),
                market: p.market.clone(),
                account: p.account.clone(),
                sources: Vec::new(),
                fetched_at: profile.as_of,
            },
            positions: p.positions.clone(),
            native_health: p.native_health.clone(),
            // Adapter notes travel in the coverage; the engine's own checks recreate the rest.
            warnings: profile
                .coverage
                .warnings
                .iter()
                .filter(|w| {
                    !matches!(
                        w.kind,
                        WarningKind::PriceAgeUnknown | WarningKind::NativeHealthMismatch
                    )
                })
                .filter(|w| {
                    w.scope.protocol.as_ref() == Some(&p.protocol)
                        && w.scope.market.as_ref() == Some(&p.market)
                        && w.scope.account.as_ref() == Some(&p.account)
                })
                .cloned()
                .collect(),
        })
        .collect();
    let input = ProfileInput {
        accounts: profile.accounts.clone(),
        snapshots,
        failures: profile.coverage.failures.clone(),
        expected: profile
            .coverage
            .chains
            .iter()
            .map(|c| (c.chain.clone(), c.protocols.clone()))
            .collect(),
        read_points: profile
            .coverage
            .chains
            .iter()
            .map(|c| (c.chain.clone(), c.read_point.clone()))
            .collect(),
        as_of: profile.as_of,
    };
    let segments = profile
        .risk
        .segments
        .iter()
        .map(|s| Segment {
            name: s.name.clone(),
            accounts: s.accounts.clone(),
        })
        .collect();
    (input, segments)
}

fn find_market(
    snapshots: &[ProtocolSnapshot],
    at: &MarketRef,
    index: usize,
) -> Result<usize, SimulateError> {
    let label = format!("{}/{}", at.protocol, at.market);
    let matches: Vec<usize> = snapshots
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.provenance.protocol == at.protocol
                && s.provenance.market == at.market
                && at
                    .account
                    .as_ref()
                    .is_none_or(|a| *a == s.provenance.account)
        })
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(SimulateError::UnknownMarket {
            index,
            market: label,
        }),
        _ => Err(SimulateError::AmbiguousMarket {
            index,
            market: label,
        }),
    }
}

fn positive(v: Decimal, index: usize, what: &'static str) -> Result<(), SimulateError> {
    if v > Decimal::ZERO {
        Ok(())
    } else {
        Err(SimulateError::NotPositive { index, what })
    }
}

fn revalue(p: &mut Position) {
    p.value_usd = (p.amount * p.price.usd).normalize();
}

/// Changes `kind` position `symbol` of a market by `delta` units (negative: reduce), removing it
/// at zero.
fn adjust(
    s: &mut ProtocolSnapshot,
    kind: PositionKind,
    symbol: &str,
    delta: Decimal,
    index: usize,
) -> Result<(), SimulateError> {
    let market = format!("{}/{}", s.provenance.protocol, s.provenance.market);
    let name = if kind == PositionKind::Supply {
        "supply"
    } else {
        "debt"
    };
    let Some(i) = s
        .positions
        .iter()
        .position(|p| p.kind == kind && p.asset.symbol.eq_ignore_ascii_case(symbol))
    else {
        return Err(SimulateError::NotHeld {
            index,
            kind: name,
            symbol: symbol.to_owned(),
            market,
        });
    };
    let p = &mut s.positions[i];
    if p.amount + delta < Decimal::ZERO {
        return Err(SimulateError::TooMuch {
            index,
            amount: -delta,
            held: p.amount,
        });
    }
    p.amount += delta;
    revalue(p);
    if p.amount.is_zero() {
        s.positions.remove(i);
    }
    Ok(())
}

/// Applies one change; returns the markets it touched.
fn apply(
    snapshots: &mut [ProtocolSnapshot],
    change: &WhatIfChange,
    index: usize,
) -> Result<Vec<usize>, SimulateError> {
    match change {
        WhatIfChange::AddPosition { at, position } => {
            let m = find_market(snapshots, at, index)?;
            if position.amount < Decimal::ZERO || position.value_usd < Decimal::ZERO {
                return Err(SimulateError::NotPositive {
                    index,
                    what: "the position's amount and value",
                });
            }
            positive(position.price.usd, index, "the position's price")?;
            snapshots[m].positions.push(position.as_ref().clone());
            Ok(vec![m])
        }
        WhatIfChange::RemovePosition { at, kind, symbol } => {
            let m = find_market(snapshots, at, index)?;
            let s = &mut snapshots[m];
            let before = s.positions.len();
            s.positions
                .retain(|p| !(p.kind == *kind && p.asset.symbol.eq_ignore_ascii_case(symbol)));
            if s.positions.len() == before {
                return Err(SimulateError::NotHeld {
                    index,
                    kind: match kind {
                        PositionKind::Supply => "supply",
                        PositionKind::Debt => "debt",
                        PositionKind::Perp => "perp",
                        PositionKind::Option => "option",
                    },
                    symbol: symbol.clone(),
                    market: format!("{}/{}", at.protocol, at.market),
                });
            }
            Ok(vec![m])
        }
        WhatIfChange::Deposit { at, symbol, amount }
        | WhatIfChange::Withdraw { at, symbol, amount } => {
            positive(*amount, index, "amount")?;
            let m = find_market(snapshots, at, index)?;
            let delta = if matches!(change, WhatIfChange::Deposit { .. }) {
                *amount
            } else {
                -*amount
            };
            adjust(
                &mut snapshots[m],
                PositionKind::Supply,
                symbol,
                delta,
                index,
            )?;
            Ok(vec![m])
        }
        WhatIfChange::Repay { at, symbol, amount } => {
            positive(*amount, index, "amount")?;
            let m = find_market(snapshots, at, index)?;
            adjust(
                &mut snapshots[m],
                PositionKind::Debt,
                symbol,
                -*amount,
                index,
            )?;
            Ok(vec![m])
        }
        WhatIfChange::Borrow { at, symbol, amount } => {
            positive(*amount, index, "amount")?;
            let m = find_market(snapshots, at, index)?;
            if adjust(
                &mut snapshots[m],
                PositionKind::Debt,
                symbol,
                *amount,
                index,
            )
            .is_ok()
            {
                return Ok(vec![m]);
            }
            // A new debt: priced like the asset on this market, or anywhere else in the profile.
            let same = |p: &&Position| {
                p.kind != PositionKind::Option
                    && p.asset.symbol.eq_ignore_ascii_case(symbol)
                    && p.price.usd > Decimal::ZERO
            };
            let template = snapshots[m]
                .positions
                .iter()
                .find(same)
                .or_else(|| snapshots.iter().flat_map(|s| s.positions.iter()).find(same))
                .cloned()
                .ok_or_else(|| SimulateError::NoPrice {
                    index,
                    symbol: symbol.clone(),
                })?;
            let mut debt = Position {
                kind: PositionKind::Debt,
                side: Side::Short,
                amount: *amount,
                counts_as_collateral: false,
                weights: unimargin_schema::RiskWeights {
                    initial: Decimal::ONE,
                    maintenance: Decimal::ONE,
                },
                perp: None,
                option: None,
                greeks: None,
                native: BTreeMap::new(),
                ..template
            };
            revalue(&mut debt);
            snapshots[m].positions.push(debt);
            Ok(vec![m])
        }
        WhatIfChange::PriceOverride { symbol, group, usd } => {
            positive(*usd, index, "price")?;
            let mut touched = Vec::new();
            for (m, s) in snapshots.iter_mut().enumerate() {
                for p in &mut s.positions {
                    if p.kind == PositionKind::Option
                        || !p.asset.symbol.eq_ignore_ascii_case(symbol)
                        || group.as_ref().is_some_and(|g| *g != p.asset.risk_key)
                    {
                        continue;
                    }
                    if let Some(perp) = &mut p.perp {
                        let sign = if p.side == Side::Long {
                            Decimal::ONE
                        } else {
                            Decimal::NEGATIVE_ONE
                        };
                        perp.unrealized_pnl_usd += sign * p.amount * (*usd - perp.mark_price);
                        perp.mark_price = *usd;
                    }
                    p.price.usd = *usd;
                    p.price.source = PriceSource {
                        oracle: "what-if".into(),
                        address: None,
                        feed: None,
                    };
                    p.price.age_seconds = Some(0);
                    revalue(p);
                    if !touched.contains(&m) {
                        touched.push(m);
                    }
                }
            }
            Ok(touched)
        }
    }
}

fn change(before: Decimal, after: Decimal) -> DecimalChange {
    DecimalChange {
        before,
        after,
        delta: after - before,
    }
}

fn label(p: &unimargin_schema::ProtocolProfile) -> String {
    format!("{}/{}@{}", p.protocol, p.market, p.account)
}

/// What changed between two profiles.
pub fn diff(before: &MarginProfile, after: &MarginProfile) -> ProfileDiff {
    let (b, a) = (&before.risk.margin, &after.risk.margin);
    let weakest = |p: &MarginProfile| {
        p.coverage.complete.then(|| {
            p.protocols
                .iter()
                .map(|x| x.health)
                .min()
                .unwrap_or(Health::Infinite)
        })
    };
    let mut markets: BTreeMap<String, (Option<Health>, Option<Health>)> = BTreeMap::new();
    for p in &before.protocols {
        markets.entry(label(p)).or_default().0 = Some(p.health);
    }
    for p in &after.protocols {
        markets.entry(label(p)).or_default().1 = Some(p.health);
    }
    ProfileDiff {
        equity_usd: change(b.equity_usd, a.equity_usd),
        maintenance_requirement_usd: change(
            b.maintenance_requirement_usd,
            a.maintenance_requirement_usd,
        ),
        initial_requirement_usd: change(b.initial_requirement_usd, a.initial_requirement_usd),
        stress_loss_usd: change(b.stress_loss_usd, a.stress_loss_usd),
        credit_capacity_usd: change(b.credit_capacity_usd, a.credit_capacity_usd),
        health: HealthChange {
            before: b.health,
            after: a.health,
        },
        weakest_market_health: HealthChange {
            before: weakest(before),
            after: weakest(after),
        },
        score_before: before.risk.score.score,
        score_after: after.risk.score.score,
        markets: markets
            .into_iter()
            .filter(|(_, (x, y))| x != y)
            .map(|(market, (before, after))| MarketDiff {
                market,
                before,
                after,
                liquidatable_after: after.is_some_and(Health::is_liquidatable),
            })
            .collect(),
    }
}

/// Applies `changes` in order to `base` and returns both profiles and the diff.
pub fn simulate(
    base: &MarginProfile,
    changes: &[WhatIfChange],
    settings: &EngineSettings,
) -> Result<Simulation, SimulateError> {
    let (input, segments) = input_from_profile(base);
    let mut changed = input.clone();
    let mut touched: Vec<usize> = Vec::new();
    for (index, c) in changes.iter().enumerate() {
        for m in apply(&mut changed.snapshots, c, index)? {
            if !touched.contains(&m) {
                touched.push(m);
            }
        }
    }
    for m in touched {
        let s = &mut changed.snapshots[m];
        let t = totals::of_positions(&s.positions);
        let metric = format!(
            "{}.simulated",
            s.native_health.metric.trim_end_matches(".simulated")
        );
        s.native_health = NativeHealth::new(
            &metric,
            Health::ratio(t.adjusted_collateral_usd, t.maintenance_margin_usd),
            None,
        );
    }
    let before = compute_segmented_profile(input, &segments, settings);
    let after = compute_segmented_profile(changed, &segments, settings);
    let diff = diff(&before, &after);
    Ok(Simulation {
        changes: changes.to_vec(),
        before,
        after,
        diff,
    })
}
