//! Pure normalization: one raw market read → one snapshot, with Morpho's health reproduced with
//! Morpho's own integer arithmetic and checked against Morpho's own verdict.
//!
//! * Interest is accrued to the read block's timestamp as `_accrueInterest` does
//!   ([`math::accrue`]); supply shares convert with `toAssetsDown`, borrow shares with
//!   `toAssetsUp` (virtual shares 1e6, virtual assets 1).
//! * Positions: the collateral is a supply that counts as collateral with initial = maintenance
//!   weight = LLTV (Morpho has one threshold: borrowing and liquidation both test
//!   `borrowed ≤ collateral × price × LLTV`); the loan-token supply is a supply that is *not*
//!   collateral (Morpho lends it out, it backs nothing); the borrow is a debt of weight 1.
//! * Prices: the loan token's USD price comes from its configured feed (with its age); the
//!   collateral's is Morpho's oracle price (collateral in loan units) times that, so the engine
//!   values the market exactly as Morpho does. Morpho's oracles expose no update time, so the
//!   collateral price's age is unknown.
//! * Native health: `maxBorrow / borrowed` (`morpho-blue.health_factor`, below 1 liquidatable),
//!   reproduced; Morpho reports no ratio, only a verdict (the liquidation probe of
//!   [`fetch`](crate::fetch)), so `reported` stays empty and `agrees` compares the verdicts. When
//!   Morpho says liquidatable and the reproduction does not, the value relied on is 0.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainId, FailureScope, Health, MarketId, NativeHealth, Position,
    PositionKind, Price, PriceSource, ProtocolId, ProtocolSnapshot, Provenance, ReadPoint,
    RiskWeights, Side, Warning, WarningKind,
};
use unimargin_sdk::{
    AdapterError, Result,
    units::{Rounding, scale},
};

use crate::{
    config::MorphoDeployment,
    fetch::{FeedRead, RawMarket, TokenRead, stored_totals},
    math,
};

/// Metric name of Morpho's health factor (`maxBorrow / borrowed`).
pub const METRIC: &str = "morpho-blue.health_factor";

/// The [`MarketId`] of a Morpho market: its id as 0x-prefixed lower-case hex.
pub fn market_label(id: &B256) -> MarketId {
    MarketId(format!("{id:#x}"))
}

/// Where the snapshot is being produced (everything that is not in the raw data).
#[derive(Debug, Clone)]
pub struct NormalizeContext<'a> {
    /// Chain.
    pub chain: &'a ChainId,
    /// Pinned read point.
    pub read_point: ReadPoint,
    /// Protocol id (`morpho-blue`).
    pub protocol: &'a ProtocolId,
    /// The account.
    pub account: &'a AccountId,
    /// Deployment configuration (risk keys, Morpho's address).
    pub deployment: &'a MorphoDeployment,
    /// When the reads completed.
    pub fetched_at: DateTime<Utc>,
}

/// A resolved token: metadata the normalization needs.
struct Token {
    address: Address,
    symbol: String,
    decimals: u8,
}

fn token(read: &TokenRead) -> Result<Token> {
    let decimals = read.decimals.clone()?;
    if decimals > 77 {
        return Err(AdapterError::malformed(
            format!("decimals() of {}", read.address),
            format!("{decimals} decimals"),
        ));
    }
    Ok(Token {
        address: read.address,
        // A token whose symbol() is not a string is named by its address (and so gets its own
        // risk group): cosmetic, never a reason to fail.
        symbol: read
            .symbol
            .clone()
            .unwrap_or_else(|| read.address.to_checksum(None)),
        decimals,
    })
}

fn decimal_of(
    raw: U256,
    decimals: u8,
    rounding: Rounding,
    notes: &mut Vec<String>,
    what: &str,
) -> Result<Decimal> {
    let s = scale(raw, u32::from(decimals), rounding)?;
    if s.rounded {
        notes.push(format!("{what} rounded to fit 28 significant digits"));
    }
    Ok(s.value)
}

