//! Kamino's `Fraction` (`fixed::types::U68F60`, stored as `_sf` "scaled fraction" bits) and
//! `BigFraction` (a 256-bit integer with the same 60 fractional bits, stored as `_bsf` words).
//!
//! The arithmetic is the `fixed` crate's, the crate the program itself uses, so products and
//! quotients truncate exactly as on chain.

pub use fixed::types::U68F60 as Fraction;

use crate::pod::U64;

/// Why a fixed-point step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kamino fixed-point {op} overflowed")]
pub struct FractionError {
    /// The operation.
    pub op: &'static str,
}

/// `Fraction::from_percent`.
pub fn from_percent(pct: u64) -> Fraction {
    Fraction::from_num(pct) / 100
}

/// `Fraction::from_bps`.
pub fn from_bps(bps: u64) -> Fraction {
    Fraction::from_num(bps) / 10_000
}

/// A `Fraction` from its stored bits.
pub fn sf(bits: u128) -> Fraction {
    Fraction::from_bits(bits)
}

/// `a × b`, failing instead of wrapping.
pub fn mul(a: Fraction, b: Fraction) -> Result<Fraction, FractionError> {
    a.checked_mul(b).ok_or(FractionError { op: "mul" })
}

/// `a / b`, failing on overflow or a zero divisor.
pub fn div(a: Fraction, b: Fraction) -> Result<Fraction, FractionError> {
    a.checked_div(b).ok_or(FractionError { op: "div" })
}

/// A `BigFraction` stored as four little-endian words, narrowed to `u128` bits. Cumulative
/// borrow rates start at 1 and grow slowly, so the upper words are zero; a value that does not
/// fit is an error rather than a truncation.
pub fn big_bits(words: &[U64; 4]) -> Result<u128, FractionError> {
    if words[2].get() != 0 || words[3].get() != 0 {
        return Err(FractionError {
            op: "big fraction narrowing",
        });
    }
    Ok(u128::from(words[0].get()) | (u128::from(words[1].get()) << 64))
}

/// `BigFraction(a) / BigFraction(b)` as a `Fraction`: `(a << 60) / b`, truncated.
pub fn big_ratio(a: u128, b: u128) -> Result<Fraction, FractionError> {
    if b == 0 {
        return Err(FractionError {
            op: "big fraction div",
        });
    }
    // a < 2^128; a << 60 needs 188 bits: split into a high and a low part.
    let hi = a >> 68;
    let lo = a & ((1u128 << 68) - 1);
    // (hi·2^68 + lo)·2^60 / b = hi·2^128/b + lo·2^60/b; both terms exact in u128 only when hi = 0.
    if hi != 0 {
        return Err(FractionError {
            op: "big fraction div",
        });
    }
    Ok(Fraction::from_bits((lo << 60) / b))
}
