//! `refresh_obligation` reproduced at the read slot: each deposit valued from its reserve's
//! collateral exchange rate and price, each borrow accrued to the reserve's cumulative borrow
//! rate and valued, then the borrow limit (`allowed_borrow_value`, LTV-weighted), the liquidation
//! limit (`unhealthy_borrow_value`, liquidation-threshold-weighted) and the borrow-factor-adjusted
//! debt, with elevation groups replacing the reserves' LTV and threshold and the borrow factor.

use std::collections::BTreeMap;

use crate::{
    fraction::{Fraction, FractionError, big_bits, big_ratio, from_percent, mul, sf},
    layout::{ElevationGroup, LendingMarket, Obligation, Reserve},
    pod::Key,
    reserve::ReserveAt,
};

/// A reserve at the read slot with the price the obligation is valued at.
#[derive(Debug, Clone, Copy)]
pub struct PricedReserve<'a> {
    /// The reserve account.
    pub reserve: &'a Reserve,
    /// Its figures accrued to the read slot.
    pub at: ReserveAt,
    /// USD per whole token.
    pub price: Fraction,
}

/// Why an obligation could not be recomputed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// Fixed-point overflow.
    #[error(transparent)]
    Fraction(#[from] FractionError),
    /// A deposit or borrow names a reserve that was not read.
    #[error("reserve {0} was not read")]
    MissingReserve(String),
    /// The obligation's elevation group is not configured in the market.
    #[error("elevation group {0} is not configured in the lending market")]
    UnknownElevationGroup(u8),
    /// A reserve does not belong to the obligation's elevation group (`InconsistentElevationGroup`).
    #[error("reserve {reserve} is not in elevation group {group}")]
    InconsistentElevationGroup {
        /// The reserve.
        reserve: String,
        /// The group.
        group: u8,
    },
    /// An obligation's borrow is ahead of its reserve (`NegativeInterestRate`).
    #[error("borrow in reserve {0} has a cumulative rate above its reserve's")]
    NegativeInterest(String),
}

/// One deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositLine {
    /// Reserve.
    pub reserve: Key,
    /// cTokens deposited.
    pub ctokens: u64,
    /// Tokens they redeem for (base units).
    pub liquidity: Fraction,
    /// USD value.
    pub market_value: Fraction,
    /// Loan-to-value applied (percent).
    pub ltv_pct: u8,
    /// Liquidation threshold applied (percent).
    pub liquidation_threshold_pct: u8,
}

/// One borrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BorrowLine {
    /// Reserve.
    pub reserve: Key,
    /// Debt accrued to the reserve's rate (base units).
    pub borrowed: Fraction,
    /// USD value.
    pub market_value: Fraction,
    /// Borrow factor applied (1 in an elevation group).
    pub borrow_factor: Fraction,
    /// `market_value × borrow_factor`.
    pub borrow_factor_adjusted_value: Fraction,
}

/// The refreshed figures of an obligation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// Deposits.
    pub deposits: Vec<DepositLine>,
    /// Borrows.
    pub borrows: Vec<BorrowLine>,
    /// Σ deposit values.
    pub deposited_value: Fraction,
    /// Borrow limit: Σ value × LTV, capped by the market's global limit.
    pub allowed_borrow_value: Fraction,
    /// Liquidation limit: Σ value × liquidation threshold.
    pub unhealthy_borrow_value: Fraction,
    /// Σ borrow values.
    pub borrowed_assets_market_value: Fraction,
    /// Σ borrow values × borrow factors: compared with both limits.
    pub borrow_factor_adjusted_debt_value: Fraction,
}

impl Refreshed {
    /// Kamino liquidates when the borrow-factor-adjusted debt reaches the liquidation limit.
    pub fn is_liquidatable(&self) -> bool {
        self.borrow_factor_adjusted_debt_value > Fraction::ZERO
            && self.borrow_factor_adjusted_debt_value >= self.unhealthy_borrow_value
    }
}

/// The elevation group `id` of the market (`get_elevation_group`).
pub fn elevation_group(market: &LendingMarket, id: u8) -> Result<&ElevationGroup, RefreshError> {
    market
        .elevation_groups
        .iter()
        .find(|g| g.id == id && g.ltv_pct != 0 && g.liquidation_threshold_pct != 0)
        .ok_or(RefreshError::UnknownElevationGroup(id))
}

fn in_group(reserve: &Reserve, group: u8) -> bool {
    reserve.config.elevation_groups.contains(&group)
}

