//! Pure normalization: GMX positions → schema positions, and GMX's liquidation rule reproduced
//! with GMX's integer arithmetic and compared with what GMX's Reader says.
//!
//! Each GMX position becomes two positions:
//!
//! * a `Perp` on the index token: `amount` = `sizeInTokens`, priced at GMX's PnL price (the low
//!   price for longs, the high one for shorts), `value_usd` = amount × price (the current
//!   notional); `unrealized_pnl_usd` = PnL + price impact − every cost of closing (position fee,
//!   borrowing and funding accrued to the block, less discounts), exactly the terms GMX adds to the
//!   collateral in its liquidation check; weights: maintenance = `MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION`,
//!   initial = the larger of `MIN_COLLATERAL_FACTOR` and the open-interest factor (1 / max leverage);
//! * a `Supply` of the collateral token with weights 1/1 that counts as collateral, valued at the
//!   collateral's low price.
//!
//! So the engine's perp rule (PnL into equity, notional × margin ratio into the requirement) plus
//! the collateral supply gives collateral + PnL after costs = GMX's remaining collateral, against
//! notional × the liquidation factor. GMX applies the factor to `sizeInUsd` (the cost of the
//! position) and floors the requirement at `MIN_COLLATERAL_USD`; the native health below is exact
//! for both.
//!
//! Native health (`gmx-v2.remaining_collateral_ratio`): GMX liquidates positions one by one, so
//! the account's figure is its worst position's remaining collateral ÷ required collateral
//! (`max(MIN_COLLATERAL_USD, sizeInUsd × MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION)`); below 1 iff
//! `PositionUtils.isPositionLiquidatable(..., forLiquidation = true)` says liquidatable.
//!
//! * `reproduced`: recomputed here from the position, the oracle prices, DataStore parameters and
//!   state (collateral factors, `MIN_COLLATERAL_USD`, fee factor, pool and open interest for the
//!   PnL cap, impact cap) and, where GMX's curves are not reproduced, the Reader's figures: the
//!   closing price impact, whether closing improves the balance, referral discounts, and the
//!   borrowing and funding accrued since the market's last update.
//! * `reported`: the Reader's `isPositionLiquidatable`. It evaluates the market's funding and
//!   borrowing state as last stored (the liquidation handler updates it before checking), so the
//!   accrual since then — the Reader's pending fees less the fees at the stored factors — is
//!   charged to both sides. The stored-state figures are compared exactly: remaining collateral,
//!   both minimums and the verdict, plus the Reader's PnL, position fee, collateral price and total
//!   cost. Any difference sets `agrees = false` with a `NativeHealthMismatch` warning, and the worse
//!   value is used.

use std::collections::BTreeMap;

use alloy::primitives::{Address, I256, U256};
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainId, FailureScope, Health, MarketId, NativeHealth, PerpDetails,
    Position, PositionKind, Price, PriceSource, ProtocolId, ProtocolSnapshot, Provenance,
    ReadPoint, RiskWeights, Side, Warning, WarningKind,
};
use unimargin_sdk::{
    AdapterError, Result,
    units::{Rounding, scale},
};

use crate::{
    GmxDeployment,
    fetch::{RawAccount, RawMarket, RawPosition, RawToken},
    math::{self, LiquidationFigures, LiquidationInputs, TokenPrice},
};

/// Metric name of the native health.
pub const METRIC: &str = "gmx-v2.remaining_collateral_ratio";

/// Where the snapshot is being produced (everything that is not in the raw data).
#[derive(Debug, Clone)]
pub struct NormalizeContext<'a> {
    /// Chain.
    pub chain: &'a ChainId,
    /// Pinned read point.
    pub read_point: ReadPoint,
    /// Protocol id.
    pub protocol: &'a ProtocolId,
    /// Market id.
    pub market: &'a MarketId,
    /// The account.
    pub account: &'a AccountId,
    /// Deployment configuration.
    pub deployment: &'a GmxDeployment,
    /// When the reads completed.
    pub fetched_at: DateTime<Utc>,
}

