//! Pure normalization of [`DriftRaw`] into a [`ProtocolSnapshot`]: oracle prices checked with
//! Drift's own validity rules, Drift's margin calculation per sub-account (and per isolated perp
//! position), Drift's health and liquidation prices, and one position per spot balance, perp
//! position and isolated deposit.
//!
//! Sub-accounts are margined separately by Drift, so the native health is the worst of them; the
//! figures of each are kept under `sub<id>.…` keys.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainId, FailureScope, Health, MarketId, NativeHealth, PerpDetails,
    Position, PositionKind, Price, PriceSource, ProtocolId, ProtocolSnapshot, Provenance,
    ReadPoint, RiskWeights, Side, Warning, WarningKind,
};
use unimargin_sdk::{
    AdapterError,
    solana::{
        Pubkey,
        oracle::{pyth, switchboard},
    },
};

use crate::{
    config::DriftConfig,
    constants::SPOT_WEIGHT_PRECISION,
    decode::{self, view},
    fetch::DriftRaw,
    layout::{PerpMarket, PrelaunchOracle, PythLazerOracle, SpotMarket, User},
    math::{
        MarginType, health,
        margin::{self, MarginCalculation, Markets, is_high_leverage},
        spot,
    },
    oracle::{self, OraclePriceData, Validity},
    types::{OracleSource, SpotBalanceType},
};

/// Nominal slot time, used only to express a slot delay in seconds in error messages.
const NOMINAL_SLOT_MS: i64 = 400;

/// `User::status` bits meaning the account is being liquidated or is bankrupt.
const STATUS_BEING_LIQUIDATED: u8 = 0b0000_0011;

/// The context of one normalization.
#[derive(Debug, Clone)]
pub struct NormalizeContext<'a> {
    /// Chain.
    pub chain: &'a ChainId,
    /// The pinned read point.
    pub read_point: ReadPoint,
    /// Protocol id.
    pub protocol: &'a ProtocolId,
    /// Market id.
    pub market: &'a MarketId,
    /// The authority whose sub-accounts these are.
    pub account: &'a AccountId,
    /// Deployment.
    pub config: &'a DriftConfig,
    /// When the reads completed.
    pub fetched_at: DateTime<Utc>,
}

impl NormalizeContext<'_> {
    fn caip10(&self, key: &Pubkey) -> String {
        format!("{}:{key}", self.chain)
    }
}

/// A market's oracle price after Drift's validity checks.
#[derive(Debug, Clone)]
struct MarketPrice {
    data: OraclePriceData,
    source: OracleSource,
    feed: Pubkey,
}

fn dec(v: i128, scale: u32, what: &str) -> Result<Decimal, AdapterError> {
    Decimal::try_from_i128_with_scale(v, scale)
        .map(|d| d.normalize())
        .map_err(|_| AdapterError::OutOfRange {
            what: what.to_owned(),
            value: format!("{v}e-{scale}"),
        })
}

fn source_name(source: OracleSource) -> &'static str {
    match source {
        OracleSource::QuoteAsset => "quote-asset",
        OracleSource::Prelaunch => "drift-prelaunch",
        OracleSource::PythPull
        | OracleSource::Pyth1KPull
        | OracleSource::Pyth1MPull
        | OracleSource::PythStableCoinPull => "pyth-pull",
        OracleSource::SwitchboardOnDemand => "switchboard-on-demand",
        OracleSource::PythLazer
        | OracleSource::PythLazer1K
        | OracleSource::PythLazer1M
        | OracleSource::PythLazerStableCoin => "pyth-lazer",
        OracleSource::Pyth
        | OracleSource::Pyth1K
        | OracleSource::Pyth1M
        | OracleSource::PythStableCoin
        | OracleSource::Switchboard => "retired",
    }
}

