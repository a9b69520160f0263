//! A reserve brought to the read slot: interest accrued exactly as `refresh_reserve` would
//! (`Reserve::accrue_interest`, `ReserveLiquidity::compound_interest`,
//! `approximate_compounded_interest`, `BorrowRateCurve::get_borrow_rate`), and the collateral
//! exchange rate that follows.

use crate::{
    fraction::{Fraction, FractionError, big_bits, div, from_bps, from_percent, mul, sf},
    layout::{BorrowRateCurve, Reserve},
};

/// Slots per year as klend counts them (2 per second).
pub const SLOTS_PER_YEAR: u64 = 63_072_000;

/// The figures of a reserve the obligation maths need, at one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReserveAt {
    /// Slot the figures hold at.
    pub slot: u64,
    /// Available liquidity (base units).
    pub available: u64,
    /// Total borrowed (base units, fraction).
    pub borrowed: Fraction,
    /// Cumulative borrow rate (`Fraction` bits of the `BigFraction`).
    pub cumulative_borrow_rate: u128,
    /// Fees owed to the protocol, not depositors.
    pub protocol_fees: Fraction,
    /// Fees owed to referrers.
    pub referrer_fees: Fraction,
    /// Fees pending for referrers.
    pub pending_referrer_fees: Fraction,
    /// cToken supply.
    pub collateral_supply: u64,
}

impl ReserveAt {
    /// The reserve as stored (at its `last_update.slot`).
    pub fn stored(r: &Reserve) -> Result<Self, FractionError> {
        Ok(Self {
            slot: r.last_update.slot.get(),
            available: r.liquidity.available_amount.get(),
            borrowed: sf(r.liquidity.borrowed_amount_sf.get()),
            cumulative_borrow_rate: big_bits(&r.liquidity.cumulative_borrow_rate_bsf.value)?,
            protocol_fees: sf(r.liquidity.accumulated_protocol_fees_sf.get()),
            referrer_fees: sf(r.liquidity.accumulated_referrer_fees_sf.get()),
            pending_referrer_fees: sf(r.liquidity.pending_referrer_fees_sf.get()),
            collateral_supply: r.collateral.mint_total_supply.get(),
        })
    }

    /// `ReserveLiquidity::total_supply`: what depositors own.
    pub fn total_supply(&self) -> Result<Fraction, FractionError> {
        (Fraction::from_num(self.available) + self.borrowed)
            .checked_sub(self.protocol_fees + self.referrer_fees + self.pending_referrer_fees)
            .ok_or(FractionError { op: "total supply" })
    }

    /// `utilization_rate`: borrowed / total supply.
    pub fn utilization(&self) -> Result<Fraction, FractionError> {
        let supply = self.total_supply()?;
        if supply == Fraction::ZERO {
            Ok(Fraction::ZERO)
        } else {
            div(self.borrowed, supply)
        }
    }

    /// `CollateralExchangeRate`: cTokens per token (1 for an empty reserve).
    pub fn exchange_rate(&self) -> Result<Fraction, FractionError> {
        let supply = self.total_supply()?;
        if self.collateral_supply == 0 || supply == Fraction::ZERO {
            Ok(Fraction::ONE)
        } else {
            div(Fraction::from_num(self.collateral_supply), supply)
        }
    }

    /// `fraction_collateral_to_liquidity`: tokens a cToken amount redeems for.
    pub fn collateral_to_liquidity(&self, ctokens: u64) -> Result<Fraction, FractionError> {
        div(Fraction::from_num(ctokens), self.exchange_rate()?)
    }
}

/// `BorrowRateCurve::get_borrow_rate`: piecewise linear in basis points of utilization.
pub fn borrow_rate(
    curve: &BorrowRateCurve,
    utilization: Fraction,
) -> Result<Fraction, FractionError> {
    let utilization = utilization.min(Fraction::ONE);
    let bps: u32 = (utilization * 10_000).to_num::<u32>();
    for w in curve.points.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ua, ub) = (a.utilization_rate_bps.get(), b.utilization_rate_bps.get());
        if bps < ua || bps > ub {
            continue;
        }
        if bps == ua {
            return Ok(from_bps(u64::from(a.borrow_rate_bps.get())));
        }
        if bps == ub {
            return Ok(from_bps(u64::from(b.borrow_rate_bps.get())));
        }
        let slope = div(
            Fraction::from_num(
                b.borrow_rate_bps
                    .get()
                    .saturating_sub(a.borrow_rate_bps.get()),
            ),
            Fraction::from_num(ub - ua),
        )?;
        let base = utilization - from_bps(u64::from(ua));
        return Ok(from_bps(u64::from(a.borrow_rate_bps.get())) + mul(base, slope)?);
    }
    Err(FractionError {
        op: "borrow rate curve lookup",
    })
}

/// `approximate_compounded_interest`: `(1 + r/SLOTS_PER_YEAR)^n` by its third-order expansion
/// (exact products for up to four slots).
pub fn compounded_interest(rate: Fraction, slots: u64) -> Result<Fraction, FractionError> {
    let base = rate / u128::from(SLOTS_PER_YEAR);
    let one_plus = Fraction::ONE + base;
    match slots {
        0 => return Ok(Fraction::ONE),
        1 => return Ok(one_plus),
        2 => return mul(one_plus, one_plus),
        3 => return mul(mul(one_plus, one_plus)?, one_plus),
        4 => {
            let sq = mul(one_plus, one_plus)?;
            return mul(sq, sq);
        }
        _ => {}
    }
    let n = u128::from(slots);
    let b2 = mul(base, base)?;
    let b3 = mul(b2, base)?;
    let first = base
        .checked_mul_int(n)
        .ok_or(FractionError { op: "interest" })?;
    let second = b2
        .checked_mul_int(n * (n - 1))
        .ok_or(FractionError { op: "interest" })?
        / 2;
    let third = b3
        .checked_mul_int(n * (n - 1) * (n - 2))
        .ok_or(FractionError { op: "interest" })?
        / 6;
    Ok(Fraction::ONE + first + second + third)
}

/// `Reserve::accrue_interest` from the stored slot to `slot`: debt and the cumulative borrow
/// rate grow by the compounded rate; the protocol's take (and referrers' share of it) is set
/// aside, so depositors' supply grows by the rest.
pub fn accrue(
    reserve: &Reserve,
    slot: u64,
    referral_fee_bps: u16,
) -> Result<ReserveAt, FractionError> {
    let mut at = ReserveAt::stored(reserve)?;
    let elapsed = slot.saturating_sub(at.slot);
    if elapsed == 0 {
        return Ok(at);
    }
    let rate = borrow_rate(&reserve.config.borrow_rate_curve, at.utilization()?)?;
    let factor = compounded_interest(rate, elapsed)?;
    let new_debt = mul(at.borrowed, factor)?;
    let net_new_debt = new_debt - at.borrowed;
    let take_rate = from_percent(u64::from(reserve.config.protocol_take_rate_pct));
    let referral_rate = from_bps(u64::from(referral_fee_bps));
    let protocol_fee = mul(net_new_debt, take_rate)?;
    let referrer_fee = mul(net_new_debt, mul(take_rate, referral_rate)?)?;
    at.cumulative_borrow_rate =
        mul(Fraction::from_bits(at.cumulative_borrow_rate), factor)?.to_bits();
    at.pending_referrer_fees += referrer_fee;
    at.protocol_fees = at.protocol_fees + protocol_fee - referrer_fee;
    at.borrowed = new_debt;
    at.slot = slot;
    Ok(at)
}
