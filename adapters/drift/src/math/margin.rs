//! `calculate_margin_requirement_and_total_collateral_and_liability_info` for one `User`: one
//! traversal of its spot and perp positions that yields total collateral, the margin
//! requirement (cross and per isolated perp position) and the per-position figures the
//! normalization reports.
//!
//! The standard (non-strict) context is reproduced: prices are the oracle prices, not bounded by
//! the 5-minute TWAP, as the program uses for liquidation checks and as Drift's SDK shows health.

use std::collections::BTreeMap;

use super::{
    MarginType, MathError, MathResult, Safe, cast,
    perp::{self, in_settlement, is_prediction},
    spot::{self, FillSimulation, StrictPrice},
};
use crate::{
    constants::{
        MARGIN_PRECISION, MAX_POSITIVE_UPNL_FOR_INITIAL_MARGIN, OPEN_ORDER_MARGIN_REQUIREMENT,
        PRICE_PRECISION, QUOTE_SPOT_MARKET_INDEX, SPOT_WEIGHT_PRECISION,
    },
    layout::{PerpMarket, PerpPosition, SpotMarket, SpotPosition, User},
    types::{MarginMode, SpotBalanceType},
};

/// Bit of `PerpPosition::position_flag` marking an isolated-margin position.
pub const POSITION_FLAG_ISOLATED: u8 = 0b0000_0001;

/// Why a margin calculation could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarginError {
    /// Overflow or division by zero.
    #[error(transparent)]
    Math(#[from] MathError),
    /// A position references a spot market that was not read.
    #[error("spot market {0} was not read")]
    MissingSpotMarket(u16),
    /// A position references a perp market that was not read.
    #[error("perp market {0} was not read")]
    MissingPerpMarket(u16),
    /// A stored enum has a value the program never writes.
    #[error("spot position in market {market_index} has unknown balance type {value}")]
    UnknownBalanceType {
        /// The market.
        market_index: u16,
        /// The raw value.
        value: u8,
    },
}

/// The markets a user's positions reference, each with its oracle price (`PRICE_PRECISION`).
#[derive(Debug, Default, Clone)]
pub struct Markets<'a> {
    /// Spot markets by index.
    pub spot: BTreeMap<u16, (&'a SpotMarket, i64)>,
    /// Perp markets by index.
    pub perp: BTreeMap<u16, (&'a PerpMarket, i64)>,
}

impl<'a> Markets<'a> {
    fn spot(&self, index: u16) -> Result<(&'a SpotMarket, i64), MarginError> {
        self.spot
            .get(&index)
            .copied()
            .ok_or(MarginError::MissingSpotMarket(index))
    }

    fn perp(&self, index: u16) -> Result<(&'a PerpMarket, i64), MarginError> {
        self.perp
            .get(&index)
            .copied()
            .ok_or(MarginError::MissingPerpMarket(index))
    }
}

/// One spot position's contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpotLine {
    /// Spot market index.
    pub market_index: u16,
    /// Signed token amount (base units; negative for borrows).
    pub token_amount: i128,
    /// Oracle price used (`PRICE_PRECISION`).
    pub price: i64,
    /// The worst-case fill simulation (the position itself without open orders). For the quote
    /// market the weight is 1.
    pub worst: FillSimulation,
    /// `$0.01` per open order (`QUOTE_PRECISION`).
    pub open_orders_margin: u128,
}

/// One perp position's contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerpLine {
    /// Perp market index.
    pub market_index: u16,
    /// Base amount (`BASE_PRECISION`, signed).
    pub base: i64,
    /// Quote amount (`QUOTE_PRECISION`, signed): entry cost, fees and realized-but-unsettled PnL.
    pub quote: i64,
    /// Oracle price (`PRICE_PRECISION`).
    pub price: i64,
    /// Unsettled funding (`QUOTE_PRECISION`, signed).
    pub funding: i128,
    /// `|base| × valuation price` (`QUOTE_PRECISION`).
    pub base_value: u128,
    /// Unrealized PnL including unsettled funding (`QUOTE_PRECISION`, signed).
    pub unrealized_pnl: i128,
    /// Base amount if the riskier side of the open orders filled.
    pub worst_case_base: i128,
    /// Its notional × the quote asset's price (`QUOTE_PRECISION`).
    pub worst_case_liability: u128,
    /// Margin ratio applied (`MARGIN_PRECISION`), size premium included.
    pub margin_ratio: u32,
    /// Requirement of the position, open orders included (`QUOTE_PRECISION`).
    pub margin_requirement: u128,
    /// Weight of the PnL (`SPOT_WEIGHT_PRECISION`).
    pub pnl_weight: u32,
    /// PnL as counted in total collateral (`QUOTE_PRECISION`), capped for initial margin.
    pub weighted_pnl: i128,
    /// Whether the position is margined on its own (isolated) rather than cross.
    pub isolated: bool,
}

/// The separate account of an isolated perp position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsolatedMargin {
    /// Perp market index.
    pub market_index: u16,
    /// Its quote deposit plus its weighted PnL (`QUOTE_PRECISION`).
    pub total_collateral: i128,
    /// Its requirement (`QUOTE_PRECISION`).
    pub margin_requirement: u128,
}

