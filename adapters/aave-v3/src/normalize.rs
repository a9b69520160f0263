//! Pure normalization: raw Aave structs → schema positions, and Aave's health factor reproduced
//! with Aave's own integer arithmetic.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
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
    AaveDeployment, UiLayout,
    fetch::{RawAccount, ReserveState},
    math,
};

/// Metric name of Aave's health factor.
pub const METRIC: &str = "aave-v3.health_factor";

/// Where the snapshot is being produced (everything that is not in the raw data).
#[derive(Debug, Clone)]
pub struct NormalizeContext<'a> {
    /// Chain.
    pub chain: &'a ChainId,
    /// Pinned read point.
    pub read_point: ReadPoint,
    /// Protocol id (`aave-v3`, `spark`).
    pub protocol: &'a ProtocolId,
    /// Market id.
    pub market: &'a MarketId,
    /// The account.
    pub account: &'a AccountId,
    /// Deployment configuration.
    pub deployment: &'a AaveDeployment,
    /// When the reads completed.
    pub fetched_at: DateTime<Utc>,
}

/// One used reserve with everything resolved, shared by positions and the health reproduction.
struct UsedReserve<'a> {
    id: u16,
    asset: Address,
    symbol: &'a str,
    decimals: u8,
    price_base: U256,
    price_feed: Address,
    supply_units: U256,
    debt_units: U256,
    collateral_enabled: bool,
    /// The LTV this collateral contributes to the account's average (0 for zero-LTV reserves).
    ltv_bps: u16,
    lt_bps: u16,
    scaled_supply: U256,
    scaled_debt: U256,
    principal_stable_debt: U256,
    income_index: U256,
    debt_index: U256,
}

fn bit(bitmap: u128, id: u16) -> bool {
    id < 128 && (bitmap >> id) & 1 == 1
}

fn decimal_of(
    raw: U256,
    decimals: u32,
    rounding: Rounding,
    warnings: &mut Vec<String>,
    what: &str,
) -> Result<Decimal> {
    let s = scale(raw, decimals, rounding)?;
    if s.rounded {
        warnings.push(format!("{what} rounded to fit 28 significant digits"));
    }
    Ok(s.value)
}

fn power_of_ten(unit: U256) -> Option<u32> {
    let mut n = 0u32;
    let mut v = unit;
    let ten = U256::from(10u8);
    while v > U256::from(1u8) {
        let (q, r) = v.div_rem(ten);
        if !r.is_zero() {
            return None;
        }
        v = q;
        n += 1;
    }
    (v == U256::from(1u8)).then_some(n)
}

fn health_from_wad(hf: U256) -> Result<Health> {
    if hf == U256::MAX {
        return Ok(Health::Infinite);
    }
    Ok(Health::Finite(
        scale(hf, 18, Rounding::Down)?.value.normalize(),
    ))
}