/// Reads a market's oracle the way its `oracle_source` says and applies Drift's validity rules
/// for a margin calculation, then the configured age limit. Fails closed with the feed named.
fn market_price(
    raw: &DriftRaw,
    ctx: &NormalizeContext<'_>,
    label: &str,
    feed: Pubkey,
    source: u8,
    last_twap: i64,
    conf_multiplier: u64,
) -> Result<MarketPrice, AdapterError> {
    let cfg = ctx.config;
    let source = OracleSource::from_u8(source).ok_or_else(|| {
        AdapterError::malformed(label.to_owned(), format!("unknown oracle source {source}"))
    })?;
    let missing = |detail: String| AdapterError::MissingPrice {
        asset: label.to_owned(),
        detail,
    };
    let data = if source == OracleSource::QuoteAsset {
        oracle::quote_asset()
    } else {
        let account = raw
            .oracles
            .get(&feed)
            .ok_or_else(|| missing(format!("oracle {} does not exist", ctx.caip10(&feed))))?;
        let converted = match source {
            OracleSource::PythPull
            | OracleSource::Pyth1KPull
            | OracleSource::Pyth1MPull
            | OracleSource::PythStableCoinPull => {
                let update =
                    pyth::decode_price_update_v2(&feed, account, &cfg.pyth_receiver_program)?;
                oracle::from_quote(&update.quote(feed), source, raw.slot)
            }
            OracleSource::SwitchboardOnDemand => {
                let pull = switchboard::decode_pull_feed(&feed, account, &cfg.switchboard_program)?;
                oracle::from_quote(&pull.quote(feed), source, raw.slot)
            }
            OracleSource::PythLazer
            | OracleSource::PythLazer1K
            | OracleSource::PythLazer1M
            | OracleSource::PythLazerStableCoin => {
                let lazer: &PythLazerOracle = view(&cfg.program_id, &feed, account)?;
                oracle::from_lazer(lazer, source, raw.slot)
            }
            OracleSource::Prelaunch => {
                let pre: &PrelaunchOracle = view(&cfg.program_id, &feed, account)?;
                Ok(oracle::from_prelaunch(pre, raw.slot))
            }
            other => Err(oracle::OracleError::Unsupported(other)),
        };
        converted.map_err(|e| missing(format!("oracle {}: {e}", ctx.caip10(&feed))))?
    };
    let rails = &raw.state.oracle_guard_rails.validity;
    match oracle::validity(&data, last_twap, rails, conf_multiplier) {
        Validity::Valid => {}
        Validity::StaleForMargin => {
            let max = rails.slots_before_stale_for_margin.get();
            return Err(AdapterError::StalePrice {
                asset: label.to_owned(),
                feed: format!(
                    "{} ({} slots old, Drift allows {max} for margin)",
                    ctx.caip10(&feed),
                    data.delay
                ),
                age_secs: u64::try_from(data.delay.saturating_mul(NOMINAL_SLOT_MS) / 1000)
                    .unwrap_or(0),
                max_age_secs: u64::try_from(max.saturating_mul(NOMINAL_SLOT_MS) / 1000)
                    .unwrap_or(0),
            });
        }
        invalid => {
            return Err(missing(format!(
                "oracle {} is invalid for a margin calculation ({invalid:?}): price {} conf {} twap {last_twap}",
                ctx.caip10(&feed),
                data.price,
                data.confidence
            )));
        }
    }
    if let Some(published) = data.publish_time {
        let age = raw.unix_timestamp.saturating_sub(published);
        if age > 0 && age as u64 > cfg.guard.max_age_secs {
            return Err(AdapterError::StalePrice {
                asset: label.to_owned(),
                feed: ctx.caip10(&feed),
                age_secs: age as u64,
                max_age_secs: cfg.guard.max_age_secs,
            });
        }
    }
    Ok(MarketPrice { data, source, feed })
}

fn price_of(
    p: &MarketPrice,
    ctx: &NormalizeContext<'_>,
    unix_timestamp: i64,
) -> Result<Price, AdapterError> {
    let (updated_at, age_seconds) = match (p.source, p.data.publish_time) {
        (OracleSource::QuoteAsset, _) => (DateTime::from_timestamp(unix_timestamp, 0), Some(0)),
        (_, Some(t)) => (
            DateTime::from_timestamp(t, 0),
            Some(u64::try_from(unix_timestamp.saturating_sub(t)).unwrap_or(0)),
        ),
        (_, None) => (None, None),
    };
    Ok(Price {
        usd: dec(i128::from(p.data.price), 6, "oracle price")?,
        source: PriceSource {
            oracle: source_name(p.source).to_owned(),
            address: (p.feed != Pubkey::default()).then(|| ctx.caip10(&p.feed)),
            feed: None,
        },
        updated_at,
        age_seconds,
    })
}

