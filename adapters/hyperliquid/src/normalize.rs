//! Pure: the venue's replies → one [`ProtocolSnapshot`], with the venue's own figures reproduced
//! from the normalized parts and every disagreement reported.
//!
//! What is reproduced, per dex, from sizes, entry prices, marks (`metaAndAssetCtxs`), leverage and
//! margin tables:
//!
//! * account value = `totalRawUsd + Σ szi × mark` (and the cross account's, from cross positions);
//! * total notional = `Σ |szi| × mark`;
//! * cross margin used = `Σ |szi| × mark / leverage` over cross positions;
//! * cross maintenance margin = `Σ notional × mmr(tier) − deduction(tier)` over cross positions;
//! * each position's value, its isolated margin (`rawUsd + szi × mark`) and its liquidation price.
//!
//! The venue's own health is measured per margin unit (each dex's cross account, each isolated
//! position) as equity ÷ maintenance margin; below 1 the venue liquidates. The snapshot's value is
//! the weakest unit.
//!
//! One dollar appears once: on a standard account the perp cash of each dex
//! (`totalRawUsd + Σ szi × entry`) is a collateral supply and spot balances are separate funds that
//! do not back perps; on a unified or portfolio-margin account the collateral token's spot balance
//! already contains every dex's account value, so the perp cash is not added and the unrealized
//! PnL is taken out of the spot balance (it is counted on the positions). The venue's spot `hold`
//! is checked against the dexes' margin used.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainId, FailureScope, Health, MarketId, NativeHealth, PerpDetails,
    Position, PositionKind, Price, PriceSource, ProtocolId, ProtocolSnapshot, Provenance,
    ReadPoint, RiskWeights, Side, Warning, WarningKind,
};
use unimargin_sdk::{AdapterError, Result};

use crate::{
    HyperliquidParams,
    api::{Leverage, PerpAsset, PerpAssetCtx, SpotMetaAndAssetCtxs},
    fetch::{RawAccount, RawDex, USDC_TOKEN},
    margin::{Tiers, liquidation_price, price_agrees, ratio_up, usd_agrees},
};

/// The metric of [`NativeHealth`]: equity ÷ maintenance margin of the weakest margin unit.
pub const METRIC: &str = "hyperliquid.margin_ratio";

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
    /// The owner.
    pub account: &'a AccountId,
    /// Adapter options.
    pub params: &'a HyperliquidParams,
    /// Wall-clock time the reads completed.
    pub fetched_at: DateTime<Utc>,
}

/// Which balances back which margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountMode {
    /// Perp and spot balances are separate (`default`, `disabled`).
    Standard,
    /// Spot balances are the perp collateral (`unifiedAccount`, `portfolioMargin`).
    Unified,
}

impl AccountMode {
    /// The mode of a `userAbstraction` answer. Unknown modes are an error: guessing which
    /// balances back which margin could count a dollar twice.
    pub fn parse(abstraction: &str, portfolio_margin_enabled: bool) -> Result<Self> {
        match abstraction {
            _ if portfolio_margin_enabled => Ok(Self::Unified),
            "default" | "disabled" => Ok(Self::Standard),
            "unifiedAccount" | "portfolioMargin" => Ok(Self::Unified),
            other => Err(AdapterError::malformed(
                "userAbstraction",
                format!(
                    "account mode `{other}` is not supported: refusing to guess which balances back which margin"
                ),
            )),
        }
    }
}

/// A margin unit's equity and maintenance requirement, reproduced and as the venue reports them.
struct Unit {
    label: String,
    ours: (Decimal, Decimal),
    venue: (Decimal, Decimal),
}

struct Figures<'m> {
    map: &'m mut BTreeMap<String, String>,
    mismatches: &'m mut Vec<String>,
}