fn mul_usd(a: Decimal, b: Decimal, what: &str) -> Result<Decimal> {
    a.checked_mul(b)
        .map(|d| d.normalize())
        .ok_or_else(|| AdapterError::OutOfRange {
            what: format!("{what} in USD"),
            value: format!("{a} × {b}"),
        })
}

fn pow10(n: u32) -> Result<U256> {
    U256::from(10u8)
        .checked_pow(U256::from(n))
        .ok_or_else(|| AdapterError::OutOfRange {
            what: "power of ten".into(),
            value: n.to_string(),
        })
}

/// Loan units per whole collateral token: `price × 10^collateral_decimals / 10^(36 + loan_decimals)`,
/// rounded down (never overstates collateral).
fn collateral_in_loan_units(
    price: U256,
    loan_decimals: u8,
    collateral_decimals: u8,
) -> Result<Decimal> {
    let exponent = 36 + i64::from(loan_decimals) - i64::from(collateral_decimals);
    if exponent >= 0 {
        let exponent = u32::try_from(exponent).map_err(|_| AdapterError::OutOfRange {
            what: "oracle price scale".into(),
            value: exponent.to_string(),
        })?;
        return Ok(scale(price, exponent, Rounding::Down)?.value);
    }
    let factor = pow10(u32::try_from(-exponent).unwrap_or(u32::MAX))?;
    let raw = price
        .checked_mul(factor)
        .ok_or_else(|| AdapterError::OutOfRange {
            what: "oracle price".into(),
            value: price.to_string(),
        })?;
    Ok(scale(raw, 0, Rounding::Down)?.value)
}

/// The loan token's USD price from its feed.
fn usd_price(
    feed: &FeedRead,
    loan: &Token,
    now: u64,
    chain_ref: &dyn Fn(Address) -> String,
) -> Result<Price> {
    if feed.answer <= alloy::primitives::I256::ZERO {
        return Err(AdapterError::MissingPrice {
            asset: loan.symbol.clone(),
            detail: format!("USD feed {} answers {}", feed.feed, feed.answer),
        });
    }
    let usd = scale(
        feed.answer.into_raw(),
        u32::from(feed.decimals),
        Rounding::Down,
    )?
    .value;
    let updated = (!feed.updated_at.is_zero() && feed.updated_at <= U256::from(u64::MAX))
        .then(|| feed.updated_at.to::<u64>());
    Ok(Price {
        usd: usd.normalize(),
        source: PriceSource {
            oracle: "chainlink".into(),
            address: Some(chain_ref(feed.feed)),
            feed: Some(chain_ref(feed.feed)),
        },
        updated_at: updated.and_then(|t| Utc.timestamp_opt(i64::try_from(t).ok()?, 0).single()),
        age_seconds: updated.map(|t| now.saturating_sub(t)),
    })
}

fn wad_decimal(v: U256) -> Result<Decimal> {
    Ok(scale(v, 18, Rounding::Down)?.value.normalize())
}