fn weight(w: u32) -> Result<Decimal, AdapterError> {
    dec(i128::from(w), 4, "weight")
}

/// Normalizes everything read for one authority.
pub fn normalize(
    raw: &DriftRaw,
    ctx: &NormalizeContext<'_>,
) -> Result<ProtocolSnapshot, AdapterError> {
    let cfg = ctx.config;
    // Prices of the markets the positions use, each checked once. The quote market is always
    // read, but an account that neither holds it nor trades perps does not depend on its price.
    let used_spot: std::collections::BTreeSet<u16> = raw
        .users
        .iter()
        .flat_map(|u| {
            u.user
                .spot_positions
                .iter()
                .filter(|p| !margin::spot_is_available(p))
                .map(|p| p.market_index.get())
        })
        .chain(
            raw.perp_markets
                .values()
                .map(|m| m.market.quote_spot_market_index.get()),
        )
        .collect();
    let mut spot_prices: BTreeMap<u16, MarketPrice> = BTreeMap::new();
    for (index, m) in raw
        .spot_markets
        .iter()
        .filter(|(i, _)| used_spot.contains(i))
    {
        let market = &m.market;
        let label = format!("drift spot market {index} ({})", decode::name(&market.name));
        let p = market_price(
            raw,
            ctx,
            &label,
            Pubkey::new_from_array(market.oracle.0),
            market.oracle_source,
            market.historical_oracle_data.last_oracle_price_twap.get(),
            oracle::spot_conf_multiplier(market.asset_tier),
        )?;
        spot_prices.insert(*index, p);
    }
    let mut perp_prices: BTreeMap<u16, MarketPrice> = BTreeMap::new();
    for (index, m) in &raw.perp_markets {
        let market = &m.market;
        let label = format!("drift perp market {index} ({})", decode::name(&market.name));
        let p = market_price(
            raw,
            ctx,
            &label,
            Pubkey::new_from_array(market.amm.oracle.0),
            market.amm.oracle_source,
            market
                .amm
                .historical_oracle_data
                .last_oracle_price_twap
                .get(),
            oracle::perp_conf_multiplier(market.contract_tier),
        )?;
        perp_prices.insert(*index, p);
    }
    let markets = Markets {
        spot: raw
            .spot_markets
            .iter()
            .filter_map(|(i, m)| spot_prices.get(i).map(|p| (*i, (&*m.market, p.data.price))))
            .collect(),
        perp: raw
            .perp_markets
            .iter()
            .map(|(i, m)| (*i, (&*m.market, perp_prices[i].data.price)))
            .collect(),
    };

    let mut positions = Vec::new();
    let mut figures = BTreeMap::new();
    let mut worst = Health::Infinite;
    let mut any_liquidatable = false;
    let mut sources = vec![ctx.caip10(&cfg.program_id)];
    for u in &raw.users {
        sources.push(ctx.caip10(&u.address));
        let user = &*u.user;
        let maint = margin::calculate(user, &markets, MarginType::Maintenance)
            .map_err(|e| AdapterError::malformed(format!("drift user {}", u.address), e))?;
        let init = margin::calculate(user, &markets, MarginType::Initial)
            .map_err(|e| AdapterError::malformed(format!("drift user {}", u.address), e))?;
        let being_liquidated = user.status & STATUS_BEING_LIQUIDATED != 0;
        let prefix = format!("sub{}", u.sub_account_id);
        account_figures(&mut figures, &prefix, &maint, &init, being_liquidated);
        let cross = Health::ratio(
            dec(maint.total_collateral, 6, "total collateral")?,
            dec(maint.margin_requirement as i128, 6, "margin requirement")?,
        );
        worst = worst.min(cross);
        any_liquidatable |= being_liquidated || !maint.meets_margin_requirement();
        for iso in &maint.isolated {
            let h = Health::ratio(
                dec(iso.total_collateral, 6, "isolated collateral")?,
                dec(iso.margin_requirement as i128, 6, "isolated requirement")?,
            );
            worst = worst.min(h);
            figures.insert(
                format!("{prefix}.isolated{}.total_collateral", iso.market_index),
                iso.total_collateral.to_string(),
            );
            figures.insert(
                format!(
                    "{prefix}.isolated{}.maintenance_requirement",
                    iso.market_index
                ),
                iso.margin_requirement.to_string(),
            );
        }
        spot_positions(
            raw,
            ctx,
            u.sub_account_id,
            user,
            &maint,
            &spot_prices,
            &mut positions,
        )?;
        perp_positions(
            raw,
            ctx,
            u.sub_account_id,
            user,
            &maint,
            &init,
            &perp_prices,
            &spot_prices,
            &mut positions,
        )?;
    }

    let mut native = NativeHealth::new("drift.margin_ratio", worst, None);
    native.liquidatable = native.liquidatable || any_liquidatable;
    native.figures = figures;

    let mut warnings = Vec::new();
    if positions.is_empty() {
        warnings.push(Warning {
            scope: FailureScope {
                chain: Some(ctx.chain.clone()),
                protocol: Some(ctx.protocol.clone()),
                market: Some(ctx.market.clone()),
                account: Some(ctx.account.clone()),
            },
            kind: WarningKind::NoPositions,
            message: format!(
                "{} of sub-accounts 0..{} exist and hold no position",
                raw.users.len(),
                cfg.max_sub_accounts
            ),
        });
    }

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
        native_health: native,
        warnings,
    })
}