impl Figures<'_> {
    /// Records a USD figure both ways and notes a disagreement.
    fn usd(&mut self, key: &str, ours: Decimal, venue: Decimal, terms: usize) {
        self.map
            .insert(format!("{key}.reproduced"), ours.normalize().to_string());
        self.map
            .insert(format!("{key}.venue"), venue.normalize().to_string());
        if !usd_agrees(ours, venue, terms) {
            self.mismatches.push(format!(
                "{key}: reproduced {} vs venue {}",
                ours.normalize(),
                venue.normalize()
            ));
        }
    }
}

/// Normalizes one owner's replies.
pub fn normalize(raw: &RawAccount, ctx: &NormalizeContext<'_>) -> Result<ProtocolSnapshot> {
    let mode = AccountMode::parse(
        &raw.abstraction,
        raw.spot.portfolio_margin_enabled == Some(true),
    )?;
    let pinned = ctx.read_point.timestamp().unwrap_or(0);
    // The venue's clock at the read: every mark of the profile is live at this time.
    let venue_time = raw
        .dexes
        .first()
        .map(|d| d.state.time / 1000)
        .unwrap_or(pinned);
    let prices = Prices {
        spot: raw.spot_meta.as_ref(),
        venue_time,
        pinned,
    };

    let mut positions = Vec::new();
    let mut figures = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut units = Vec::new();
    // Unrealized PnL as the venue states it, per collateral token, to take out of a unified
    // account's spot balance.
    let mut venue_upnl: BTreeMap<u32, Decimal> = BTreeMap::new();
    let mut margin_used: BTreeMap<u32, (Decimal, usize)> = BTreeMap::new();

    figures.insert("account_mode".into(), raw.abstraction.clone());
    for (kind, n) in &raw.requests {
        figures.insert(format!("requests.{kind}"), n.to_string());
    }

    for dex in raw.dexes.iter().filter(|d| d.in_use()) {
        let collateral = dex.collateral_token();
        let collateral_price = prices.token(collateral)?;
        let out = normalize_dex(
            dex,
            ctx,
            &collateral_price,
            &prices,
            &mut Figures {
                map: &mut figures,
                mismatches: &mut mismatches,
            },
        )?;
        *venue_upnl.entry(collateral).or_default() += out.venue_upnl;
        let used = margin_used.entry(collateral).or_default();
        used.0 += dex.state.margin_summary.total_margin_used;
        used.1 += 1;
        units.extend(out.units);
        positions.extend(out.positions);
        if mode == AccountMode::Standard {
            // The dex's own cash: raw USD plus what the positions cost, i.e. account value less PnL.
            let cash = dex.state.margin_summary.total_raw_usd
                + dex
                    .state
                    .asset_positions
                    .iter()
                    .map(|p| p.position.szi * p.position.entry_px)
                    .sum::<Decimal>();
            if !cash.is_zero() {
                let token = prices.token_name(collateral);
                let mut native = BTreeMap::new();
                native.insert("account".into(), "perp".into());
                native.insert("dex".into(), dex_label(&dex.name).into());
                positions.push(balance(
                    ctx,
                    &token,
                    prices.decimals(collateral),
                    cash,
                    collateral_price.clone(),
                    true,
                    Decimal::ONE,
                    native,
                ));
            }
        }
    }

    for b in raw.spot.balances.iter().filter(|b| !b.total.is_zero()) {
        let mut native = BTreeMap::new();
        native.insert("account".into(), "spot".into());
        native.insert("token".into(), b.token.to_string());
        native.insert("hold".into(), b.hold.normalize().to_string());
        native.insert("total".into(), b.total.normalize().to_string());
        if let Some(e) = b.entry_ntl {
            native.insert("entry_ntl".into(), e.normalize().to_string());
        }
        let (amount, collateral, weight) = match mode {
            AccountMode::Standard => (b.total, false, Decimal::ZERO),
            AccountMode::Unified => {
                // The spot balance holds the dexes' account values; their PnL is on the positions.
                let upnl = venue_upnl.get(&b.token).copied().unwrap_or_default();
                if let Some((used, dexes)) = margin_used.get(&b.token) {
                    let mut f = Figures {
                        map: &mut figures,
                        mismatches: &mut mismatches,
                    };
                    f.usd(
                        &format!("crosscheck.{}.spot_hold_vs_perp_margin_used", b.coin),
                        b.hold,
                        *used,
                        *dexes,
                    );
                    native.insert(
                        "perp_unrealized_pnl_removed".into(),
                        upnl.normalize().to_string(),
                    );
                }
                let ltv = b.ltv.filter(|l| *l > Decimal::ZERO);
                match (b.token == USDC_TOKEN, ltv) {
                    (true, _) => (b.total - upnl, true, Decimal::ONE),
                    (false, Some(ltv)) => (b.total - upnl, true, ltv),
                    (false, None) => (b.total - upnl, false, Decimal::ZERO),
                }
            }
        };
        if amount.is_zero() {
            continue;
        }
        let price = prices.token(b.token)?;
        positions.push(balance(
            ctx,
            &b.coin,
            prices.decimals(b.token),
            amount,
            price,
            collateral,
            weight,
            native,
        ));
    }

    let scope = FailureScope {
        chain: Some(ctx.chain.clone()),
        protocol: Some(ctx.protocol.clone()),
        market: Some(ctx.market.clone()),
        account: Some(ctx.account.clone()),
    };
    let mut warnings = Vec::new();
    if positions.is_empty() {
        warnings.push(Warning {
            scope: scope.clone(),
            kind: WarningKind::NoPositions,
            message: "no position, balance or open margin on any dex".into(),
        });
    }
    if !mismatches.is_empty() {
        warnings.push(Warning {
            scope,
            kind: WarningKind::NativeHealthMismatch,
            message: format!(
                "the venue's figures differ from their reproduction: {}",
                mismatches.join("; ")
            ),
        });
    }

    let weakest = |pick: fn(&Unit) -> (Decimal, Decimal)| -> Health {
        units
            .iter()
            .map(|u| {
                let (e, r) = pick(u);
                Health::ratio(e, r)
            })
            .min()
            .unwrap_or(Health::Infinite)
    };
    let reproduced = weakest(|u| u.ours);
    let reported = weakest(|u| u.venue);
    for u in &units {
        figures.insert(
            format!("{}.health.reproduced", u.label),
            Health::ratio(u.ours.0, u.ours.1).to_string(),
        );
        figures.insert(
            format!("{}.health.venue", u.label),
            Health::ratio(u.venue.0, u.venue.1).to_string(),
        );
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

    let mut sources: Vec<String> = raw
        .requests
        .keys()
        .map(|kind| format!("{}/info:{kind}", ctx.chain))
        .collect();
    sources.sort();
    Ok(ProtocolSnapshot {
        provenance: Provenance {
            chain: ctx.chain.clone(),
            read_point: ctx.read_point.clone(),
            protocol: ctx.protocol.clone(),
            market: ctx.market.clone(),
            account: ctx.account.clone(),
            sources,
            fetched_at: ctx.fetched_at,
        },
        positions,
        native_health,
        warnings,
    })
}

struct DexOut {
    positions: Vec<Position>,
    units: Vec<Unit>,
    venue_upnl: Decimal,
}

fn normalize_dex(
    dex: &RawDex,
    ctx: &NormalizeContext<'_>,
    collateral_price: &Price,
    prices: &Prices<'_>,
    f: &mut Figures<'_>,
) -> Result<DexOut> {
    let label = dex_label(&dex.name);
    let state = &dex.state;
    let (meta, asset_ctxs) = dex.meta.as_ref().ok_or_else(|| {
        AdapterError::malformed(format!("dex `{label}`"), "positions without market data")
    })?;
    let by_coin: BTreeMap<&str, (&PerpAsset, Option<&PerpAssetCtx>)> = meta
        .universe
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), (a, asset_ctxs.get(i))))
        .collect();
    let usd = collateral_price.usd;

    let mut out = DexOut {
        positions: Vec::new(),
        units: Vec::new(),
        venue_upnl: Decimal::ZERO,
    };
    let (mut value_all, mut value_cross, mut ntl, mut cross_im, mut cross_mm) = (
        state.margin_summary.total_raw_usd,
        state.cross_margin_summary.total_raw_usd,
        Decimal::ZERO,
        Decimal::ZERO,
        Decimal::ZERO,
    );
    let mut cross_count = 0usize;

    struct Parts<'p> {
        p: &'p crate::api::PerpPosition,
        asset: &'p PerpAsset,
        mark: Decimal,
        notional: Decimal,
        mm: Decimal,
        rate: Decimal,
        tier_leverage: u32,
    }
    let mut parts = Vec::new();
    for ap in &state.asset_positions {
        let p = &ap.position;
        let (asset, actx) = by_coin.get(p.coin.as_str()).copied().ok_or_else(|| {
            AdapterError::malformed(
                format!("metaAndAssetCtxs of dex `{label}`"),
                format!("coin {} is not in the universe", p.coin),
            )
        })?;
        let mark = actx
            .and_then(|c| c.mark_px)
            .filter(|m| *m > Decimal::ZERO)
            .ok_or_else(|| AdapterError::MissingPrice {
                asset: p.coin.clone(),
                detail: format!("no mark price in metaAndAssetCtxs of dex `{label}`"),
            })?;
        let tiers = Tiers::for_asset(asset, &meta.margin_tables)?;
        let notional = p.szi.abs() * mark;
        let tier = tiers.tier(notional);
        let mm = tiers.maintenance_margin(notional);
        value_all += p.szi * mark;
        ntl += notional;
        out.venue_upnl += p.unrealized_pnl;
        if let Leverage::Cross { value } = p.leverage {
            value_cross += p.szi * mark;
            cross_im += notional / Decimal::from(value.max(1));
            cross_mm += mm;
            cross_count += 1;
        }
        parts.push(Parts {
            p,
            asset,
            mark,
            notional,
            mm,
            rate: tier.maintenance_rate,
            tier_leverage: tier.max_leverage,
        });
    }

    let n = parts.len();
    f.usd(
        &format!("{label}.account_value"),
        value_all,
        state.margin_summary.account_value,
        n + 1,
    );
    f.usd(
        &format!("{label}.total_notional"),
        ntl,
        state.margin_summary.total_ntl_pos,
        n,
    );
    f.usd(
        &format!("{label}.cross.account_value"),
        value_cross,
        state.cross_margin_summary.account_value,
        cross_count + 1,
    );
    f.usd(
        &format!("{label}.cross.margin_used"),
        cross_im,
        state.cross_margin_summary.total_margin_used,
        cross_count,
    );
    f.usd(
        &format!("{label}.cross.maintenance_margin"),
        cross_mm,
        state.cross_maintenance_margin_used,
        cross_count,
    );
    f.map.insert(
        format!("{label}.withdrawable.venue"),
        state.withdrawable.normalize().to_string(),
    );
    f.map
        .insert(format!("{label}.time"), state.time.to_string());
    if cross_count > 0 {
        out.units.push(Unit {
            label: format!("{label}.cross"),
            ours: (value_cross, cross_mm),
            venue: (
                state.cross_margin_summary.account_value,
                state.cross_maintenance_margin_used,
            ),
        });
    }

    for part in parts {
        let Parts {
            p,
            asset,
            mark,
            notional,
            mm,
            rate,
            tier_leverage,
        } = part;
        // A HIP-3 coin is `dex:COIN`; the dex is already in the label.
        let symbol = p.coin.rsplit(':').next().unwrap_or(&p.coin).to_owned();
        let key = format!("{label}.{symbol}");
        f.usd(
            &format!("{key}.position_value"),
            notional,
            p.position_value,
            1,
        );
        let available = match &p.leverage {
            Leverage::Cross { .. } => value_cross - cross_mm,
            Leverage::Isolated { raw_usd, .. } => {
                let margin = *raw_usd + p.szi * mark;
                f.usd(&format!("{key}.isolated_margin"), margin, p.margin_used, 1);
                out.units.push(Unit {
                    label: format!("{key}.isolated"),
                    ours: (margin, mm),
                    venue: (p.margin_used, mm),
                });
                margin - mm
            }
        };
        let liq = liquidation_price(mark, p.szi, available, rate);
        let show = |v: Option<Decimal>| {
            v.map(|x| x.normalize().to_string())
                .unwrap_or_else(|| "none".into())
        };
        f.map
            .insert(format!("{key}.liquidation_px.reproduced"), show(liq));
        f.map.insert(
            format!("{key}.liquidation_px.venue"),
            show(p.liquidation_px),
        );
        let agrees = match (liq, p.liquidation_px) {
            (Some(a), Some(b)) => price_agrees(a, b),
            (None, None) => true,
            _ => false,
        };
        if !agrees {
            f.mismatches.push(format!(
                "{key}.liquidation_px: reproduced {} vs venue {}",
                show(liq),
                show(p.liquidation_px)
            ));
        }

        let upnl = p.szi * (mark - p.entry_px);
        let initial = ratio_up(
            notional / Decimal::from(p.leverage.value().max(1)),
            notional,
        )
        .unwrap_or(Decimal::ONE);
        let maintenance = ratio_up(mm, notional).unwrap_or(Decimal::ONE);
        let mut native = BTreeMap::new();
        native.insert("dex".into(), label.to_owned());
        native.insert("leverage_type".into(), p.leverage.label().into());
        native.insert("leverage".into(), p.leverage.value().to_string());
        native.insert("max_leverage".into(), asset.max_leverage.to_string());
        native.insert("tier_max_leverage".into(), tier_leverage.to_string());
        native.insert("maintenance_margin".into(), mm.normalize().to_string());
        native.insert("margin_used".into(), p.margin_used.normalize().to_string());
        native.insert(
            "position_value".into(),
            p.position_value.normalize().to_string(),
        );
        native.insert(
            "unrealized_pnl".into(),
            p.unrealized_pnl.normalize().to_string(),
        );
        native.insert(
            "cum_funding.all_time".into(),
            p.cum_funding.all_time.normalize().to_string(),
        );
        native.insert(
            "cum_funding.since_open".into(),
            p.cum_funding.since_open.normalize().to_string(),
        );
        native.insert(
            "cum_funding.since_change".into(),
            p.cum_funding.since_change.normalize().to_string(),
        );
        native.insert("liquidation_px.reproduced".into(), show(liq));
        native.insert("szi".into(), p.szi.normalize().to_string());
        if asset.only_isolated {
            native.insert("only_isolated".into(), "true".into());
        }
        let price = prices.mark(mark * usd, format!("metaAndAssetCtxs:{label}:{}", p.coin));
        out.positions.push(Position {
            kind: PositionKind::Perp,
            side: if p.szi.is_sign_negative() {
                Side::Short
            } else {
                Side::Long
            },
            asset: Asset {
                id: AssetId {
                    chain: ctx.chain.clone(),
                    namespace: "venue".into(),
                    reference: p.coin.clone(),
                },
                symbol: symbol.clone(),
                decimals: u8::try_from(asset.sz_decimals).unwrap_or(u8::MAX),
                risk_key: ctx.params.risk_key(&symbol),
            },
            amount: p.szi.abs(),
            value_usd: notional * usd,
            price,
            counts_as_collateral: false,
            weights: RiskWeights {
                initial,
                maintenance,
            },
            perp: Some(PerpDetails {
                market: p.coin.clone(),
                entry_price: p.entry_px * usd,
                mark_price: mark * usd,
                unrealized_pnl_usd: upnl * usd,
                liquidation_price: p.liquidation_px.map(|l| l * usd),
            }),
            option: None,
            greeks: None,
            native,
        });
    }
    Ok(out)
}

