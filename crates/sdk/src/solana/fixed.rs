//! Binary fixed-point values as Solana programs store them, converted to `Decimal` at the
//! boundary.
//!
//! * marginfi `I80F48`, stored as `WrappedI80F48`: 16 bytes, a little-endian `i128` with 48
//!   fractional bits (value = bits / 2^48);
//! * Kamino `Fraction` (`U68F60`, fields named `*_sf`): a `u128` with 60 fractional bits, and
//!   `BigFractionBytes` (`*_bsf`): a 256-bit unsigned integer in four little-endian `u64` words,
//!   also with 60 fractional bits.
//!
//! A binary fraction always has a finite decimal expansion (bits × 5^f / 10^f), but it can need
//! up to 48 or 60 decimal places while `Decimal` holds 28 places and 96 bits of mantissa. The
//! conversion is therefore exact whenever the value fits, and otherwise rounded in the direction
//! the caller names, with [`Scaled::rounded`] set so the caller can say so. Arithmetic the
//! programs do in fixed point is reproduced in fixed point by the adapters; only results cross
//! into `Decimal`.

use alloy::primitives::U512;
use rust_decimal::Decimal;

use crate::{
    AdapterError,
    units::{Rounding, Scaled},
};

/// Fractional bits of marginfi's `I80F48`.
pub const I80F48_FRAC_BITS: u32 = 48;
/// Fractional bits of Kamino's `Fraction` and `BigFractionBytes`.
pub const FRACTION_FRAC_BITS: u32 = 60;

/// marginfi's `WrappedI80F48`: the 16 bytes of an `I80F48` as the program stores them.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct WrappedI80F48 {
    /// Little-endian two's-complement bits.
    pub value: [u8; 16],
}

impl WrappedI80F48 {
    /// The raw bits (value × 2^48).
    pub fn to_bits(self) -> i128 {
        i128::from_le_bytes(self.value)
    }

    /// From raw bits.
    pub fn from_bits(bits: i128) -> Self {
        Self {
            value: bits.to_le_bytes(),
        }
    }

    /// The value as a decimal (see [`i80f48_to_decimal`]).
    pub fn to_decimal(self, rounding: Rounding) -> Result<Scaled, AdapterError> {
        i80f48_to_decimal(self.to_bits(), rounding)
    }
}

/// An `I80F48` (raw bits) as a decimal: exact when it fits, else rounded — [`Rounding::Down`]
/// never above the exact value, [`Rounding::Up`] never below it (for negative values too).
pub fn i80f48_to_decimal(bits: i128, rounding: Rounding) -> Result<Scaled, AdapterError> {
    signed_to_decimal(
        bits.is_negative(),
        U512::from(bits.unsigned_abs()),
        I80F48_FRAC_BITS,
        rounding,
    )
}

/// An `I80F48` amount of base units (raw bits) as whole tokens: `bits / 2^48 / 10^decimals`,
/// exact when it fits, rounded as [`i80f48_to_decimal`] rounds.
pub fn i80f48_to_decimal_scaled(
    bits: i128,
    decimals: u8,
    rounding: Rounding,
) -> Result<Scaled, AdapterError> {
    let magnitude = U512::from(bits.unsigned_abs());
    let mantissa = magnitude * U512::from(5u8).pow(U512::from(I80F48_FRAC_BITS));
    decimal_from_parts(
        bits.is_negative(),
        mantissa,
        I80F48_FRAC_BITS + u32::from(decimals),
        rounding,
    )
    .ok_or_else(|| AdapterError::OutOfRange {
        what: "token amount".into(),
        value: format!("{bits} / 2^48 / 10^{decimals}"),
    })
}

/// A Kamino `Fraction` (`u128` with 60 fractional bits) as a decimal, exact when it fits.
pub fn fraction_to_decimal(bits: u128, rounding: Rounding) -> Result<Scaled, AdapterError> {
    signed_to_decimal(false, U512::from(bits), FRACTION_FRAC_BITS, rounding)
}