fn account_figures(
    figures: &mut BTreeMap<String, String>,
    prefix: &str,
    maint: &MarginCalculation,
    init: &MarginCalculation,
    being_liquidated: bool,
) {
    let h = health::health(
        maint.total_collateral,
        maint.margin_requirement,
        being_liquidated,
    );
    figures.insert(format!("{prefix}.health"), h.to_string());
    figures.insert(
        format!("{prefix}.total_collateral_maintenance"),
        maint.total_collateral.to_string(),
    );
    figures.insert(
        format!("{prefix}.maintenance_requirement"),
        maint.margin_requirement.to_string(),
    );
    figures.insert(
        format!("{prefix}.total_collateral_initial"),
        init.total_collateral.to_string(),
    );
    figures.insert(
        format!("{prefix}.initial_requirement"),
        init.margin_requirement.to_string(),
    );
    figures.insert(
        format!("{prefix}.free_collateral"),
        (init.total_collateral - init.margin_requirement as i128)
            .max(0)
            .to_string(),
    );
    figures.insert(
        format!("{prefix}.being_liquidated"),
        being_liquidated.to_string(),
    );
}

fn spot_asset(ctx: &NormalizeContext<'_>, market: &SpotMarket) -> Asset {
    let symbol = decode::name(&market.name);
    Asset {
        id: AssetId {
            chain: ctx.chain.clone(),
            namespace: "spl".into(),
            reference: market.mint.to_base58(),
        },
        risk_key: ctx.config.risk_key(&symbol),
        symbol,
        decimals: u8::try_from(market.decimals.get()).unwrap_or(u8::MAX),
    }
}