/// A token's decimals: its ERC-20 `decimals()`, or for tokens without a contract (synthetic index
/// tokens) GMX's convention `PRICE_FEED_MULTIPLIER = 10^(60 − feed decimals − token decimals)`.
/// When both are known they must agree, or prices would be scaled wrongly.
pub fn token_decimals(t: &RawToken) -> Result<u8> {
    let derived = power_of_ten(t.layout.multiplier).and_then(|n| {
        let feed = u32::from(t.layout.feed_decimals?);
        60u32
            .checked_sub(feed + n)
            .and_then(|d| u8::try_from(d).ok())
    });
    match (t.layout.erc20_decimals, derived) {
        (Some(a), Some(b)) if a != b => Err(AdapterError::malformed(
            "PRICE_FEED_MULTIPLIER",
            format!(
                "token {} has {a} decimals but its multiplier implies {b}",
                t.address
            ),
        )),
        (Some(a), _) | (None, Some(a)) if a <= 36 => Ok(a),
        _ => Err(AdapterError::malformed(
            "token decimals",
            format!(
                "token {} has no decimals() and its price-feed multiplier does not imply any",
                t.address
            ),
        )),
    }
}

fn power_of_ten(v: U256) -> Option<u32> {
    if v.is_zero() {
        return None;
    }
    let mut n = 0;
    let mut v = v;
    let ten = U256::from(10u8);
    while v > U256::from(1u8) {
        let (q, r) = v.div_rem(ten);
        if !r.is_zero() {
            return None;
        }
        v = q;
        n += 1;
    }
    Some(n)
}

/// USD per whole token from a price per base unit with 30 decimals.
pub fn usd_per_token(price: U256, decimals: u8) -> Result<Decimal> {
    let d = u32::from(decimals);
    let v = if d <= 30 {
        scale(price, 30 - d, Rounding::Down)?.value
    } else {
        scale(
            price.checked_mul(math::pow10(d - 30)).unwrap_or(U256::MAX),
            0,
            Rounding::Down,
        )?
        .value
    };
    Ok(v.normalize())
}

/// A signed USD value with 30 decimals as a decimal with at most 18, rounded down (towards
/// negative infinity), so a reported profit is never larger and a loss never smaller than GMX's.
pub fn usd(v: I256) -> Result<Decimal> {
    let unit = math::pow10(12);
    let magnitude = v.unsigned_abs();
    let value = if v >= I256::ZERO {
        scale(magnitude / unit, 18, Rounding::Down)?.value
    } else {
        -scale(magnitude.div_ceil(unit), 18, Rounding::Up)?.value
    };
    Ok(value.normalize())
}

/// A 30-decimal factor as a fraction, rounded up (weights are requirements).
pub fn factor(v: U256) -> Result<Decimal> {
    Ok(scale(v, 30, Rounding::Up)?.value.normalize())
}

struct Tokens<'a> {
    raw: &'a RawAccount,
    deployment: &'a GmxDeployment,
}

impl Tokens<'_> {
    fn get(&self, a: Address) -> Result<&RawToken> {
        self.raw.tokens.get(&a).ok_or_else(|| {
            AdapterError::malformed("gmx-v2 reads", format!("token {a} was not read"))
        })
    }

    fn symbol(&self, t: &RawToken) -> String {
        crate::fetch::token_label(self.deployment, t.address, Some(&t.layout))
    }
}

/// Everything reproduced for one position.
struct Reproduction {
    /// At the pinned block (accrued fees charged).
    at_block: LiquidationFigures,
    /// GMX's Reader at the pinned block (its stored-state figures plus the same accrual).
    reported_at_block: LiquidationFigures,
    /// The inputs at the block (for the liquidation price).
    inputs: LiquidationInputs,
    collateral_usd: I256,
    pnl: I256,
    uncapped_pnl: I256,
    impact: I256,
    position_fee_amount: U256,
    stored_borrowing_amount: U256,
    stored_funding_amount: U256,
    stored: LiquidationFigures,
    mismatches: Vec<String>,
}

