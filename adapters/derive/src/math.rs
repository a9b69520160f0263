//! Exact decimal helpers: ratios rounded in the conservative direction and agreement at the
//! venue's precision.

use rust_decimal::Decimal;

/// `numerator / denominator` rounded up in the last digit (for requirement weights, which must
/// never understate). `None` for a zero denominator.
pub(crate) fn ratio_up(numerator: Decimal, denominator: Decimal) -> Option<Decimal> {
    let q = numerator.checked_div(denominator)?;
    match q.checked_mul(denominator) {
        Some(back) if back < numerator => q.checked_add(Decimal::new(1, q.scale())),
        _ => Some(q),
    }
}

/// `numerator / denominator` rounded down in the last digit (for collateral weights, which must
/// never overstate). `None` for a zero denominator.
pub(crate) fn ratio_down(numerator: Decimal, denominator: Decimal) -> Option<Decimal> {
    let q = numerator.checked_div(denominator)?;
    match q.checked_mul(denominator) {
        Some(back) if back > numerator => q.checked_sub(Decimal::new(1, q.scale())),
        _ => Some(q),
    }
}

/// Agreement of a USD figure: within one millionth of a dollar per term summed.
pub(crate) fn usd_agrees(ours: Decimal, venue: Decimal, terms: usize) -> bool {
    (ours - venue).abs() <= Decimal::new(1, 6) * Decimal::from(terms.max(1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]
    use super::*;

    #[test]
    fn ratios_round_conservatively() {
        let (one, three) = (Decimal::ONE, Decimal::from(3));
        assert!(ratio_up(one, three).unwrap() * three >= one);
        assert!(ratio_down(one, three).unwrap() * three <= one);
        assert_eq!(ratio_up(one, Decimal::from(4)), Some(Decimal::new(25, 2)));
        assert_eq!(ratio_down(one, Decimal::ZERO), None);
    }
}