fn bps_of(v: U256) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// Resolves every reserve the user touches with the version's e-mode rules and balance rounding.
fn used_reserves<'a>(raw: &'a RawAccount) -> Result<Vec<UsedReserve<'a>>> {
    let now = raw.block_timestamp;
    let emode = if raw.user_emode == 0 {
        None
    } else {
        match (
            raw.emodes.iter().find(|e| e.id == raw.user_emode),
            raw.version,
        ) {
            (Some(e), _) => Some(e),
            // v3.0 lists categories through their member reserves: a category without members
            // changes nothing.
            (None, UiLayout::V3_0) => None,
            (None, UiLayout::V3_6) => {
                return Err(AdapterError::malformed(
                    "getEModes",
                    format!("user is in e-mode {} which is not listed", raw.user_emode),
                ));
            }
        }
    };
    let reserves: BTreeMap<Address, &ReserveState> =
        raw.reserves.iter().map(|r| (r.asset, r)).collect();
    let mut used = Vec::new();
    for u in &raw.user_reserves {
        if u.scaled_supply.is_zero()
            && u.scaled_variable_debt.is_zero()
            && u.principal_stable_debt.is_zero()
        {
            continue;
        }
        let r = reserves.get(&u.asset).ok_or_else(|| {
            AdapterError::malformed(
                "getUserReservesData",
                format!("reserve {} missing from getReservesData", u.asset),
            )
        })?;
        let id = match raw.version {
            UiLayout::V3_6 => *raw.reserve_ids.get(&u.asset).ok_or_else(|| {
                AdapterError::malformed("getReserveData", format!("no reserve id for {}", u.asset))
            })?,
            UiLayout::V3_0 => raw.reserve_ids.get(&u.asset).copied().unwrap_or(0),
        };
        let decimals = u8::try_from(r.decimals)
            .ok()
            .filter(|d| *d <= 77)
            .ok_or_else(|| {
                AdapterError::malformed(
                    "getReservesData",
                    format!("{} has {} decimals", r.symbol, r.decimals),
                )
            })?;
        let income_index = math::normalized_income(
            U256::from(r.liquidity_index),
            U256::from(r.liquidity_rate),
            r.last_update,
            now,
        )?;
        let (base_ltv, base_lt) = (bps_of(r.ltv_bps), bps_of(r.lt_bps));
        let mut price_base = r.price_base;
        let (ltv_bps, lt_bps, debt_index, supply_units, debt_units, collateral_enabled);
        match raw.version {
            UiLayout::V3_6 => {
                // ValidationLogic.getUserReserveLtv and the e-mode threshold override.
                (ltv_bps, lt_bps) = match emode {
                    Some(e) if bit(e.collateral_bitmap, id) => (
                        if bit(e.ltvzero_bitmap, id) { 0 } else { e.ltv },
                        e.liquidation_threshold,
                    ),
                    _ => (base_ltv, base_lt),
                };
                debt_index = math::normalized_debt(
                    U256::from(r.variable_borrow_index),
                    U256::from(r.variable_borrow_rate),
                    r.last_update,
                    now,
                )?;
                supply_units = math::ray_mul_floor(u.scaled_supply, income_index)?;
                debt_units = math::ray_mul_ceil(u.scaled_variable_debt, debt_index)?;
                collateral_enabled = u.collateral && !u.scaled_supply.is_zero();
            }
            UiLayout::V3_0 => {
                let member = emode.filter(|e| r.emode_category != 0 && r.emode_category == e.id);
                (ltv_bps, lt_bps) = match member {
                    // A zero base LTV stays zero in e-mode: v3.0 only adds the e-mode LTV of
                    // reserves that have one.
                    Some(e) => (
                        if base_ltv == 0 { 0 } else { e.ltv },
                        e.liquidation_threshold,
                    ),
                    None => (base_ltv, base_lt),
                };
                if let Some(e) = member.filter(|e| e.price_source != Address::ZERO) {
                    price_base = *raw.source_prices.get(&e.price_source).ok_or_else(|| {
                        AdapterError::MissingPrice {
                            asset: r.symbol.clone(),
                            detail: format!(
                                "e-mode {} price source {} was not read",
                                e.id, e.price_source
                            ),
                        }
                    })?;
                }
                debt_index = math::normalized_debt_v3_0(
                    U256::from(r.variable_borrow_index),
                    U256::from(r.variable_borrow_rate),
                    r.last_update,
                    now,
                )?;
                supply_units = math::ray_mul(u.scaled_supply, income_index)?;
                let stable = if u.principal_stable_debt.is_zero() {
                    U256::ZERO
                } else {
                    math::ray_mul(
                        u.principal_stable_debt,
                        math::compounded_interest_v3_0(u.stable_rate, u.stable_last_update, now)?,
                    )?
                };
                debt_units = math::ray_mul(u.scaled_variable_debt, debt_index)? + stable;
                // v3.0 skips collateral whose liquidation threshold is zero.
                collateral_enabled = u.collateral && !u.scaled_supply.is_zero() && base_lt != 0;
            }
        }
        used.push(UsedReserve {
            id,
            asset: u.asset,
            symbol: &r.symbol,
            decimals,
            price_base,
            price_feed: r.price_feed,
            supply_units,
            debt_units,
            collateral_enabled,
            ltv_bps,
            lt_bps,
            scaled_supply: u.scaled_supply,
            scaled_debt: u.scaled_variable_debt,
            principal_stable_debt: u.principal_stable_debt,
            income_index,
            debt_index,
        });
    }
    used.sort_by_key(|u| (u.id, u.asset));
    Ok(used)
}