/// Normalizes one raw market read into a snapshot. Pure and deterministic.
pub fn normalize(raw: &RawMarket, ctx: &NormalizeContext<'_>) -> Result<ProtocolSnapshot> {
    let now = raw.block_timestamp;
    let market = market_label(&raw.id);
    let chain_ref = |a: Address| format!("{}:{}", ctx.chain, a.to_checksum(None));
    let mut notes: Vec<String> = Vec::new();

    // Accrue the stored totals to the block, as a transaction at this block would.
    let m = &raw.market;
    let last_update = u64::try_from(m.lastUpdate).unwrap_or(u64::MAX);
    let irm_set = raw.params.irm != Address::ZERO;
    let accrual = math::accrue(
        stored_totals(m),
        last_update,
        U256::from(m.fee),
        irm_set,
        raw.borrow_rate,
        now,
    )?;
    let totals = accrual.totals;

    // Accrual mints the fee shares to the fee recipient, whose stored shares do not show them yet.
    let mut supply_shares = raw.position.supplyShares;
    if raw.owner == raw.fee_recipient {
        supply_shares = supply_shares
            .checked_add(accrual.fee_shares)
            .ok_or_else(|| AdapterError::OutOfRange {
                what: "fee recipient's supply shares".into(),
                value: supply_shares.to_string(),
            })?;
    }
    let borrow_shares = U256::from(raw.position.borrowShares);
    let collateral = U256::from(raw.position.collateral);
    let supply_assets =
        math::to_assets_down(supply_shares, totals.supply_assets, totals.supply_shares)?;
    let lltv = raw.params.lltv;

    // The oracle price is needed as soon as there is collateral or debt.
    let price = if collateral.is_zero() && borrow_shares.is_zero() {
        None
    } else {
        Some(raw.price.clone().map_err(|e| {
            match e {
                // An oracle that reverts has no usable price: the position cannot be valued.
                AdapterError::CallReverted { target, reason, .. } => AdapterError::MissingPrice {
                    asset: raw
                        .collateral
                        .as_ref()
                        .and_then(|c| c.symbol.clone())
                        .unwrap_or_else(|| format!("collateral of {market}")),
                    detail: format!(
                        "oracle {target} reverted{}",
                        reason.map(|r| format!(": {r}")).unwrap_or_default()
                    ),
                },
                other => other,
            }
        })?)
    };
    let parts = match price {
        Some(p) => math::health_parts(borrow_shares, collateral, &totals, p, lltv)?,
        None => math::HealthParts {
            borrowed: math::to_assets_up(
                borrow_shares,
                totals.borrow_assets,
                totals.borrow_shares,
            )?,
            collateral_value: U256::ZERO,
            max_borrow: U256::ZERO,
        },
    };
    let liquidation_price = math::liquidation_price(parts.borrowed, collateral, lltv)?;

    let mut positions = Vec::new();
    let holds_loan = !supply_assets.is_zero() || !parts.borrowed.is_zero();
    if holds_loan || !collateral.is_zero() {
        let loan = token(&raw.loan)?;
        let feed = match &raw.usd_feed {
            Some(feed) => feed.clone()?,
            None => {
                return Err(AdapterError::MissingPrice {
                    asset: loan.symbol.clone(),
                    detail: format!(
                        "no usd_feeds entry for loan token {}",
                        loan.address.to_checksum(None)
                    ),
                });
            }
        };
        let loan_price = usd_price(&feed, &loan, now, &chain_ref)?;
        let asset = |t: &Token| Asset {
            id: AssetId {
                chain: ctx.chain.clone(),
                namespace: "erc20".into(),
                reference: t.address.to_checksum(None),
            },
            symbol: t.symbol.clone(),
            decimals: t.decimals,
            risk_key: ctx.deployment.risk_key(&t.symbol),
        };
        let lltv_dec = wad_decimal(lltv)?;
        let common = BTreeMap::from([
            ("market_id".to_owned(), market.0.clone()),
            ("lltv_wad".to_owned(), lltv.to_string()),
        ]);

        if !collateral.is_zero() {
            let coll_read = raw.collateral.as_ref().ok_or_else(|| {
                AdapterError::malformed("idToMarketParams", "collateral without a collateral token")
            })?;
            let coll = token(coll_read)?;
            let oracle_price = price.unwrap_or_default();
            let usd = mul_usd(
                collateral_in_loan_units(oracle_price, loan.decimals, coll.decimals)?,
                loan_price.usd,
                &coll.symbol,
            )?;
            let amount = decimal_of(
                collateral,
                coll.decimals,
                Rounding::Down,
                &mut notes,
                &coll.symbol,
            )?;
            let mut native = common.clone();
            native.insert("oracle_price".into(), oracle_price.to_string());
            native.insert("collateral_base_units".into(), collateral.to_string());
            if let Some(p) = liquidation_price {
                native.insert("liquidation_price_oracle".into(), p.to_string());
                let usd_per_token = mul_usd(
                    collateral_in_loan_units(p, loan.decimals, coll.decimals)?,
                    loan_price.usd,
                    "liquidation price",
                )?;
                native.insert("liquidation_price_usd".into(), usd_per_token.to_string());
            }
            positions.push(Position {
                kind: PositionKind::Supply,
                side: Side::Long,
                asset: asset(&coll),
                amount: amount.normalize(),
                value_usd: mul_usd(amount, usd, &coll.symbol)?,
                price: Price {
                    usd,
                    source: PriceSource {
                        oracle: "morpho-oracle".into(),
                        address: Some(chain_ref(raw.params.oracle)),
                        // The USD leg: Morpho's oracle prices the collateral in loan units.
                        feed: Some(chain_ref(feed.feed)),
                    },
                    updated_at: None,
                    age_seconds: None,
                },
                counts_as_collateral: !lltv.is_zero(),
                weights: RiskWeights {
                    initial: lltv_dec,
                    maintenance: lltv_dec,
                },
                perp: None,
                option: None,
                greeks: None,
                native,
            });
        }
        if !supply_assets.is_zero() {
            let amount = decimal_of(
                supply_assets,
                loan.decimals,
                Rounding::Down,
                &mut notes,
                &loan.symbol,
            )?;
            let mut native = common.clone();
            native.insert("supply_shares".into(), supply_shares.to_string());
            native.insert(
                "total_supply_assets".into(),
                totals.supply_assets.to_string(),
            );
            native.insert(
                "total_supply_shares".into(),
                totals.supply_shares.to_string(),
            );
            native.insert("balance_base_units".into(), supply_assets.to_string());
            positions.push(Position {
                kind: PositionKind::Supply,
                side: Side::Long,
                asset: asset(&loan),
                amount: amount.normalize(),
                value_usd: mul_usd(amount, loan_price.usd, &loan.symbol)?,
                price: loan_price.clone(),
                // Supplied loan tokens are lent out; Morpho counts them as nobody's collateral.
                counts_as_collateral: false,
                weights: RiskWeights {
                    initial: Decimal::ZERO,
                    maintenance: Decimal::ZERO,
                },
                perp: None,
                option: None,
                greeks: None,
                native,
            });
        }
        if !parts.borrowed.is_zero() {
            let amount = decimal_of(
                parts.borrowed,
                loan.decimals,
                Rounding::Up,
                &mut notes,
                &loan.symbol,
            )?;
            let mut native = common;
            native.insert("borrow_shares".into(), borrow_shares.to_string());
            native.insert(
                "total_borrow_assets".into(),
                totals.borrow_assets.to_string(),
            );
            native.insert(
                "total_borrow_shares".into(),
                totals.borrow_shares.to_string(),
            );
            native.insert("balance_base_units".into(), parts.borrowed.to_string());
            if let Some(rate) = accrual.borrow_rate {
                native.insert("borrow_rate_wad_per_second".into(), rate.to_string());
            }
            positions.push(Position {
                kind: PositionKind::Debt,
                side: Side::Short,
                asset: asset(&loan),
                amount: amount.normalize(),
                value_usd: mul_usd(amount, loan_price.usd, &loan.symbol)?,
                price: loan_price,
                counts_as_collateral: false,
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

    let reproduced = match parts.health_factor_wad()? {
        None => Health::Infinite,
        Some(hf) => Health::Finite(wad_decimal(hf)?),
    };
    let ours_healthy = parts.healthy();
    let mut native_health = NativeHealth::new(METRIC, reproduced, None);
    native_health.agrees = raw.verdict.healthy.map(|theirs| theirs == ours_healthy);
    if ours_healthy && raw.verdict.healthy == Some(false) {
        // Morpho would liquidate what we reproduce as healthy: rely on the protocol, and since it
        // says "below 1" without saying how far, assume the worst.
        native_health.value = Health::Finite(Decimal::ZERO);
        native_health.liquidatable = true;
    }
    let opt = |v: Option<U256>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
    native_health.figures = BTreeMap::from([
        ("lltv_wad".to_owned(), lltv.to_string()),
        ("oracle_price".to_owned(), opt(price)),
        (
            "market.stored_total_borrow_assets".to_owned(),
            m.totalBorrowAssets.to_string(),
        ),
        (
            "market.stored_total_supply_assets".to_owned(),
            m.totalSupplyAssets.to_string(),
        ),
        ("market.last_update".to_owned(), m.lastUpdate.to_string()),
        ("market.fee_wad".to_owned(), m.fee.to_string()),
        (
            "accrual.elapsed_seconds".to_owned(),
            accrual.elapsed.to_string(),
        ),
        (
            "accrual.borrow_rate_wad_per_second".to_owned(),
            opt(accrual.borrow_rate),
        ),
        (
            "accrual.interest_assets".to_owned(),
            accrual.interest.to_string(),
        ),
        (
            "accrual.fee_shares".to_owned(),
            accrual.fee_shares.to_string(),
        ),
        (
            "reproduced.total_borrow_assets".to_owned(),
            totals.borrow_assets.to_string(),
        ),
        (
            "reproduced.total_borrow_shares".to_owned(),
            totals.borrow_shares.to_string(),
        ),
        (
            "reproduced.total_supply_assets".to_owned(),
            totals.supply_assets.to_string(),
        ),
        (
            "reproduced.total_supply_shares".to_owned(),
            totals.supply_shares.to_string(),
        ),
        (
            "reproduced.borrowed_assets".to_owned(),
            parts.borrowed.to_string(),
        ),
        (
            "reproduced.collateral_value_loan_assets".to_owned(),
            parts.collateral_value.to_string(),
        ),
        (
            "reproduced.max_borrow_assets".to_owned(),
            parts.max_borrow.to_string(),
        ),
        (
            "reproduced.health_factor_wad".to_owned(),
            opt(parts.health_factor_wad()?),
        ),
        ("reproduced.ltv_wad".to_owned(), opt(parts.ltv_wad()?)),
        (
            "reproduced.liquidation_price_oracle".to_owned(),
            opt(liquidation_price),
        ),
        ("reproduced.healthy".to_owned(), ours_healthy.to_string()),
        (
            "reported.healthy".to_owned(),
            raw.verdict
                .healthy
                .map_or_else(|| "unknown".to_owned(), |h| h.to_string()),
        ),
        (
            "reported.liquidate_probe".to_owned(),
            raw.verdict.detail.clone(),
        ),
    ]);

    let scope = FailureScope {
        chain: Some(ctx.chain.clone()),
        protocol: Some(ctx.protocol.clone()),
        market: Some(market.clone()),
        account: Some(ctx.account.clone()),
    };
    let mut warnings: Vec<Warning> = notes
        .into_iter()
        .map(|message| Warning {
            scope: scope.clone(),
            kind: WarningKind::AmountRounded,
            message,
        })
        .collect();
    if native_health.agrees == Some(false) {
        warnings.push(Warning {
            scope,
            kind: WarningKind::NativeHealthMismatch,
            message: format!(
                "Morpho's own check says the position is {} (liquidate: {}), the reproduction from position() and \
                 market() says {} (health factor {}); relying on {}",
                if raw.verdict.healthy == Some(true) { "healthy" } else { "liquidatable" },
                raw.verdict.detail,
                if ours_healthy { "healthy" } else { "liquidatable" },
                reproduced,
                native_health.value,
            ),
        });
    }

    let mut sources = vec![chain_ref(ctx.deployment.morpho)];
    sources.extend(
        [raw.params.oracle, raw.params.irm]
            .into_iter()
            .filter(|a| *a != Address::ZERO)
            .map(chain_ref),
    );
    if let Some(Ok(feed)) = &raw.usd_feed {
        sources.push(chain_ref(feed.feed));
    }
    sources.sort();
    sources.dedup();

    Ok(ProtocolSnapshot {
        provenance: Provenance {
            chain: ctx.chain.clone(),
            read_point: ctx.read_point.clone(),
            protocol: ctx.protocol.clone(),
            market,
            account: ctx.account.clone(),
            sources,
            fetched_at: ctx.fetched_at,
        },
        positions,
        native_health,
        warnings,
    })
}