fn decimals_factor(reserve: &Reserve) -> Result<u128, FractionError> {
    let d = u32::try_from(reserve.liquidity.mint_decimals.get())
        .map_err(|_| FractionError { op: "decimals" })?;
    10u128
        .checked_pow(d)
        .ok_or(FractionError { op: "decimals" })
}

/// `refresh_obligation` with every reserve at the read slot.
pub fn refresh(
    obligation: &Obligation,
    market: &LendingMarket,
    reserves: &BTreeMap<Key, PricedReserve<'_>>,
) -> Result<Refreshed, RefreshError> {
    let group_id = obligation.elevation_group;
    let group = if group_id == 0 {
        None
    } else {
        Some(elevation_group(market, group_id)?)
    };
    let get = |k: &Key| {
        reserves
            .get(k)
            .ok_or_else(|| RefreshError::MissingReserve(k.to_base58()))
    };

    let mut out = Refreshed {
        deposits: Vec::new(),
        borrows: Vec::new(),
        deposited_value: Fraction::ZERO,
        allowed_borrow_value: Fraction::ZERO,
        unhealthy_borrow_value: Fraction::ZERO,
        borrowed_assets_market_value: Fraction::ZERO,
        borrow_factor_adjusted_debt_value: Fraction::ZERO,
    };
    for d in obligation
        .deposits
        .iter()
        .filter(|d| !d.deposit_reserve.is_default())
    {
        let r = get(&d.deposit_reserve)?;
        if group.is_some() && !in_group(r.reserve, group_id) {
            return Err(RefreshError::InconsistentElevationGroup {
                reserve: d.deposit_reserve.to_base58(),
                group: group_id,
            });
        }
        let ctokens = d.deposited_amount.get();
        let liquidity = r.at.collateral_to_liquidity(ctokens)?;
        let value = mul(liquidity, r.price)?
            .checked_div_int(decimals_factor(r.reserve)?)
            .ok_or(FractionError { op: "div" })?;
        let cfg = &r.reserve.config;
        let (ltv, threshold) = match group {
            Some(g) => (g.ltv_pct, g.liquidation_threshold_pct),
            // A reserve that may only back loans inside its elevation groups lends nothing here.
            None if cfg.disable_usage_as_coll_outside_emode != 0 => {
                (0, cfg.liquidation_threshold_pct)
            }
            None => (cfg.loan_to_value_pct, cfg.liquidation_threshold_pct),
        };
        out.deposited_value += value;
        out.allowed_borrow_value += mul(value, from_percent(u64::from(ltv)))?;
        out.unhealthy_borrow_value += mul(value, from_percent(u64::from(threshold)))?;
        out.deposits.push(DepositLine {
            reserve: d.deposit_reserve,
            ctokens,
            liquidity,
            market_value: value,
            ltv_pct: ltv,
            liquidation_threshold_pct: threshold,
        });
    }
    for b in obligation
        .borrows
        .iter()
        .filter(|b| !b.borrow_reserve.is_default())
    {
        let r = get(&b.borrow_reserve)?;
        if group.is_some() && !in_group(r.reserve, group_id) {
            return Err(RefreshError::InconsistentElevationGroup {
                reserve: b.borrow_reserve.to_base58(),
                group: group_id,
            });
        }
        let former = big_bits(&b.cumulative_borrow_rate_bsf.value)?;
        let current = r.at.cumulative_borrow_rate;
        let mut borrowed = sf(b.borrowed_amount_sf.get());
        match current.cmp(&former) {
            std::cmp::Ordering::Less => {
                return Err(RefreshError::NegativeInterest(b.borrow_reserve.to_base58()));
            }
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Greater => borrowed = mul(borrowed, big_ratio(current, former)?)?,
        }
        let value = mul(borrowed, r.price)?
            .checked_div_int(decimals_factor(r.reserve)?)
            .ok_or(FractionError { op: "div" })?;
        let borrow_factor = if group.is_some() {
            Fraction::ONE
        } else {
            Fraction::ONE.max(from_percent(r.reserve.config.borrow_factor_pct.get()))
        };
        let adjusted = mul(value, borrow_factor)?;
        out.borrowed_assets_market_value += value;
        out.borrow_factor_adjusted_debt_value += adjusted;
        out.borrows.push(BorrowLine {
            reserve: b.borrow_reserve,
            borrowed,
            market_value: value,
            borrow_factor,
            borrow_factor_adjusted_value: adjusted,
        });
    }
    let global = Fraction::checked_from_num(market.global_allowed_borrow_value.get())
        .unwrap_or(Fraction::MAX);
    out.allowed_borrow_value = out.allowed_borrow_value.min(global);
    Ok(out)
}
