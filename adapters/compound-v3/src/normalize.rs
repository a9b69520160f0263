//! Pure normalization: raw Comet reads → schema positions, and Comet's two account checks
//! reproduced with Comet's own integer arithmetic.
//!
//! # The native health metric
//!
//! Comet publishes no health number, only two verdicts. We publish
//! `compound-v3.liquidation_ratio`:
//!
//! ```text
//! Σ_{collateral i in assetsIn} mulFactor(mulPrice(balance_i, getPrice(feed_i), scale_i), liquidateCF_i)
//! ───────────────────────────────────────────────────────────────────────────────────────────────────────
//!                 mulPrice(borrowBalance, getPrice(baseTokenPriceFeed), baseScale)
//! ```
//!
//! in Comet's price units (`PRICE_SCALE` = 1e8), floored to 18 decimals, infinite without debt.
//! It is below 1 exactly when Comet's `liquidity` is negative, i.e. when `isLiquidatable` holds.
//!
//! Comet's `isLiquidatable` view values the debt at the *stored* borrow index, but `absorb`
//! accrues first: at the pinned block an absorb sees the debt accrued to the block time. The
//! ratio therefore uses the accrued debt (never smaller), so `liquidatable` says whether an
//! absorb in the pinned block would succeed. The views are reproduced separately with the stored
//! indices and compared with Comet's answers; the two coincide whenever the market accrued in
//! the pinned block.
//!
//! `reported` stays empty because Comet reports no number. `agrees` records whether every check
//! against the contract held: both verdicts, `balanceOf`/`borrowBalanceOf` against our accrual,
//! and `getUtilization`. When Comet says an account is liquidatable and our ratio does not, the
//! value relied on is 0: the protocol's verdict wins, and we cannot say by how much.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainId, FailureScope, MarketId, Position, PositionKind, ProtocolId,
    ProtocolSnapshot, Provenance, ReadPoint, RiskWeights, Side, Warning, WarningKind,
};
use unimargin_sdk::{
    AdapterError, Result,
    units::{Rounding, scale},
};

pub use crate::pricing::usd_per_unit;
use crate::{
    CometDeployment, accrual,
    fetch::{RawAccount, decimals_of_scale},
    health::{self, Liquidity, Verdicts},
    math,
    pricing::Pricer,
};

/// Metric name of the ratio described in the module docs (below 1: liquidatable).
pub const METRIC: &str = "compound-v3.liquidation_ratio";

/// Where the snapshot is being produced (everything that is not in the raw data).
#[derive(Debug, Clone)]
pub struct NormalizeContext<'a> {
    /// Chain.
    pub chain: &'a ChainId,
    /// Pinned read point.
    pub read_point: ReadPoint,
    /// Protocol id (`compound-v3`).
    pub protocol: &'a ProtocolId,
    /// Market id (`usdc`, `weth`).
    pub market: &'a MarketId,
    /// The account.
    pub account: &'a AccountId,
    /// Deployment configuration.
    pub deployment: &'a CometDeployment,
    /// When the reads completed.
    pub fetched_at: DateTime<Utc>,
}

/// A token amount in base units as a decimal of whole tokens. Digits that do not fit are
/// dropped towards the conservative side: down for what the account owns, up for what it owes.
/// The flag says whether anything was dropped.
pub fn token_amount(raw: U256, decimals: u8, side: Side) -> Result<(Decimal, bool)> {
    let rounding = match side {
        Side::Long => Rounding::Down,
        Side::Short => Rounding::Up,
    };
    let s = scale(raw, u32::from(decimals), rounding)?;
    Ok((s.value.normalize(), s.rounded))
}

/// Builds positions, noting amounts that had to be rounded.
struct Builder<'a> {
    ctx: &'a NormalizeContext<'a>,
    notes: Vec<String>,
}