/// The result for one user and one margin type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginCalculation {
    /// Initial or maintenance.
    pub margin_type: MarginType,
    /// Cross-margin total collateral (`QUOTE_PRECISION`, may be negative).
    pub total_collateral: i128,
    /// Cross-margin requirement (`QUOTE_PRECISION`).
    pub margin_requirement: u128,
    /// Isolated perp positions, each margined on its own.
    pub isolated: Vec<IsolatedMargin>,
    /// Spot positions in the order of the user's slots.
    pub spot: Vec<SpotLine>,
    /// Perp positions in the order of the user's slots.
    pub perp: Vec<PerpLine>,
}

impl MarginCalculation {
    /// `meets_margin_requirement`: cross and every isolated position.
    pub fn meets_margin_requirement(&self) -> bool {
        self.total_collateral >= self.margin_requirement as i128
            && self
                .isolated
                .iter()
                .all(|i| i.total_collateral >= i.margin_requirement as i128)
    }

    /// Cross free collateral, `max(0, total − requirement)` as Drift's SDK shows it.
    pub fn free_collateral(&self) -> i128 {
        (self.total_collateral - self.margin_requirement as i128).max(0)
    }
}

/// Whether a spot slot is unused (`SpotPosition::is_available`).
pub fn spot_is_available(p: &SpotPosition) -> bool {
    p.scaled_balance.get() == 0 && p.open_orders == 0
}

/// Whether a perp slot is unused (`PerpPosition::is_available`).
pub fn perp_is_available(p: &PerpPosition) -> bool {
    p.base_asset_amount.get() == 0
        && p.open_orders == 0
        && p.open_bids.get() == 0
        && p.open_asks.get() == 0
        && p.quote_asset_amount.get() == 0
        && p.lp_shares.get() == 0
        && p.isolated_position_scaled_balance.get() == 0
}

/// `User::is_high_leverage_mode(margin_type)`.
pub fn is_high_leverage(user: &User, margin: MarginType) -> bool {
    match MarginMode::from_u8(user.margin_mode) {
        Some(MarginMode::HighLeverage) => true,
        Some(MarginMode::HighLeverageMaintenance) => margin == MarginType::Maintenance,
        _ => false,
    }
}

/// Computes the margin calculation of `user` for `margin_type` (standard context).
pub fn calculate(
    user: &User,
    markets: &Markets<'_>,
    margin_type: MarginType,
) -> Result<MarginCalculation, MarginError> {
    let user_custom_ratio = if margin_type == MarginType::Initial {
        user.max_margin_ratio.get()
    } else {
        0
    };
    let high_leverage = is_high_leverage(user, margin_type);
    let mut calc = MarginCalculation {
        margin_type,
        total_collateral: 0,
        margin_requirement: 0,
        isolated: Vec::new(),
        spot: Vec::new(),
        perp: Vec::new(),
    };

    for position in user.spot_positions.iter().filter(|p| !spot_is_available(p)) {
        let index = position.market_index.get();
        let kind = SpotBalanceType::from_u8(position.balance_type).ok_or(
            MarginError::UnknownBalanceType {
                market_index: index,
                value: position.balance_type,
            },
        )?;
        let (market, price) = markets.spot(index)?;
        let strict = StrictPrice::standard(price);
        let amount = spot::token_amount(u128::from(position.scaled_balance.get()), market, kind)?;
        let signed = spot::signed_token_amount(amount, kind)?;
        let open_orders_margin =
            u128::from(position.open_orders).mul_(OPEN_ORDER_MARGIN_REQUIREMENT)?;
        if index == QUOTE_SPOT_MARKET_INDEX {
            // The quote asset is counted at its value, without weights or order simulation.
            let value = spot::strict_token_value(signed, market.decimals.get(), &strict)?;
            match kind {
                SpotBalanceType::Deposit => {
                    calc.total_collateral = calc.total_collateral.add_(value)?
                }
                SpotBalanceType::Borrow => {
                    calc.margin_requirement = calc.margin_requirement.add_(value.unsigned_abs())?
                }
            }
            let weight = SPOT_WEIGHT_PRECISION as u32;
            calc.spot.push(SpotLine {
                market_index: index,
                token_amount: signed,
                price,
                worst: FillSimulation {
                    token_amount: signed,
                    orders_value: 0,
                    token_value: value,
                    weighted_token_value: value,
                    free_collateral_contribution: value,
                    weight,
                },
                open_orders_margin: 0,
            });
            continue;
        }
        let worst = spot::worst_case_fill(position, market, &strict, signed, margin_type)?;
        let worst = spot::apply_custom_margin_ratio(worst, market, price, user_custom_ratio)?;
        calc.margin_requirement = calc.margin_requirement.add_(open_orders_margin)?;
        if worst.token_value > 0 {
            calc.total_collateral = calc.total_collateral.add_(worst.weighted_token_value)?;
        } else if worst.token_value < 0 {
            calc.margin_requirement = calc
                .margin_requirement
                .add_(worst.weighted_token_value.unsigned_abs())?;
        }
        if worst.orders_value > 0 {
            calc.total_collateral = calc.total_collateral.add_(worst.orders_value)?;
        } else if worst.orders_value < 0 {
            calc.margin_requirement = calc
                .margin_requirement
                .add_(worst.orders_value.unsigned_abs())?;
        }
        calc.spot.push(SpotLine {
            market_index: index,
            token_amount: signed,
            price,
            worst,
            open_orders_margin,
        });
    }

    for position in user.perp_positions.iter().filter(|p| !perp_is_available(p)) {
        let index = position.market_index.get();
        let (market, price) = markets.perp(index)?;
        let (quote_market, quote_price) = markets.spot(market.quote_spot_market_index.get())?;
        let strict_quote = StrictPrice::standard(quote_price);
        let position_ratio = if margin_type == MarginType::Initial {
            u32::from(position.max_margin_ratio.get())
        } else {
            0
        };
        let line = perp_line(
            position,
            market,
            price,
            &strict_quote,
            margin_type,
            user_custom_ratio.max(position_ratio),
            high_leverage,
        )?;
        if line.isolated {
            let deposit = spot::token_amount(
                u128::from(position.isolated_position_scaled_balance.get()),
                quote_market,
                SpotBalanceType::Deposit,
            )?;
            let deposit_value = spot::strict_token_value(
                cast(deposit)?,
                quote_market.decimals.get(),
                &strict_quote,
            )?;
            calc.isolated.push(IsolatedMargin {
                market_index: index,
                total_collateral: deposit_value.add_(line.weighted_pnl)?,
                margin_requirement: line.margin_requirement,
            });
        } else {
            calc.margin_requirement = calc.margin_requirement.add_(line.margin_requirement)?;
            calc.total_collateral = calc.total_collateral.add_(line.weighted_pnl)?;
        }
        calc.perp.push(line);
    }
    Ok(calc)
}

