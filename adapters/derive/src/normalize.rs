//! Pure: `margin_watch` of every subaccount (and the option tickers) → one [`ProtocolSnapshot`].
//!
//! Derive reports margins *net*: each collateral's contribution (its value after a haircut), each
//! position's contribution (its mark value less its requirement), and the subaccount's total, which
//! below zero flags the subaccount for liquidation. Normalization splits every contribution into
//! the two sides the schema keeps apart:
//!
//! * a collateral is a supply (a debt when borrowed) with weight `contribution / value`;
//! * a perp adds its mark value (its PnL) to equity and `mark value − contribution` to the
//!   requirement, as a ratio of its notional;
//! * a bought option is worth its mark value and counts at `contribution / value`; a written
//!   option is a liability of its mark value margined at `−contribution / value`.
//!
//! Weights are rounded so that `value × weight` never flatters the account. The venue's totals
//! (maintenance and initial margin, subaccount value) are reproduced from the breakdown and
//! compared; the venue's health per subaccount is `credit ÷ requirement`, below 1 exactly when the
//! venue's maintenance margin is below zero, and the snapshot keeps the weakest subaccount.
//!
//! Options keep the venue's greeks (per unit × signed size) in `greeks`, and our own Black-76
//! greeks, from the ticker's forward and mark implied volatility at the pinned time, in `native`
//! (`black76.*`) with whether the two agree.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::{Decimal, prelude::ToPrimitive};
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainId, FailureScope, Greeks, Health, MarketId, NativeHealth,
    OptionDetails, PerpDetails, Position, PositionKind, Price, PriceSource, ProtocolId,
    ProtocolSnapshot, Provenance, ReadPoint, RiskWeights, Side, Warning, WarningKind,
};
use unimargin_sdk::{AdapterError, Result};

use crate::{
    DeriveParams,
    api::{Collateral, MarginPosition, MarginWatch, Ticker},
    black76,
    fetch::RawAccount,
    instrument,
    math::{ratio_down, ratio_up, usd_agrees},
};

/// The metric of [`NativeHealth`]: credit ÷ maintenance requirement of the weakest subaccount.
pub const METRIC: &str = "derive.maintenance_margin_ratio";

/// Everything normalization needs besides the raw replies.
#[derive(Debug, Clone)]
pub struct NormalizeContext<'a> {
    /// The venue's chain id.
    pub chain: &'a ChainId,
    /// Pinned read point.
    pub read_point: ReadPoint,
    /// Protocol id as configured.
    pub protocol: &'a ProtocolId,
    /// Market id as configured.
    pub market: &'a MarketId,
    /// The owner wallet.
    pub account: &'a AccountId,
    /// Adapter options.
    pub params: &'a DeriveParams,
    /// Wall-clock time the reads completed.
    pub fetched_at: DateTime<Utc>,
}