/// Normalizes a raw read into a snapshot. Pure and deterministic.
pub fn normalize(raw: &RawAccount, ctx: &NormalizeContext<'_>) -> Result<ProtocolSnapshot> {
    let now = raw.block_timestamp;
    let mut notes: Vec<String> = Vec::new();

    // Base currency → USD: price_usd = price_base / unit × (reference price in USD, 8 decimals).
    let unit = raw.base_unit;
    let unit_decimals = power_of_ten(unit).ok_or_else(|| {
        AdapterError::malformed(
            "marketReferenceCurrencyUnit",
            format!("{unit} is not a power of ten"),
        )
    })?;
    let ref_usd_raw = raw.base_price_usd;
    if ref_usd_raw.is_negative() || ref_usd_raw.is_zero() {
        return Err(AdapterError::MissingPrice {
            asset: "market reference currency".into(),
            detail: format!("marketReferenceCurrencyPriceInUsd = {ref_usd_raw}"),
        });
    }
    let ref_usd = scale(ref_usd_raw.into_raw(), 8, Rounding::Down)?.value;
    let used = used_reserves(raw)?;

    let chain_ref = |a: Address| format!("{}:{}", ctx.chain, a.to_checksum(None));
    let mut positions = Vec::new();
    for u in &used {
        let price_usd = scale(u.price_base, unit_decimals, Rounding::Down)?.value * ref_usd;
        let updated_at = raw.feed_updated_at.get(&u.price_feed).copied().flatten();
        let price = Price {
            usd: price_usd.normalize(),
            source: PriceSource {
                oracle: "aave-oracle".into(),
                address: Some(chain_ref(raw.oracle)),
                feed: (u.price_feed != Address::ZERO).then(|| chain_ref(u.price_feed)),
            },
            updated_at: updated_at
                .and_then(|t| Utc.timestamp_opt(i64::try_from(t).ok()?, 0).single()),
            age_seconds: updated_at.map(|t| now.saturating_sub(t)),
        };
        let asset = Asset {
            id: AssetId {
                chain: ctx.chain.clone(),
                namespace: "erc20".into(),
                reference: u.asset.to_checksum(None),
            },
            symbol: u.symbol.to_owned(),
            decimals: u.decimals,
            risk_key: ctx.deployment.risk_key(u.symbol),
        };
        let bps = |v: u16| Decimal::new(i64::from(v), 4);
        let mut native = BTreeMap::from([
            ("aave_version".to_owned(), format!("{:?}", raw.version)),
            ("reserve_id".to_owned(), u.id.to_string()),
            ("emode_category".to_owned(), raw.user_emode.to_string()),
            ("ltv_bps".to_owned(), u.ltv_bps.to_string()),
            ("liquidation_threshold_bps".to_owned(), u.lt_bps.to_string()),
            (
                "price_in_base_currency".to_owned(),
                u.price_base.to_string(),
            ),
        ]);
        if !u.supply_units.is_zero() {
            let amount = decimal_of(
                u.supply_units,
                u32::from(u.decimals),
                Rounding::Down,
                &mut notes,
                u.symbol,
            )?;
            let mut n = native.clone();
            n.insert("scaled_balance".into(), u.scaled_supply.to_string());
            n.insert("normalized_income".into(), u.income_index.to_string());
            n.insert("balance_base_units".into(), u.supply_units.to_string());
            positions.push(Position {
                kind: PositionKind::Supply,
                side: Side::Long,
                asset: asset.clone(),
                amount: amount.normalize(),
                value_usd: (amount * price_usd).normalize(),
                price: price.clone(),
                counts_as_collateral: u.collateral_enabled,
                weights: RiskWeights {
                    initial: bps(u.ltv_bps),
                    maintenance: bps(u.lt_bps),
                },
                perp: None,
                option: None,
                greeks: None,
                native: n,
            });
        }
        if !u.debt_units.is_zero() {
            let amount = decimal_of(
                u.debt_units,
                u32::from(u.decimals),
                Rounding::Up,
                &mut notes,
                u.symbol,
            )?;
            native.insert("scaled_balance".into(), u.scaled_debt.to_string());
            if !u.principal_stable_debt.is_zero() {
                native.insert(
                    "principal_stable_debt".into(),
                    u.principal_stable_debt.to_string(),
                );
            }
            native.insert("normalized_variable_debt".into(), u.debt_index.to_string());
            native.insert("balance_base_units".into(), u.debt_units.to_string());
            positions.push(Position {
                kind: PositionKind::Debt,
                side: Side::Short,
                asset,
                amount: amount.normalize(),
                value_usd: (amount * price_usd).normalize(),
                price,
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

    let reproduced = reproduce_account_data(&used, raw.version)?;
    let reported = &raw.reported;
    let mut native_health = NativeHealth::new(
        METRIC,
        health_from_wad(reproduced.health_factor)?,
        Some(health_from_wad(reported.healthFactor)?),
    );
    native_health.figures = BTreeMap::from([
        ("base_currency_unit".to_owned(), unit.to_string()),
        (
            "reproduced.total_collateral_base".to_owned(),
            reproduced.total_collateral.to_string(),
        ),
        (
            "reproduced.total_debt_base".to_owned(),
            reproduced.total_debt.to_string(),
        ),
        (
            "reproduced.ltv_bps".to_owned(),
            reproduced.avg_ltv.to_string(),
        ),
        (
            "reproduced.available_borrows_base".to_owned(),
            reproduced.available_borrows.to_string(),
        ),
        (
            "reproduced.liquidation_threshold_bps".to_owned(),
            reproduced.avg_lt.to_string(),
        ),
        (
            "reproduced.health_factor_wad".to_owned(),
            reproduced.health_factor.to_string(),
        ),
        (
            "reported.total_collateral_base".to_owned(),
            reported.totalCollateralBase.to_string(),
        ),
        (
            "reported.total_debt_base".to_owned(),
            reported.totalDebtBase.to_string(),
        ),
        (
            "reported.available_borrows_base".to_owned(),
            reported.availableBorrowsBase.to_string(),
        ),
        ("reported.ltv_bps".to_owned(), reported.ltv.to_string()),
        (
            "reported.liquidation_threshold_bps".to_owned(),
            reported.currentLiquidationThreshold.to_string(),
        ),
        (
            "reported.health_factor_wad".to_owned(),
            reported.healthFactor.to_string(),
        ),
    ]);

    let scope = FailureScope {
        chain: Some(ctx.chain.clone()),
        protocol: Some(ctx.protocol.clone()),
        market: Some(ctx.market.clone()),
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
    let totals_agree = reproduced.total_collateral == reported.totalCollateralBase
        && reproduced.total_debt == reported.totalDebtBase
        && reproduced.avg_lt == reported.currentLiquidationThreshold
        && reproduced.avg_ltv == reported.ltv
        && reproduced.available_borrows == reported.availableBorrowsBase;
    if !totals_agree {
        // The health factor comparison is made by the engine; aggregates are checked here because
        // only the adapter knows their meaning.
        native_health.agrees = Some(false);
        warnings.push(Warning {
            scope,
            kind: WarningKind::NativeHealthMismatch,
            message: format!(
                "getUserAccountData aggregates differ from the reproduction: collateral {} vs {}, debt {} vs {}",
                reported.totalCollateralBase, reproduced.total_collateral, reported.totalDebtBase, reproduced.total_debt
            ),
        });
    }

    let mut sources = vec![
        chain_ref(ctx.deployment.ui_pool_data_provider),
        chain_ref(ctx.deployment.pool),
        chain_ref(raw.oracle),
    ];
    sources.extend(
        used.iter()
            .filter(|u| u.price_feed != Address::ZERO)
            .map(|u| chain_ref(u.price_feed)),
    );
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

/// `getUserAccountData` recomputed (GenericLogic.calculateUserAccountData, Aave v3.6).
#[derive(Debug, Clone, PartialEq, Eq)]
struct AccountData {
    total_collateral: U256,
    total_debt: U256,
    avg_ltv: U256,
    avg_lt: U256,
    available_borrows: U256,
    health_factor: U256,
}

fn reproduce_account_data(used: &[UsedReserve<'_>], version: UiLayout) -> Result<AccountData> {
    let mut total_collateral = U256::ZERO;
    let mut total_debt = U256::ZERO;
    let mut ltv_sum = U256::ZERO;
    let mut lt_sum = U256::ZERO;
    let overflow = || AdapterError::OutOfRange {
        what: "aave account data".into(),
        value: "overflows uint256".into(),
    };
    for u in used {
        let unit = U256::from(10u8).pow(U256::from(u.decimals));
        if u.collateral_enabled {
            // aToken balance × price / unit, floored.
            let base = u
                .supply_units
                .checked_mul(u.price_base)
                .ok_or_else(overflow)?
                / unit;
            total_collateral += base;
            ltv_sum += base
                .checked_mul(U256::from(u.ltv_bps))
                .ok_or_else(overflow)?;
            lt_sum += base
                .checked_mul(U256::from(u.lt_bps))
                .ok_or_else(overflow)?;
        }
        if !u.debt_units.is_zero() {
            total_debt += match version {
                UiLayout::V3_6 => math::mul_div_ceil(u.debt_units, u.price_base, unit)?,
                UiLayout::V3_0 => {
                    u.debt_units
                        .checked_mul(u.price_base)
                        .ok_or_else(overflow)?
                        / unit
                }
            };
        }
    }
    let (avg_ltv, avg_lt) = if total_collateral.is_zero() {
        (U256::ZERO, U256::ZERO)
    } else {
        (ltv_sum / total_collateral, lt_sum / total_collateral)
    };
    let (health_factor, borrowable) = match version {
        // v3.6: the threshold sum keeps its precision until after the division.
        UiLayout::V3_6 => (
            if total_debt.is_zero() {
                U256::MAX
            } else {
                math::wad_div(lt_sum, total_debt)? / U256::from(math::PERCENTAGE_FACTOR)
            },
            math::percent_mul_floor(total_collateral, avg_ltv)?,
        ),
        // v3.0: the average threshold is floored first, then applied with a half-up percentMul.
        UiLayout::V3_0 => (
            if total_debt.is_zero() {
                U256::MAX
            } else {
                math::wad_div(math::percent_mul(total_collateral, avg_lt)?, total_debt)?
            },
            math::percent_mul(total_collateral, avg_ltv)?,
        ),
    };
    let available_borrows = borrowable.saturating_sub(total_debt);
    Ok(AccountData {
        total_collateral,
        total_debt,
        avg_ltv,
        avg_lt,
        available_borrows,
        health_factor,
    })
}