/// Prices of spot tokens and marks, all stamped with the venue's time of the read.
struct Prices<'a> {
    spot: Option<&'a SpotMetaAndAssetCtxs>,
    venue_time: u64,
    pinned: u64,
}

impl Prices<'_> {
    fn stamp(&self, usd: Decimal, source: PriceSource) -> Price {
        Price {
            usd,
            source,
            updated_at: Utc
                .timestamp_opt(i64::try_from(self.venue_time).unwrap_or(0), 0)
                .single(),
            age_seconds: Some(self.pinned.saturating_sub(self.venue_time)),
        }
    }

    fn mark(&self, usd: Decimal, feed: String) -> Price {
        self.stamp(
            usd,
            PriceSource {
                oracle: "hyperliquid-mark".into(),
                address: None,
                feed: Some(feed),
            },
        )
    }

    /// USD per token: USDC is the venue's unit of account (every market is quoted in it); any
    /// other token is priced by its USDC spot pair's mark.
    fn token(&self, token: u32) -> Result<Price> {
        if token == USDC_TOKEN {
            return Ok(self.stamp(
                Decimal::ONE,
                PriceSource {
                    oracle: "hyperliquid-collateral".into(),
                    address: None,
                    feed: None,
                },
            ));
        }
        let missing = |detail: &str| AdapterError::MissingPrice {
            asset: self.token_name(token),
            detail: detail.into(),
        };
        let (meta, ctxs) = self
            .spot
            .ok_or_else(|| missing("spot market data was not read"))?;
        let pair = meta
            .universe
            .iter()
            .find(|p| p.tokens == [token, USDC_TOKEN])
            .ok_or_else(|| missing("no USDC spot pair"))?;
        let mark = ctxs
            .iter()
            .find(|c| c.coin == pair.name)
            .and_then(|c| c.mark_px)
            .filter(|m| *m > Decimal::ZERO)
            .ok_or_else(|| missing("the USDC spot pair has no mark price"))?;
        Ok(self.stamp(
            mark,
            PriceSource {
                oracle: "hyperliquid-spot-mark".into(),
                address: None,
                feed: Some(format!("spotMetaAndAssetCtxs:{}", pair.name)),
            },
        ))
    }

    fn token_name(&self, token: u32) -> String {
        if token == USDC_TOKEN {
            return "USDC".into();
        }
        self.spot
            .and_then(|(m, _)| m.tokens.iter().find(|t| t.index == token))
            .map(|t| t.name.clone())
            .unwrap_or_else(|| format!("token{token}"))
    }

    fn decimals(&self, token: u32) -> u8 {
        let from_meta = self
            .spot
            .and_then(|(m, _)| m.tokens.iter().find(|t| t.index == token))
            .map(|t| t.wei_decimals);
        // USDC has 8 decimals on HyperCore.
        u8::try_from(from_meta.unwrap_or(8)).unwrap_or(u8::MAX)
    }
}