/// `calculate_perp_position_value_and_pnl` for one position.
pub fn perp_line(
    position: &PerpPosition,
    market: &PerpMarket,
    oracle_price: i64,
    quote_price: &StrictPrice,
    margin_type: MarginType,
    custom_ratio: u32,
    high_leverage: bool,
) -> MathResult<PerpLine> {
    let settlement = in_settlement(market);
    let valuation_price = if settlement {
        market.expiry_price.get()
    } else {
        oracle_price
    };
    let funding = perp::funding_payment(position, market)?;
    let (base_value, pnl) = perp::base_value_and_pnl(
        position.base_asset_amount.get(),
        position.quote_asset_amount.get(),
        valuation_price,
    )?;
    let unrealized_pnl = pnl.add_(funding)?;
    let (worst_case_base, liability) =
        perp::worst_case_liability(position, oracle_price, is_prediction(market))?;
    // A liability is valued at the higher of the quote asset's prices.
    let worst_case_liability = liability
        .mul_(cast(quote_price.max())?)?
        .div_(PRICE_PRECISION as u128)?;
    let (margin_ratio, mut requirement) = if settlement {
        (0, 0)
    } else {
        let ratio = custom_ratio.max(perp::margin_ratio(
            market,
            worst_case_base.unsigned_abs(),
            margin_type,
            high_leverage,
        )?);
        (
            ratio,
            worst_case_liability
                .mul_(u128::from(ratio))?
                .div_(MARGIN_PRECISION)?,
        )
    };
    requirement =
        requirement.add_(u128::from(position.open_orders).mul_(OPEN_ORDER_MARGIN_REQUIREMENT)?)?;
    let pnl_weight = perp::unrealized_asset_weight(market, unrealized_pnl, margin_type)?;
    let pnl_quote_price = match unrealized_pnl.cmp(&0) {
        std::cmp::Ordering::Greater => quote_price.min(),
        std::cmp::Ordering::Less => quote_price.max(),
        std::cmp::Ordering::Equal => quote_price.current,
    };
    let mut weighted_pnl = unrealized_pnl;
    if pnl_weight != SPOT_WEIGHT_PRECISION as u32 {
        weighted_pnl = weighted_pnl
            .mul_(i128::from(pnl_weight))?
            .div_(SPOT_WEIGHT_PRECISION as i128)?;
    }
    if i128::from(pnl_quote_price) != PRICE_PRECISION {
        weighted_pnl = weighted_pnl
            .mul_(i128::from(pnl_quote_price))?
            .div_(PRICE_PRECISION)?;
    }
    if margin_type == MarginType::Initial {
        // Drift's guard against dangerously configured markets: at most $100 of profit.
        weighted_pnl = weighted_pnl.min(MAX_POSITIVE_UPNL_FOR_INITIAL_MARGIN);
    }
    Ok(PerpLine {
        market_index: position.market_index.get(),
        base: position.base_asset_amount.get(),
        quote: position.quote_asset_amount.get(),
        price: oracle_price,
        funding,
        base_value,
        unrealized_pnl,
        worst_case_base,
        worst_case_liability,
        margin_ratio,
        margin_requirement: requirement,
        pnl_weight,
        weighted_pnl,
        isolated: position.position_flag & POSITION_FLAG_ISOLATED != 0,
    })
}