#[allow(clippy::too_many_arguments)]
fn spot_positions(
    raw: &DriftRaw,
    ctx: &NormalizeContext<'_>,
    sub_account_id: u16,
    user: &User,
    maint: &MarginCalculation,
    prices: &BTreeMap<u16, MarketPrice>,
    out: &mut Vec<Position>,
) -> Result<(), AdapterError> {
    for line in &maint.spot {
        if line.token_amount == 0 {
            continue;
        }
        let index = line.market_index;
        let market = &*raw.spot_markets[&index].market;
        let price = &prices[&index];
        let decimals = market.decimals.get();
        let size = line.token_amount.unsigned_abs();
        let value = spot::token_value(line.token_amount, decimals, price.data.price)
            .map_err(|e| AdapterError::malformed(format!("drift spot market {index}"), e))?;
        let borrow = line.token_amount < 0;
        let quote = index == crate::constants::QUOTE_SPOT_MARKET_INDEX;
        let math = |e: crate::math::MathError| {
            AdapterError::malformed(format!("drift spot market {index}"), e)
        };
        let (w_init, w_maint) = if quote {
            (SPOT_WEIGHT_PRECISION as u32, SPOT_WEIGHT_PRECISION as u32)
        } else if borrow {
            (
                spot::liability_weight(market, size, MarginType::Initial).map_err(math)?,
                spot::liability_weight(market, size, MarginType::Maintenance).map_err(math)?,
            )
        } else {
            (
                spot::asset_weight(market, size, price.data.price, MarginType::Initial)
                    .map_err(math)?,
                spot::asset_weight(market, size, price.data.price, MarginType::Maintenance)
                    .map_err(math)?,
            )
        };
        let position = user
            .spot_positions
            .iter()
            .find(|p| p.market_index.get() == index);
        let mut native = BTreeMap::new();
        native.insert("sub_account".into(), sub_account_id.to_string());
        native.insert("market_index".into(), index.to_string());
        if let Some(p) = position {
            native.insert("scaled_balance".into(), p.scaled_balance.get().to_string());
            native.insert("open_bids".into(), p.open_bids.get().to_string());
            native.insert("open_asks".into(), p.open_asks.get().to_string());
            native.insert(
                "balance_type".into(),
                format!(
                    "{:?}",
                    SpotBalanceType::from_u8(p.balance_type).unwrap_or(SpotBalanceType::Deposit)
                ),
            );
        }
        let interest = if borrow {
            market.cumulative_borrow_interest.get()
        } else {
            market.cumulative_deposit_interest.get()
        };
        native.insert("cumulative_interest".into(), interest.to_string());
        native.insert("token_value".into(), value.to_string());
        native.insert(
            "weighted_token_value_maintenance".into(),
            line.worst.weighted_token_value.to_string(),
        );
        out.push(Position {
            kind: if borrow {
                PositionKind::Debt
            } else {
                PositionKind::Supply
            },
            side: if borrow { Side::Short } else { Side::Long },
            asset: spot_asset(ctx, market),
            amount: dec(size as i128, decimals, "token amount")?,
            price: price_of(price, ctx, raw.unix_timestamp)?,
            value_usd: dec(value.unsigned_abs() as i128, 6, "token value")?,
            counts_as_collateral: !borrow && (w_init > 0 || w_maint > 0),
            weights: RiskWeights {
                initial: weight(w_init)?,
                maintenance: weight(w_maint)?,
            },
            perp: None,
            option: None,
            greeks: None,
            native,
        });
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn perp_positions(
    raw: &DriftRaw,
    ctx: &NormalizeContext<'_>,
    sub_account_id: u16,
    user: &User,
    maint: &MarginCalculation,
    init: &MarginCalculation,
    prices: &BTreeMap<u16, MarketPrice>,
    spot_prices: &BTreeMap<u16, MarketPrice>,
    out: &mut Vec<Position>,
) -> Result<(), AdapterError> {
    let hlm = is_high_leverage(user, MarginType::Maintenance);
    for (line, init_line) in maint.perp.iter().zip(&init.perp) {
        let index = line.market_index;
        let account = &raw.perp_markets[&index];
        let market: &PerpMarket = &account.market;
        let name = decode::name(&market.name);
        let math = |e: crate::math::MathError| {
            AdapterError::malformed(format!("drift perp market {index}"), e)
        };
        let free_collateral = if line.isolated {
            maint
                .isolated
                .iter()
                .find(|i| i.market_index == index)
                .map_or(0, |i| {
                    (i.total_collateral - i.margin_requirement as i128).max(0)
                })
        } else {
            maint.free_collateral()
        };
        let liq = health::liquidation_price(market, line.base, line.price, free_collateral, hlm)
            .map_err(math)?;
        let base_abs = i128::from(line.base.unsigned_abs());
        let amount = dec(base_abs, 9, "base amount")?;
        let position = user
            .perp_positions
            .iter()
            .find(|p| p.market_index.get() == index);
        let entry_price = match position {
            Some(p) if line.base != 0 => {
                dec(
                    i128::from(p.quote_entry_amount.get()).abs(),
                    6,
                    "quote entry amount",
                )? / amount
            }
            _ => Decimal::ZERO,
        };
        let mut native = BTreeMap::new();
        native.insert("sub_account".into(), sub_account_id.to_string());
        native.insert("market_index".into(), index.to_string());
        native.insert("base_asset_amount".into(), line.base.to_string());
        native.insert("quote_asset_amount".into(), line.quote.to_string());
        native.insert("unsettled_funding".into(), line.funding.to_string());
        native.insert(
            "worst_case_base_asset_amount".into(),
            line.worst_case_base.to_string(),
        );
        native.insert(
            "margin_requirement_maintenance".into(),
            line.margin_requirement.to_string(),
        );
        native.insert(
            "weighted_pnl_maintenance".into(),
            line.weighted_pnl.to_string(),
        );
        native.insert(
            "weighted_pnl_initial".into(),
            init_line.weighted_pnl.to_string(),
        );
        native.insert("isolated".into(), line.isolated.to_string());
        if let Some(p) = position {
            native.insert("open_bids".into(), p.open_bids.get().to_string());
            native.insert("open_asks".into(), p.open_asks.get().to_string());
            native.insert(
                "last_cumulative_funding_rate".into(),
                p.last_cumulative_funding_rate.get().to_string(),
            );
        }
        let symbol = name.trim_end_matches("-PERP").to_owned();
        out.push(Position {
            kind: PositionKind::Perp,
            side: if line.base < 0 {
                Side::Short
            } else {
                Side::Long
            },
            asset: Asset {
                id: AssetId {
                    chain: ctx.chain.clone(),
                    namespace: "drift-perp".into(),
                    reference: account.address.to_string(),
                },
                risk_key: ctx.config.risk_key(&symbol),
                symbol: name.clone(),
                decimals: 9,
            },
            amount,
            price: price_of(&prices[&index], ctx, raw.unix_timestamp)?,
            value_usd: dec(line.base_value as i128, 6, "base asset value")?,
            counts_as_collateral: false,
            weights: RiskWeights {
                initial: weight(init_line.margin_ratio)?,
                maintenance: weight(line.margin_ratio)?,
            },
            perp: Some(PerpDetails {
                market: name,
                entry_price,
                mark_price: dec(i128::from(line.price), 6, "oracle price")?,
                unrealized_pnl_usd: dec(line.unrealized_pnl, 6, "unrealized pnl")?,
                liquidation_price: liq
                    .map(|p| dec(i128::from(p), 6, "liquidation price"))
                    .transpose()?,
            }),
            option: None,
            greeks: None,
            native,
        });
        if line.isolated {
            // The isolated deposit backs this position only; it is still the account's USDC.
            if let Some(p) = position {
                let quote_index = market.quote_spot_market_index.get();
                let quote_market = &*raw.spot_markets[&quote_index].market;
                let deposit = spot::token_amount(
                    u128::from(p.isolated_position_scaled_balance.get()),
                    quote_market,
                    SpotBalanceType::Deposit,
                )
                .map_err(math)?;
                if deposit > 0 {
                    let quote_price = &spot_prices[&quote_index];
                    let value = spot::token_value(
                        deposit as i128,
                        quote_market.decimals.get(),
                        quote_price.data.price,
                    )
                    .map_err(math)?;
                    let mut native = BTreeMap::new();
                    native.insert("sub_account".into(), sub_account_id.to_string());
                    native.insert("isolated_perp_market".into(), index.to_string());
                    out.push(Position {
                        kind: PositionKind::Supply,
                        side: Side::Long,
                        asset: spot_asset(ctx, quote_market),
                        amount: dec(
                            deposit as i128,
                            quote_market.decimals.get(),
                            "isolated deposit",
                        )?,
                        price: price_of(quote_price, ctx, raw.unix_timestamp)?,
                        value_usd: dec(value, 6, "isolated deposit value")?,
                        counts_as_collateral: true,
                        weights: RiskWeights {
                            initial: Decimal::ONE,
                            maintenance: Decimal::ONE,
                        },
                        perp: None,
                        option: None,
                        greeks: None,
                        native,
                    });
                }
            }
        }
    }
    Ok(())
}