impl Builder<'_> {
    fn asset(&self, token: Address, symbol: &str, decimals: u8) -> Asset {
        Asset {
            id: AssetId {
                chain: self.ctx.chain.clone(),
                namespace: "erc20".into(),
                reference: token.to_checksum(None),
            },
            symbol: symbol.to_owned(),
            decimals,
            risk_key: self.ctx.deployment.risk_key(symbol),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn position(
        &mut self,
        kind: PositionKind,
        side: Side,
        asset: Asset,
        units: U256,
        price: unimargin_schema::Price,
        counts_as_collateral: bool,
        weights: RiskWeights,
        native: BTreeMap<String, String>,
    ) -> Result<Position> {
        let (amount, rounded) = token_amount(units, asset.decimals, side)?;
        if rounded {
            self.notes.push(format!(
                "{} rounded to fit 28 significant digits",
                asset.symbol
            ));
        }
        let value_usd = amount
            .checked_mul(price.usd)
            .ok_or_else(|| AdapterError::OutOfRange {
                what: format!("{} value", asset.symbol),
                value: format!("{amount} × {}", price.usd),
            })?;
        Ok(Position {
            kind,
            side,
            asset,
            amount,
            value_usd: value_usd.normalize(),
            price,
            counts_as_collateral,
            weights,
            perp: None,
            option: None,
            greeks: None,
            native,
        })
    }
}

fn strings<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Normalizes a raw read into a snapshot. Pure and deterministic.
pub fn normalize(raw: &RawAccount, ctx: &NormalizeContext<'_>) -> Result<ProtocolSnapshot> {
    let deployment = ctx.deployment;
    let caip10 = |a: Address| format!("{}:{}", ctx.chain, a.to_checksum(None));
    let pricer = Pricer::new(
        deployment,
        raw.usd_conversion.as_ref(),
        ctx.chain,
        raw.comet,
        raw.block_timestamp,
    )?;
    let missing_price = |symbol: &str, feed: Address| AdapterError::MissingPrice {
        asset: symbol.to_owned(),
        detail: format!("Comet.getPrice({feed}) reverted"),
    };
    let mut b = Builder {
        ctx,
        notes: Vec::new(),
    };
    let mut mismatches: Vec<String> = Vec::new();
    let mut positions = Vec::new();
    let mut sources = vec![caip10(raw.comet)];
    sources.extend(pricer.conversion_feed().map(caip10));

    let accrual = accrual::accrue(&raw.totals, &raw.rates, raw.block_timestamp)?;
    if accrual.utilization != raw.reported_utilization {
        mismatches.push(format!(
            "getUtilization {} vs reproduced {}",
            raw.reported_utilization, accrual.utilization
        ));
    }

    // The base balance accrued to the block, cross-checked with Comet's own balanceOf /
    // borrowBalanceOf; should they ever differ, the worse of the two is kept.
    let base = &raw.base;
    let principal = raw.user.principal;
    let magnitude = U256::from(principal.unsigned_abs());
    let (balance, borrow_balance) = match principal.signum() {
        1 => (
            math::present_value(accrual.supply_index, magnitude)?,
            U256::ZERO,
        ),
        -1 => (
            U256::ZERO,
            math::present_value(accrual.borrow_index, magnitude)?,
        ),
        _ => (U256::ZERO, U256::ZERO),
    };
    if balance != raw.reported_balance {
        mismatches.push(format!(
            "balanceOf {} vs reproduced {balance}",
            raw.reported_balance
        ));
    }
    if borrow_balance != raw.reported_borrow_balance {
        mismatches.push(format!(
            "borrowBalanceOf {} vs reproduced {borrow_balance}",
            raw.reported_borrow_balance
        ));
    }
    let debt_units = borrow_balance.max(raw.reported_borrow_balance);
    let mut base_price = U256::ZERO;
    if principal != 0 {
        base_price = base
            .comet_price
            .ok_or_else(|| missing_price(&base.symbol, base.price_feed))?;
        sources.push(caip10(base.price_feed));
        let price = pricer.price(base_price, base.price_feed, base.feed_updated_at)?;
        let asset = b.asset(base.token, &base.symbol, base.decimals);
        let (kind, side, units, weights, index) = if principal > 0 {
            // Supplied base earns interest but is collateral for nothing in Comet.
            let zero = RiskWeights {
                initial: Decimal::ZERO,
                maintenance: Decimal::ZERO,
            };
            let units = balance.min(raw.reported_balance);
            (
                PositionKind::Supply,
                Side::Long,
                units,
                zero,
                accrual.supply_index,
            )
        } else {
            let one = RiskWeights {
                initial: Decimal::ONE,
                maintenance: Decimal::ONE,
            };
            (
                PositionKind::Debt,
                Side::Short,
                debt_units,
                one,
                accrual.borrow_index,
            )
        };
        let native = strings([
            ("principal", principal.to_string()),
            ("present_value_index", index.to_string()),
            ("balance_base_units", units.to_string()),
            ("reported_balance", raw.reported_balance.to_string()),
            (
                "reported_borrow_balance",
                raw.reported_borrow_balance.to_string(),
            ),
            ("comet_price", base_price.to_string()),
            ("price_unit", deployment.price_unit.clone()),
        ]);
        positions.push(b.position(kind, side, asset, units, price, false, weights, native)?);
    }

    // Collateral: Comet counts offset i exactly when its bit is set in assetsIn / _reserved.
    let mut liquidate_collateral = U256::ZERO;
    let mut borrow_collateral = U256::ZERO;
    for a in &raw.assets {
        let info = &a.info;
        let counted = math::is_in_asset(raw.user.assets_in, raw.user.reserved, info.offset);
        if a.balance == 0 && !counted {
            continue;
        }
        let comet_price = a
            .comet_price
            .ok_or_else(|| missing_price(&a.symbol, info.priceFeed))?;
        sources.push(caip10(info.priceFeed));
        let units = U256::from(a.balance);
        let value = math::mul_price(units, comet_price, U256::from(info.scale))?;
        if counted {
            liquidate_collateral +=
                math::mul_factor(value, U256::from(info.liquidateCollateralFactor))?;
            borrow_collateral += math::mul_factor(value, U256::from(info.borrowCollateralFactor))?;
        }
        if a.balance == 0 {
            continue;
        }
        let decimals = decimals_of_scale(info.scale).ok_or_else(|| {
            AdapterError::malformed("getAssetInfo", format!("scale {}", info.scale))
        })?;
        let price = pricer.price(comet_price, info.priceFeed, a.feed_updated_at)?;
        let weights = RiskWeights {
            initial: factor(info.borrowCollateralFactor),
            maintenance: factor(info.liquidateCollateralFactor),
        };
        let native = strings([
            ("asset_offset", info.offset.to_string()),
            ("collateral_balance", a.balance.to_string()),
            ("in_assets_in", counted.to_string()),
            (
                "borrow_collateral_factor",
                info.borrowCollateralFactor.to_string(),
            ),
            (
                "liquidate_collateral_factor",
                info.liquidateCollateralFactor.to_string(),
            ),
            ("liquidation_factor", info.liquidationFactor.to_string()),
            ("comet_price", comet_price.to_string()),
            ("price_unit", deployment.price_unit.clone()),
            ("value_price_scale", value.to_string()),
        ]);
        let asset = b.asset(info.asset, &a.symbol, decimals);
        // A collateral whose liquidation factor is 0 is held but worth nothing to Comet.
        let counts = counted && info.liquidateCollateralFactor > 0;
        positions.push(b.position(
            PositionKind::Supply,
            Side::Long,
            asset,
            units,
            price,
            counts,
            weights,
            native,
        )?);
    }

    // Comet's checks as its views compute them (stored borrow index) and as an absorb in this
    // block would (accrued first).
    let debt_value = |units: U256| -> Result<U256> {
        if principal < 0 {
            math::mul_price(units, base_price, base.scale)
        } else {
            Ok(U256::ZERO)
        }
    };
    let view_debt_units = if principal < 0 {
        math::present_value(accrual.stored_borrow_index, magnitude)?
    } else {
        U256::ZERO
    };
    let view = Liquidity {
        liquidate_collateral,
        borrow_collateral,
        debt: debt_value(view_debt_units)?,
    };
    let accrued = Liquidity {
        liquidate_collateral,
        borrow_collateral,
        debt: debt_value(debt_units)?,
    };
    let verdicts = Verdicts {
        is_liquidatable: raw.reported_is_liquidatable,
        is_borrow_collateralized: raw.reported_is_borrow_collateralized,
    };
    let mut native_health =
        health::native_health(METRIC, view, accrued, verdicts, &mut mismatches)?;
    accrual.figures(&mut native_health.figures);
    native_health.figures.extend(strings([
        ("price_unit", deployment.price_unit.clone()),
        ("principal", principal.to_string()),
        ("reproduced.balance", balance.to_string()),
        ("reported.balance", raw.reported_balance.to_string()),
        ("reproduced.borrow_balance", borrow_balance.to_string()),
        (
            "reported.borrow_balance",
            raw.reported_borrow_balance.to_string(),
        ),
        ("reported.utilization", raw.reported_utilization.to_string()),
    ]));

    let scope = FailureScope {
        chain: Some(ctx.chain.clone()),
        protocol: Some(ctx.protocol.clone()),
        market: Some(ctx.market.clone()),
        account: Some(ctx.account.clone()),
    };
    let mut warnings: Vec<Warning> = b
        .notes
        .into_iter()
        .map(|message| Warning {
            scope: scope.clone(),
            kind: WarningKind::AmountRounded,
            message,
        })
        .collect();
    if !mismatches.is_empty() {
        warnings.push(Warning {
            scope,
            kind: WarningKind::NativeHealthMismatch,
            message: format!(
                "Comet disagrees with the reproduction: {}",
                mismatches.join("; ")
            ),
        });
    }

    sources.sort();
    sources.dedup();
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

/// A 1e18-scaled Comet factor as a fraction.
fn factor(raw: u64) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(raw), 18).normalize()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