/// A Kamino `BigFractionBytes` (256 bits in four little-endian `u64` words, 60 fractional bits)
/// as a decimal, exact when it fits.
pub fn big_fraction_to_decimal(
    words: [u64; 4],
    rounding: Rounding,
) -> Result<Scaled, AdapterError> {
    let mut limbs = [0u64; 8];
    limbs[..4].copy_from_slice(&words);
    signed_to_decimal(false, U512::from_limbs(limbs), FRACTION_FRAC_BITS, rounding)
}

const MAX_MANTISSA: u128 = (1u128 << 96) - 1;
const MAX_SCALE: u32 = 28;

/// `±magnitude / 2^frac_bits` as a decimal. `magnitude / 2^f = magnitude × 5^f / 10^f`, so the
/// exact decimal has mantissa `magnitude × 5^f` and scale `f`; digits are dropped only while the
/// mantissa or the scale is out of `Decimal`'s range.
fn signed_to_decimal(
    negative: bool,
    magnitude: U512,
    frac_bits: u32,
    rounding: Rounding,
) -> Result<Scaled, AdapterError> {
    let out_of_range = || AdapterError::OutOfRange {
        what: "fixed-point value".into(),
        value: format!(
            "{}{magnitude} / 2^{frac_bits}",
            if negative { "-" } else { "" }
        ),
    };
    let mantissa = magnitude
        .checked_mul(U512::from(5u8).pow(U512::from(frac_bits)))
        .ok_or_else(out_of_range)?;
    decimal_from_parts(negative, mantissa, frac_bits, rounding).ok_or_else(out_of_range)
}

/// `±mantissa × 10^exponent` as a decimal (oracle prices are stored this way): exact when it
/// fits, else rounded as [`i80f48_to_decimal`] rounds.
pub fn decimal_from_mantissa(
    mantissa: i128,
    exponent: i32,
    rounding: Rounding,
) -> Result<Scaled, AdapterError> {
    let out_of_range = || AdapterError::OutOfRange {
        what: "price".into(),
        value: format!("{mantissa}e{exponent}"),
    };
    let magnitude = U512::from(mantissa.unsigned_abs());
    let (magnitude, scale) = if exponent >= 0 {
        let factor = U512::from(10u8).pow(U512::from(exponent.unsigned_abs()));
        (magnitude.checked_mul(factor).ok_or_else(out_of_range)?, 0)
    } else {
        (magnitude, exponent.unsigned_abs())
    };
    decimal_from_parts(mantissa.is_negative(), magnitude, scale, rounding).ok_or_else(out_of_range)
}

/// `±mantissa / 10^scale`, digits dropped conservatively while out of `Decimal`'s range;
/// `None` when even the integer part does not fit.
fn decimal_from_parts(
    negative: bool,
    mut mantissa: U512,
    mut scale: u32,
    rounding: Rounding,
) -> Option<Scaled> {
    let ten = U512::from(10u8);
    // Trailing zeros are exact: drop them first so that exact values stay exact.
    while scale > 0 && !mantissa.is_zero() && (mantissa % ten).is_zero() {
        mantissa /= ten;
        scale -= 1;
    }
    let mut dropped = false;
    while scale > MAX_SCALE || mantissa > U512::from(MAX_MANTISSA) {
        if scale == 0 {
            return None;
        }
        let (q, r) = mantissa.div_rem(ten);
        dropped |= !r.is_zero();
        mantissa = q;
        scale -= 1;
    }
    // Rounding the magnitude up moves a positive value up and a negative value down.
    let magnitude_up = match rounding {
        Rounding::Up => !negative,
        Rounding::Down => negative,
    };
    if dropped && magnitude_up {
        mantissa += U512::from(1u8);
        if mantissa > U512::from(MAX_MANTISSA) {
            if scale == 0 {
                return None;
            }
            let (q, r) = mantissa.div_rem(ten);
            mantissa = q + U512::from(u8::from(!r.is_zero()));
            scale -= 1;
        }
    }
    let m = i128::try_from(mantissa.to::<u128>()).ok()?;
    let value = Decimal::from_i128_with_scale(if negative { -m } else { m }, scale);
    Some(Scaled {
        value,
        rounded: dropped,
    })
}

#[cfg(test)]
mod tests;