/// Normalizes one owner's replies.
pub fn normalize(raw: &RawAccount, ctx: &NormalizeContext<'_>) -> Result<ProtocolSnapshot> {
    let pinned = ctx.read_point.timestamp().unwrap_or(0);
    let mut positions = Vec::new();
    let mut figures = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut reproduced = Health::Infinite;
    let mut reported = Health::Infinite;
    let mut greek_disagreements = 0usize;

    figures.insert(
        "subaccounts".into(),
        raw.subaccount_ids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    for (method, n) in &raw.requests {
        figures.insert(format!("requests.{method}"), n.to_string());
    }

    for s in &raw.subaccounts {
        let key = s.subaccount_id.to_string();
        let stamp = Stamp {
            at: s.valuation_timestamp,
            pinned,
        };
        let terms = s.collaterals.len() + s.positions.len() + 1;
        let mut check = |name: &str, ours: Decimal, venue: Decimal| {
            figures.insert(
                format!("{key}.{name}.reproduced"),
                ours.normalize().to_string(),
            );
            figures.insert(format!("{key}.{name}.venue"), venue.normalize().to_string());
            if !usd_agrees(ours, venue, terms) {
                mismatches.push(format!(
                    "subaccount {key} {name}: reproduced {} vs venue {}",
                    ours.normalize(),
                    venue.normalize()
                ));
            }
        };
        let sum = |c: fn(&Collateral) -> Decimal, p: fn(&MarginPosition) -> Decimal| {
            s.collaterals.iter().map(c).sum::<Decimal>()
                + s.positions.iter().map(p).sum::<Decimal>()
        };
        check(
            "maintenance_margin",
            sum(|c| c.maintenance_margin, |p| p.maintenance_margin),
            s.maintenance_margin,
        );
        check(
            "initial_margin",
            sum(|c| c.initial_margin, |p| p.initial_margin),
            s.initial_margin,
        );
        check(
            "subaccount_value",
            sum(|c| c.mark_value, |p| p.mark_value),
            s.subaccount_value,
        );

        let (credit, requirement) = split(s);
        let ours = Health::ratio(credit, requirement);
        let venue = Health::ratio(requirement + s.maintenance_margin, requirement);
        figures.insert(format!("{key}.health.reproduced"), ours.to_string());
        figures.insert(format!("{key}.health.venue"), venue.to_string());
        figures.insert(format!("{key}.margin_type"), s.margin_type.clone());
        figures.insert(
            format!("{key}.valuation_timestamp"),
            s.valuation_timestamp.to_string(),
        );
        if s.is_delayed_liquidation == Some(true) {
            figures.insert(format!("{key}.delayed_liquidation"), "true".into());
        }
        reproduced = reproduced.min(ours);
        reported = reported.min(venue);

        for c in s.collaterals.iter().filter(|c| !c.amount.is_zero()) {
            positions.push(collateral(ctx, s, c, &stamp)?);
        }
        for p in s.positions.iter().filter(|p| !p.amount.is_zero()) {
            let position = match p.instrument_type.as_str() {
                "perp" => perp(ctx, s, p, &stamp)?,
                "option" => {
                    let (position, agrees) =
                        option(ctx, s, p, raw.tickers.get(&p.instrument_name), &stamp)?;
                    greek_disagreements += usize::from(agrees == Some(false));
                    position
                }
                "erc20" => spot_position(ctx, s, p, &stamp)?,
                other => {
                    return Err(AdapterError::malformed(
                        format!("margin_watch of subaccount {key}"),
                        format!("{}: unknown instrument type `{other}`", p.instrument_name),
                    ));
                }
            };
            positions.push(position);
        }
    }
    figures.insert(
        "greeks.disagreements".into(),
        greek_disagreements.to_string(),
    );

    let scope = FailureScope {
        chain: Some(ctx.chain.clone()),
        protocol: Some(ctx.protocol.clone()),
        market: Some(ctx.market.clone()),
        account: Some(ctx.account.clone()),
    };
    let mut warnings = Vec::new();
    if positions.is_empty() {
        let message = if raw.subaccount_ids.is_empty() {
            "the wallet owns no subaccount"
        } else {
            "no position or collateral in any subaccount"
        };
        warnings.push(Warning {
            scope: scope.clone(),
            kind: WarningKind::NoPositions,
            message: message.into(),
        });
    }
    if !mismatches.is_empty() {
        warnings.push(Warning {
            scope,
            kind: WarningKind::NativeHealthMismatch,
            message: format!(
                "the venue's margin totals differ from the sum of their breakdown: {}",
                mismatches.join("; ")
            ),
        });
    }
    let value = reproduced.min(reported);
    let native_health = NativeHealth {
        metric: METRIC.into(),
        reproduced,
        reported: Some(reported),
        agrees: Some(mismatches.is_empty()),
        value,
        liquidatable: value.is_liquidatable(),
        figures,
    };
    Ok(ProtocolSnapshot {
        provenance: Provenance {
            chain: ctx.chain.clone(),
            read_point: ctx.read_point.clone(),
            protocol: ctx.protocol.clone(),
            market: ctx.market.clone(),
            account: ctx.account.clone(),
            sources: raw
                .requests
                .keys()
                .map(|m| format!("{}/{m}", ctx.chain))
                .collect(),
            fetched_at: ctx.fetched_at,
        },
        positions,
        native_health,
        warnings,
    })
}

/// A subaccount's margin split into credit and requirement, with `credit − requirement` equal to
/// the net maintenance margin of its breakdown and neither side negative.
fn split(s: &MarginWatch) -> (Decimal, Decimal) {
    let mut credit: Decimal = s.collaterals.iter().map(|c| c.maintenance_margin).sum();
    let mut requirement = Decimal::ZERO;
    for p in &s.positions {
        credit += p.mark_value;
        requirement += p.mark_value - p.maintenance_margin;
    }
    if credit < Decimal::ZERO {
        requirement -= credit;
        credit = Decimal::ZERO;
    }
    if requirement < Decimal::ZERO {
        credit -= requirement;
        requirement = Decimal::ZERO;
    }
    (credit, requirement)
}

/// Prices of one subaccount, all computed by the venue at its `valuation_timestamp`.
struct Stamp {
    at: u64,
    pinned: u64,
}

impl Stamp {
    fn price(&self, usd: Decimal, feed: String) -> Price {
        Price {
            usd,
            source: PriceSource {
                oracle: "derive-mark".into(),
                address: None,
                feed: Some(feed),
            },
            updated_at: Utc
                .timestamp_opt(i64::try_from(self.at).unwrap_or(0), 0)
                .single(),
            age_seconds: Some(self.pinned.saturating_sub(self.at)),
        }
    }
}

fn asset(ctx: &NormalizeContext<'_>, reference: &str, symbol: &str) -> Asset {
    Asset {
        id: AssetId {
            chain: ctx.chain.clone(),
            namespace: "venue".into(),
            reference: reference.to_owned(),
        },
        symbol: symbol.to_owned(),
        decimals: 18,
        risk_key: ctx.params.risk_key(symbol),
    }
}

fn base_native(
    s: &MarginWatch,
    instrument_type: &str,
    im: Decimal,
    mm: Decimal,
    value: Decimal,
) -> BTreeMap<String, String> {
    let mut native = BTreeMap::new();
    native.insert("subaccount_id".into(), s.subaccount_id.to_string());
    native.insert("instrument_type".into(), instrument_type.to_owned());
    native.insert("initial_margin".into(), im.normalize().to_string());
    native.insert("maintenance_margin".into(), mm.normalize().to_string());
    native.insert("mark_value".into(), value.normalize().to_string());
    native
}

fn weights_or(w: Option<Decimal>) -> Decimal {
    w.unwrap_or(Decimal::ZERO)
}

fn collateral(
    ctx: &NormalizeContext<'_>,
    s: &MarginWatch,
    c: &Collateral,
    stamp: &Stamp,
) -> Result<Position> {
    let borrowed = c.amount.is_sign_negative();
    let value = c.mark_value.abs();
    let weights = if borrowed {
        // A borrowed balance costs `−contribution` of requirement per unit of its value.
        RiskWeights {
            initial: ratio_up(-c.initial_margin, value).unwrap_or(Decimal::ONE),
            maintenance: ratio_up(-c.maintenance_margin, value).unwrap_or(Decimal::ONE),
        }
    } else {
        RiskWeights {
            initial: weights_or(ratio_down(c.initial_margin, value)),
            maintenance: weights_or(ratio_down(c.maintenance_margin, value)),
        }
    };
    Ok(Position {
        kind: if borrowed {
            PositionKind::Debt
        } else {
            PositionKind::Supply
        },
        side: if borrowed { Side::Short } else { Side::Long },
        asset: asset(ctx, &c.asset_name, &c.asset_name),
        amount: c.amount.abs(),
        price: stamp.price(c.mark_price, format!("margin_watch:{}", c.asset_name)),
        value_usd: value,
        counts_as_collateral: !borrowed,
        weights,
        perp: None,
        option: None,
        greeks: None,
        native: base_native(
            s,
            &c.asset_type,
            c.initial_margin,
            c.maintenance_margin,
            c.mark_value,
        ),
    })
}

/// An `erc20` row among the positions: a balance like a collateral.
fn spot_position(
    ctx: &NormalizeContext<'_>,
    s: &MarginWatch,
    p: &MarginPosition,
    stamp: &Stamp,
) -> Result<Position> {
    let as_collateral = Collateral {
        asset_name: p.instrument_name.clone(),
        asset_type: p.instrument_type.clone(),
        amount: p.amount,
        mark_price: p.mark_price,
        mark_value: p.mark_value,
        initial_margin: p.initial_margin,
        maintenance_margin: p.maintenance_margin,
    };
    collateral(ctx, s, &as_collateral, stamp)
}

fn venue_greeks(p: &MarginPosition) -> Greeks {
    // The venue's greeks are per unit; a position's are per unit × signed size.
    Greeks {
        delta: p.delta * p.amount,
        gamma: p.gamma * p.amount,
        vega: p.vega * p.amount,
        theta: p.theta * p.amount,
    }
}

fn perp(
    ctx: &NormalizeContext<'_>,
    s: &MarginWatch,
    p: &MarginPosition,
    stamp: &Stamp,
) -> Result<Position> {
    let notional = p.amount.abs() * p.mark_price;
    let requirement = |net: Decimal| (p.mark_value - net).max(Decimal::ZERO);
    let weight = |net: Decimal| ratio_up(requirement(net), notional).unwrap_or(Decimal::ONE);
    let currency = instrument::currency(&p.instrument_name);
    let mut native = base_native(
        s,
        "perp",
        p.initial_margin,
        p.maintenance_margin,
        p.mark_value,
    );
    native.insert("index_price".into(), p.index_price.normalize().to_string());
    // margin_watch has no entry price: the one implied by the mark value (funding included).
    native.insert(
        "entry_price_source".into(),
        "implied: mark − mark_value / amount".into(),
    );
    Ok(Position {
        kind: PositionKind::Perp,
        side: if p.amount.is_sign_negative() {
            Side::Short
        } else {
            Side::Long
        },
        asset: asset(ctx, &p.instrument_name, currency),
        amount: p.amount.abs(),
        price: stamp.price(p.mark_price, format!("margin_watch:{}", p.instrument_name)),
        value_usd: notional,
        counts_as_collateral: false,
        weights: RiskWeights {
            initial: weight(p.initial_margin),
            maintenance: weight(p.maintenance_margin),
        },
        perp: Some(PerpDetails {
            market: p.instrument_name.clone(),
            entry_price: p.mark_price - p.mark_value / p.amount,
            mark_price: p.mark_price,
            unrealized_pnl_usd: p.mark_value,
            liquidation_price: p.liquidation_price,
        }),
        option: None,
        greeks: Some(venue_greeks(p)),
        native,
    })
}

/// An option position and whether our greeks agree with the venue's (`None`: not recomputed).
fn option(
    ctx: &NormalizeContext<'_>,
    s: &MarginWatch,
    p: &MarginPosition,
    ticker: Option<&Ticker>,
    stamp: &Stamp,
) -> Result<(Position, Option<bool>)> {
    let name = instrument::parse_option(&p.instrument_name, ctx.params.expiry_hour_utc)?;
    let short = p.amount.is_sign_negative();
    let value = p.mark_value.abs();
    let weights = if value.is_zero() {
        if !p.maintenance_margin.is_zero() || !p.initial_margin.is_zero() {
            return Err(AdapterError::OutOfRange {
                what: format!("{} margin of a zero-value option", p.instrument_name),
                value: p.maintenance_margin.to_string(),
            });
        }
        RiskWeights {
            initial: Decimal::ZERO,
            maintenance: Decimal::ZERO,
        }
    } else if short {
        RiskWeights {
            initial: weights_or(ratio_up(-p.initial_margin, value)),
            maintenance: weights_or(ratio_up(-p.maintenance_margin, value)),
        }
    } else {
        RiskWeights {
            initial: weights_or(ratio_down(p.initial_margin, value)),
            maintenance: weights_or(ratio_down(p.maintenance_margin, value)),
        }
    };
    let reported = venue_greeks(p);
    let mut native = base_native(
        s,
        "option",
        p.initial_margin,
        p.maintenance_margin,
        p.mark_value,
    );
    native.insert("index_price".into(), p.index_price.normalize().to_string());
    let pricing = ticker.and_then(|t| t.option_pricing.as_ref());
    let agrees = match pricing {
        None => {
            native.insert(
                "black76".into(),
                "not recomputed: no ticker for the instrument".into(),
            );
            None
        }
        Some(op) => {
            let pinned = ctx.read_point.timestamp().unwrap_or(0);
            let inputs = black76::Inputs {
                forward: op.forward_price.to_f64().unwrap_or(f64::NAN),
                strike: name.strike.to_f64().unwrap_or(f64::NAN),
                years: (name.expiry as f64 - pinned as f64) / black76::SECONDS_PER_YEAR,
                vol: op.iv.to_f64().unwrap_or(f64::NAN),
            };
            native.insert(
                "black76.inputs".into(),
                format!(
                    "F={} K={} T={}y sigma={}",
                    op.forward_price.normalize(),
                    name.strike.normalize(),
                    inputs.years,
                    op.iv.normalize()
                ),
            );
            match black76::price(name.kind, inputs) {
                None => {
                    native.insert(
                        "black76".into(),
                        "not recomputed: inputs outside the model (expired?)".into(),
                    );
                    None
                }
                Some(out) => Some(record_model(
                    &mut native,
                    out,
                    p.amount,
                    &reported,
                    ctx.params.greeks_tolerance,
                )),
            }
        }
    };
    Ok((
        Position {
            kind: PositionKind::Option,
            side: if short { Side::Short } else { Side::Long },
            asset: asset(ctx, &p.instrument_name, &name.currency),
            amount: p.amount.abs(),
            price: stamp.price(p.mark_price, format!("margin_watch:{}", p.instrument_name)),
            value_usd: value,
            counts_as_collateral: !short,
            weights,
            perp: None,
            option: Some(OptionDetails {
                instrument: p.instrument_name.clone(),
                kind: name.kind,
                strike: name.strike,
                expiry: name.expiry,
                implied_vol: pricing.map(|op| op.iv),
            }),
            greeks: Some(reported),
            native,
        },
        agrees,
    ))
}

/// Writes our position greeks next to the venue's and says whether each pair agrees within the
/// relative tolerance.
fn record_model(
    native: &mut BTreeMap<String, String>,
    out: black76::Output,
    amount: Decimal,
    venue: &Greeks,
    tolerance: Decimal,
) -> bool {
    let size = amount.to_f64().unwrap_or(f64::NAN);
    let tol = tolerance.to_f64().unwrap_or(0.0);
    let mut all = true;
    for (name, ours, theirs) in [
        ("delta", out.delta * size, venue.delta),
        ("gamma", out.gamma * size, venue.gamma),
        ("vega", out.vega * size, venue.vega),
        ("theta", out.theta * size, venue.theta),
    ] {
        let theirs_f = theirs.to_f64().unwrap_or(f64::NAN);
        let agrees = (ours - theirs_f).abs() <= tol * ours.abs().max(theirs_f.abs()) + 1e-12;
        all &= agrees;
        let shown = black76::to_decimal(ours)
            .map(|d| d.to_string())
            .unwrap_or_else(|| "nan".into());
        native.insert(format!("black76.{name}"), shown);
        if !agrees {
            native.insert(
                format!("black76.{name}.disagrees"),
                format!("venue {}", theirs.normalize()),
            );
        }
    }
    native.insert(
        "black76.price".into(),
        black76::to_decimal(out.price)
            .map(|d| d.to_string())
            .unwrap_or_else(|| "nan".into()),
    );
    native.insert("black76.agrees".into(), all.to_string());
    all
}
