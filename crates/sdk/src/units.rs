//! Exact conversion of integer base units into decimals.
//!
//! `rust_decimal` holds a 96-bit mantissa (about 28 significant digits). Token amounts are
//! 256-bit integers, so a very large balance of an 18-decimal token may not fit exactly. Rather than
//! fail or wrap, the lowest digits are dropped in the direction that can only make the account look
//! worse ([`Rounding`]), and the caller is told so it can attach a warning.

use alloy::primitives::U256;
use rust_decimal::Decimal;

use crate::AdapterError;

/// Which way to round when digits must be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Towards zero: for assets (never overstate collateral).
    Down,
    /// Away from zero: for liabilities (never understate debt).
    Up,
}

/// A scaled value and whether digits were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaled {
    /// The decimal value.
    pub value: Decimal,
    /// True when the exact value did not fit and was rounded.
    pub rounded: bool,
}

const MAX_MANTISSA: u128 = (1u128 << 96) - 1;
const MAX_SCALE: u32 = 28;

/// `raw / 10^decimals` as a decimal, exact when it fits.
pub fn scale(raw: U256, decimals: u32, rounding: Rounding) -> Result<Scaled, AdapterError> {
    let mut mantissa = raw;
    let mut scale = decimals;
    let mut dropped_nonzero = false;
    let ten = U256::from(10u8);
    while scale > MAX_SCALE || mantissa > U256::from(MAX_MANTISSA) {
        if scale == 0 {
            return Err(AdapterError::OutOfRange {
                what: "token amount".into(),
                value: raw.to_string(),
            });
        }
        let (q, r) = mantissa.div_rem(ten);
        dropped_nonzero |= !r.is_zero();
        mantissa = q;
        scale -= 1;
    }
    if dropped_nonzero && rounding == Rounding::Up {
        mantissa += U256::from(1u8);
        // Adding one may overflow the mantissa by one step; drop one more digit if so.
        if mantissa > U256::from(MAX_MANTISSA) {
            if scale == 0 {
                return Err(AdapterError::OutOfRange {
                    what: "token amount".into(),
                    value: raw.to_string(),
                });
            }
            let (q, r) = mantissa.div_rem(ten);
            mantissa = q + U256::from(u8::from(!r.is_zero()));
            scale -= 1;
        }
    }
    let m: u128 = mantissa.to::<u128>();
    let value = Decimal::from_i128_with_scale(m as i128, scale);
    Ok(Scaled {
        value,
        rounded: dropped_nonzero,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn exact_when_it_fits() {
        let s = scale(U256::from(1_234_567u64), 6, Rounding::Down).unwrap();
        assert_eq!(
            s,
            Scaled {
                value: d("1.234567"),
                rounded: false
            }
        );
        let s = scale(U256::from(10u128.pow(18)), 18, Rounding::Down).unwrap();
        assert_eq!(s.value, Decimal::ONE);
        assert!(!s.rounded);
        assert_eq!(
            scale(U256::ZERO, 8, Rounding::Up).unwrap().value,
            Decimal::ZERO
        );
    }

    #[test]
    fn huge_amounts_round_conservatively() {
        // 10^30 + 1 base units of an 18-decimal token: 10^12 tokens and one base unit.
        let raw = U256::from(10u128.pow(30) + 1);
        let down = scale(raw, 18, Rounding::Down).unwrap();
        let up = scale(raw, 18, Rounding::Up).unwrap();
        assert!(down.rounded && up.rounded);
        assert_eq!(down.value, d("1000000000000"));
        assert!(up.value > d("1000000000000"));
        assert!(up.value - down.value <= d("0.0000000000000001"));
    }

    #[test]
    fn more_than_28_decimals_is_scaled_down() {
        let s = scale(
            U256::from(5u8) * U256::from(10u8).pow(U256::from(29u8)),
            30,
            Rounding::Down,
        )
        .unwrap();
        assert_eq!(s.value, d("0.5"));
        assert!(!s.rounded);
    }

    #[test]
    fn out_of_range_is_an_error_not_a_panic() {
        assert!(matches!(
            scale(U256::MAX, 0, Rounding::Down),
            Err(AdapterError::OutOfRange { .. })
        ));
    }
}