fn cached_price(
    token: Address,
    market: &RawMarket,
    index: TokenPrice,
    long: TokenPrice,
    short: TokenPrice,
) -> Result<TokenPrice> {
    let t = market.tokens;
    if token == t.long {
        Ok(long)
    } else if token == t.short {
        Ok(short)
    } else if token == t.index {
        Ok(index)
    } else {
        Err(AdapterError::malformed(
            "gmx-v2 position",
            format!("token {token} is not in market {}", market.address),
        ))
    }
}

fn verdict(remaining: I256, min_usd: I256, min_leverage: I256) -> &'static str {
    if remaining < min_usd {
        "min collateral"
    } else if remaining <= I256::ZERO {
        "< 0"
    } else if remaining < min_leverage {
        "min collateral for leverage"
    } else {
        ""
    }
}

fn reproduce(
    raw: &RawAccount,
    market: &RawMarket,
    p: &RawPosition,
    tokens: &Tokens<'_>,
) -> Result<Reproduction> {
    let pos = &p.position;
    let n = &pos.numbers;
    let is_long = pos.flags.isLong;
    let t = market.tokens;
    let (index, long, short) = (
        tokens.get(t.index)?.price,
        tokens.get(t.long)?.price,
        tokens.get(t.short)?.price,
    );
    let collateral_price = cached_price(pos.addresses.collateralToken, market, index, long, short)?;
    let params = &market.params;
    let side = params.side(is_long).state(t.divisor());
    let pool_price = if is_long { long.min } else { short.min };
    let (pnl, uncapped_pnl) = math::position_pnl(
        n.sizeInUsd,
        n.sizeInTokens,
        is_long,
        index,
        pool_price,
        &side,
    )?;

    let exec = &p.info.executionPriceResult;
    let pending_impact = math::pending_impact_usd(n.pendingImpactAmount, index)?;
    let impact = math::liquidation_impact(
        exec.priceImpactUsd,
        pending_impact,
        n.sizeInUsd,
        params.max_position_impact_factor_for_liquidations,
    )?;
    let fee_factor = if exec.balanceWasImproved {
        params.position_fee_factor_improved
    } else {
        params.position_fee_factor_worsened
    };
    let position_fee_amount =
        math::position_fee_amount(n.sizeInUsd, fee_factor, collateral_price.min)?;

    // Fees at the stored market state (what the Reader's liquidation check charges) and accrued to
    // the block (what the Reader's position info reports).
    let fees = &p.info.fees;
    let stored_borrowing_amount = math::borrowing_fee_usd(
        n.sizeInUsd,
        params.side(is_long).cumulative_borrowing_factor,
        n.borrowingFactor,
    )? / collateral_price.min;
    let stored_funding_amount = math::funding_fee_amount(
        p.funding_fee_amount_per_size,
        n.fundingFeeAmountPerSize,
        n.sizeInUsd,
    )?;
    let base_cost =
        (position_fee_amount + fees.ui.uiFeeAmount + fees.liquidation.liquidationFeeAmount)
            .checked_sub(fees.totalDiscountAmount)
            .ok_or_else(|| {
                AdapterError::malformed("getPositionInfo", "discount exceeds the fees it discounts")
            })?;
    let stored_cost = base_cost + stored_borrowing_amount + stored_funding_amount;
    let block_cost = base_cost + fees.borrowing.borrowingFeeAmount + fees.funding.fundingFeeAmount;

    let inputs = |total_cost_amount| LiquidationInputs {
        size_in_usd: n.sizeInUsd,
        collateral_amount: n.collateralAmount,
        collateral_price,
        pnl_usd: pnl,
        impact_usd: impact,
        total_cost_amount,
        min_collateral_usd: raw.min_collateral_usd,
        min_collateral_factor: params.min_collateral_factor_for_liquidation,
    };
    let stored = math::liquidation(&inputs(stored_cost))?;
    let block_inputs = inputs(block_cost);
    let at_block = math::liquidation(&block_inputs)?;

    let accrual = math::signed(
        block_cost
            .checked_mul(collateral_price.min)
            .unwrap_or(U256::MAX),
    )? - math::signed(
        stored_cost
            .checked_mul(collateral_price.min)
            .unwrap_or(U256::MAX),
    )?;
    let g = &p.figures;
    let remaining = g.remainingCollateralUsd - accrual;
    let reason = verdict(remaining, g.minCollateralUsd, g.minCollateralUsdForLeverage);
    let reported_at_block = LiquidationFigures {
        remaining_collateral_usd: remaining,
        min_collateral_usd: g.minCollateralUsd,
        min_collateral_usd_for_leverage: g.minCollateralUsdForLeverage,
        liquidatable: !reason.is_empty(),
        reason,
    };

    let mut mismatches = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            mismatches.push(what);
        }
    };
    check(
        stored.remaining_collateral_usd == g.remainingCollateralUsd,
        format!(
            "remaining collateral {} (Reader) vs {} (reproduced)",
            g.remainingCollateralUsd, stored.remaining_collateral_usd
        ),
    );
    check(
        stored.min_collateral_usd == g.minCollateralUsd,
        format!(
            "min collateral {} vs {}",
            g.minCollateralUsd, stored.min_collateral_usd
        ),
    );
    check(
        stored.min_collateral_usd_for_leverage == g.minCollateralUsdForLeverage,
        format!(
            "min collateral for leverage {} vs {}",
            g.minCollateralUsdForLeverage, stored.min_collateral_usd_for_leverage
        ),
    );
    check(
        stored.liquidatable == p.liquidatable,
        format!("verdict `{}` vs `{}`", p.reason, stored.reason),
    );
    check(
        p.info.basePnlUsd == pnl,
        format!("PnL {} vs {pnl}", p.info.basePnlUsd),
    );
    check(
        p.info.uncappedBasePnlUsd == uncapped_pnl,
        format!(
            "uncapped PnL {} vs {uncapped_pnl}",
            p.info.uncappedBasePnlUsd
        ),
    );
    check(
        fees.positionFeeAmount == position_fee_amount,
        format!(
            "position fee {} vs {position_fee_amount}",
            fees.positionFeeAmount
        ),
    );
    check(
        fees.collateralTokenPrice.min == collateral_price.min
            && fees.collateralTokenPrice.max == collateral_price.max,
        "collateral price".to_owned(),
    );
    check(
        fees.totalCostAmount == block_cost,
        format!("total cost {} vs {block_cost}", fees.totalCostAmount),
    );
    check(
        p.info.position == p.position,
        "position info describes another position state".to_owned(),
    );

    let collateral_usd = math::signed(
        n.collateralAmount
            .checked_mul(collateral_price.min)
            .unwrap_or(U256::MAX),
    )?;
    Ok(Reproduction {
        at_block,
        reported_at_block,
        inputs: block_inputs,
        collateral_usd,
        pnl,
        uncapped_pnl,
        impact,
        position_fee_amount,
        stored_borrowing_amount,
        stored_funding_amount,
        stored,
        mismatches,
    })
}