/// A balance as a supply (or, when negative, a debt of the same token).
#[allow(
    clippy::too_many_arguments,
    reason = "one call site per account kind; a struct would only rename them"
)]
fn balance(
    ctx: &NormalizeContext<'_>,
    symbol: &str,
    decimals: u8,
    amount: Decimal,
    price: Price,
    collateral: bool,
    weight: Decimal,
    native: BTreeMap<String, String>,
) -> Position {
    let debt = amount.is_sign_negative();
    Position {
        kind: if debt {
            PositionKind::Debt
        } else {
            PositionKind::Supply
        },
        side: if debt { Side::Short } else { Side::Long },
        asset: Asset {
            id: AssetId {
                chain: ctx.chain.clone(),
                namespace: "venue".into(),
                reference: symbol.to_owned(),
            },
            symbol: symbol.to_owned(),
            decimals,
            risk_key: ctx.params.risk_key(symbol),
        },
        amount: amount.abs(),
        value_usd: amount.abs() * price.usd,
        price,
        counts_as_collateral: collateral && !debt,
        weights: if debt {
            RiskWeights {
                initial: Decimal::ONE,
                maintenance: Decimal::ONE,
            }
        } else {
            RiskWeights {
                initial: weight,
                maintenance: weight,
            }
        },
        perp: None,
        option: None,
        greeks: None,
        native,
    }
}

fn dex_label(name: &str) -> &str {
    if name.is_empty() { "main" } else { name }
}