fn price(token: &RawToken, usd: Decimal, ctx: &NormalizeContext<'_>, now: u64) -> Price {
    let caip = |a: Address| format!("{}:{}", ctx.chain, a.to_checksum(None));
    Price {
        usd,
        source: PriceSource {
            oracle: "chainlink".into(),
            address: Some(caip(ctx.deployment.data_store)),
            feed: Some(caip(token.layout.feed)),
        },
        updated_at: i64::try_from(token.updated_at)
            .ok()
            .and_then(|t| Utc.timestamp_opt(t, 0).single()),
        age_seconds: Some(now.saturating_sub(token.updated_at)),
    }
}

/// Normalizes a raw read into a snapshot. Pure and deterministic.
pub fn normalize(raw: &RawAccount, ctx: &NormalizeContext<'_>) -> Result<ProtocolSnapshot> {
    let now = raw.block_timestamp;
    let tokens = Tokens {
        raw,
        deployment: ctx.deployment,
    };
    let mut notes = Vec::new();
    let mut mismatches = Vec::new();
    let mut positions = Vec::new();
    let mut reproduced = Health::Infinite;
    let mut reported = Health::Infinite;
    let mut figures = BTreeMap::from([(
        "min_collateral_usd".to_owned(),
        raw.min_collateral_usd.to_string(),
    )]);
    let scaled =
        |v: U256, d: u8, r: Rounding, what: &str, notes: &mut Vec<String>| -> Result<Decimal> {
            let s = scale(v, u32::from(d), r)?;
            if s.rounded {
                notes.push(format!("{what} rounded to fit 28 significant digits"));
            }
            Ok(s.value.normalize())
        };

    for (i, p) in raw.positions.iter().enumerate() {
        let pos = &p.position;
        let n = &pos.numbers;
        let is_long = pos.flags.isLong;
        let market = raw.markets.get(&pos.addresses.market).ok_or_else(|| {
            AdapterError::malformed(
                "gmx-v2 reads",
                format!("market {} was not read", pos.addresses.market),
            )
        })?;
        if n.sizeInTokens.is_zero() || n.sizeInUsd.is_zero() {
            return Err(AdapterError::malformed(
                "getAccountPositions",
                format!(
                    "position {} has size {} USD and {} tokens",
                    p.key, n.sizeInUsd, n.sizeInTokens
                ),
            ));
        }
        let rep = reproduce(raw, market, p, &tokens)?;
        let index = tokens.get(market.tokens.index)?;
        let collateral = tokens.get(pos.addresses.collateralToken)?;
        let (index_dec, collateral_dec) = (token_decimals(index)?, token_decimals(collateral)?);
        let (index_sym, collateral_sym) = (tokens.symbol(index), tokens.symbol(collateral));
        let market_name = format!(
            "{index_sym}/USD [{}-{}]",
            tokens.symbol(tokens.get(market.tokens.long)?),
            tokens.symbol(tokens.get(market.tokens.short)?)
        );
        let side_name = if is_long { "long" } else { "short" };
        let label = format!("p{i}");

        // Perp.
        let mark_raw = index.price.for_pnl(is_long, false);
        let mark = usd_per_token(mark_raw, index_dec)?;
        let amount = scaled(
            n.sizeInTokens,
            index_dec,
            Rounding::Up,
            &index_sym,
            &mut notes,
        )?;
        // sizeInUsd / sizeInTokens per base unit, times 10^decimals per whole token.
        let entry = scale(
            math::mul_div(
                n.sizeInUsd,
                math::pow10(u32::from(index_dec)),
                n.sizeInTokens,
            )?,
            30,
            Rounding::Down,
        )?
        .value;
        let liquidation_price = math::liquidation_price(
            &rep.inputs,
            n.sizeInTokens,
            is_long,
            pos.addresses.collateralToken == market.tokens.index,
        )?
        .map(|price| usd_per_token(price, index_dec))
        .transpose()?;
        let params = &market.params;
        let side = params.side(is_long);
        let open_interest_factor = math::apply_factor(
            side.state(market.tokens.divisor()).open_interest,
            side.open_interest_multiplier,
        )?;
        let initial = params
            .min_collateral_factor
            .max(open_interest_factor)
            .max(params.min_collateral_factor_for_liquidation);
        let weights = RiskWeights {
            initial: factor(initial)?,
            maintenance: factor(params.min_collateral_factor_for_liquidation)?,
        };
        let fees = &p.info.fees;
        let native = BTreeMap::from([
            ("position_key".to_owned(), format!("{:#x}", p.key)),
            ("market_token".to_owned(), market.address.to_checksum(None)),
            (
                "collateral_token".to_owned(),
                pos.addresses.collateralToken.to_checksum(None),
            ),
            ("size_in_usd".to_owned(), n.sizeInUsd.to_string()),
            ("size_in_tokens".to_owned(), n.sizeInTokens.to_string()),
            (
                "collateral_amount".to_owned(),
                n.collateralAmount.to_string(),
            ),
            (
                "pending_impact_amount".to_owned(),
                n.pendingImpactAmount.to_string(),
            ),
            ("borrowing_factor".to_owned(), n.borrowingFactor.to_string()),
            (
                "funding_fee_amount_per_size".to_owned(),
                n.fundingFeeAmountPerSize.to_string(),
            ),
            (
                "increased_at_time".to_owned(),
                n.increasedAtTime.to_string(),
            ),
            (
                "min_collateral_factor".to_owned(),
                params.min_collateral_factor.to_string(),
            ),
            (
                "min_collateral_factor_for_liquidation".to_owned(),
                params.min_collateral_factor_for_liquidation.to_string(),
            ),
            (
                "min_collateral_factor_for_open_interest".to_owned(),
                open_interest_factor.to_string(),
            ),
            ("base_pnl_usd".to_owned(), rep.pnl.to_string()),
            (
                "uncapped_base_pnl_usd".to_owned(),
                rep.uncapped_pnl.to_string(),
            ),
            ("price_impact_usd".to_owned(), rep.impact.to_string()),
            (
                "position_fee_amount".to_owned(),
                rep.position_fee_amount.to_string(),
            ),
            (
                "borrowing_fee_amount".to_owned(),
                fees.borrowing.borrowingFeeAmount.to_string(),
            ),
            (
                "funding_fee_amount".to_owned(),
                fees.funding.fundingFeeAmount.to_string(),
            ),
            (
                "total_discount_amount".to_owned(),
                fees.totalDiscountAmount.to_string(),
            ),
            (
                "claimable_long_token_amount".to_owned(),
                fees.funding.claimableLongTokenAmount.to_string(),
            ),
            (
                "claimable_short_token_amount".to_owned(),
                fees.funding.claimableShortTokenAmount.to_string(),
            ),
            (
                "remaining_collateral_usd".to_owned(),
                rep.at_block.remaining_collateral_usd.to_string(),
            ),
            (
                "required_collateral_usd".to_owned(),
                rep.at_block.required_usd().to_string(),
            ),
            (
                "liquidation_reason".to_owned(),
                rep.at_block.reason.to_owned(),
            ),
        ]);
        positions.push(Position {
            kind: PositionKind::Perp,
            side: if is_long { Side::Long } else { Side::Short },
            asset: Asset {
                id: AssetId {
                    chain: ctx.chain.clone(),
                    namespace: "erc20".into(),
                    reference: index.address.to_checksum(None),
                },
                symbol: index_sym.clone(),
                decimals: index_dec,
                risk_key: ctx.deployment.risk_key(&index_sym),
            },
            amount,
            value_usd: (amount * mark).normalize(),
            price: price(index, mark, ctx, now),
            counts_as_collateral: false,
            weights,
            perp: Some(PerpDetails {
                market: market_name,
                entry_price: entry.normalize(),
                mark_price: mark,
                unrealized_pnl_usd: usd(rep.at_block.remaining_collateral_usd - rep.collateral_usd)?,
                liquidation_price,
            }),
            option: None,
            greeks: None,
            native,
        });

        // The position's collateral.
        let collateral_price = usd_per_token(
            cached_price(
                collateral.address,
                market,
                index.price,
                tokens.get(market.tokens.long)?.price,
                tokens.get(market.tokens.short)?.price,
            )?
            .min,
            collateral_dec,
        )?;
        let collateral_amount = scaled(
            n.collateralAmount,
            collateral_dec,
            Rounding::Down,
            &collateral_sym,
            &mut notes,
        )?;
        positions.push(Position {
            kind: PositionKind::Supply,
            side: Side::Long,
            asset: Asset {
                id: AssetId {
                    chain: ctx.chain.clone(),
                    namespace: "erc20".into(),
                    reference: collateral.address.to_checksum(None),
                },
                symbol: collateral_sym.clone(),
                decimals: collateral_dec,
                risk_key: ctx.deployment.risk_key(&collateral_sym),
            },
            amount: collateral_amount,
            value_usd: (collateral_amount * collateral_price).normalize(),
            price: price(collateral, collateral_price, ctx, now),
            counts_as_collateral: true,
            weights: RiskWeights {
                initial: Decimal::ONE,
                maintenance: Decimal::ONE,
            },
            perp: None,
            option: None,
            greeks: None,
            native: BTreeMap::from([
                ("position_key".to_owned(), format!("{:#x}", p.key)),
                (
                    "collateral_of".to_owned(),
                    format!("{side_name} {index_sym}"),
                ),
                (
                    "collateral_amount".to_owned(),
                    n.collateralAmount.to_string(),
                ),
            ]),
        });

        reproduced = reproduced.min(rep.at_block.ratio());
        reported = reported.min(rep.reported_at_block.ratio());
        let mut f = |k: &str, v: String| {
            figures.insert(format!("{label}.{k}"), v);
        };
        f("key", format!("{:#x}", p.key));
        f(
            "side",
            format!("{side_name} {index_sym} with {collateral_sym}"),
        );
        f(
            "reproduced.remaining_collateral_usd",
            rep.at_block.remaining_collateral_usd.to_string(),
        );
        f(
            "reproduced.required_collateral_usd",
            rep.at_block.required_usd().to_string(),
        );
        f(
            "reproduced.liquidatable",
            rep.at_block.liquidatable.to_string(),
        );
        f(
            "reproduced.stored_state.remaining_collateral_usd",
            rep.stored.remaining_collateral_usd.to_string(),
        );
        f(
            "reproduced.stored_state.borrowing_fee_amount",
            rep.stored_borrowing_amount.to_string(),
        );
        f(
            "reproduced.stored_state.funding_fee_amount",
            rep.stored_funding_amount.to_string(),
        );
        f(
            "reported.remaining_collateral_usd",
            p.figures.remainingCollateralUsd.to_string(),
        );
        f(
            "reported.min_collateral_usd",
            p.figures.minCollateralUsd.to_string(),
        );
        f(
            "reported.min_collateral_usd_for_leverage",
            p.figures.minCollateralUsdForLeverage.to_string(),
        );
        f("reported.liquidatable", p.liquidatable.to_string());
        f("reported.reason", p.reason.clone());
        f(
            "reported.at_block.remaining_collateral_usd",
            rep.reported_at_block.remaining_collateral_usd.to_string(),
        );
        f(
            "reported.pending_borrowing_fee_amount",
            fees.borrowing.borrowingFeeAmount.to_string(),
        );
        f(
            "reported.pending_funding_fee_amount",
            fees.funding.fundingFeeAmount.to_string(),
        );
        f(
            "reported.total_cost_amount",
            fees.totalCostAmount.to_string(),
        );
        f("reported.base_pnl_usd", p.info.basePnlUsd.to_string());
        mismatches.extend(
            rep.mismatches
                .into_iter()
                .map(|m| format!("{side_name} {index_sym} ({:#x}): {m}", p.key)),
        );
    }

    let mut native_health = NativeHealth::new(METRIC, reproduced, Some(reported));
    native_health.figures = figures;
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
    if !mismatches.is_empty() {
        native_health.agrees = Some(false);
        warnings.push(Warning {
            scope,
            kind: WarningKind::NativeHealthMismatch,
            message: format!(
                "GMX's Reader disagrees with the reproduction: {}",
                mismatches.join("; ")
            ),
        });
    }

    let caip = |a: Address| format!("{}:{}", ctx.chain, a.to_checksum(None));
    let mut sources = vec![caip(ctx.deployment.reader), caip(ctx.deployment.data_store)];
    if ctx.deployment.referral_storage != Address::ZERO {
        sources.push(caip(ctx.deployment.referral_storage));
    }
    sources.extend(raw.tokens.values().map(|t| caip(t.layout.feed)));
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
