use super::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("decimal literal")
}

const ONE_I80F48: i128 = 1 << 48;
const ONE_FRACTION: u128 = 1 << 60;

#[test]
fn i80f48_exact_values() {
    let exact = |bits: i128, expected: &str| {
        for r in [Rounding::Down, Rounding::Up] {
            let s = i80f48_to_decimal(bits, r).expect("fits");
            assert_eq!(
                s,
                Scaled {
                    value: d(expected),
                    rounded: false
                },
                "bits {bits}"
            );
        }
    };
    exact(0, "0");
    exact(ONE_I80F48, "1");
    // 3 × 2^47 / 2^48 = 1.5
    exact(3 << 47, "1.5");
    exact(-(3 << 47), "-1.5");
    // 2^-20 = 0.00000095367431640625 (20 decimal places, exact)
    exact(1 << 28, "0.00000095367431640625");
    // A marginfi weight of 0.8 is stored as round(0.8 × 2^48) = 225179981368524.8 → 225179981368525
    // (the `fixed` literal rounds to nearest), which is exactly
    // 225179981368525 / 2^48 = 0.800000000000000710542735760100185871124267578125 (48 places):
    // 49 significant digits do not fit, so 28 decimal places are kept.
    let w = i80f48_to_decimal(225_179_981_368_525, Rounding::Down).expect("fits");
    assert_eq!(
        w,
        Scaled {
            value: d("0.8000000000000007105427357601"),
            rounded: true
        }
    );
    let w = i80f48_to_decimal(225_179_981_368_525, Rounding::Up).expect("fits");
    assert_eq!(w.value, d("0.8000000000000007105427357602"));
    // Largest integer part: (2^79 − 1) + (2^48 − 1)/2^48 needs 24 + 48 digits; the integer part
    // 604462909807314587353087 must survive and the fraction be cut conservatively.
    let max = i80f48_to_decimal(i128::MAX, Rounding::Down).expect("fits");
    assert!(max.rounded);
    assert_eq!(max.value.trunc(), d("604462909807314587353087"));
}

#[test]
fn i80f48_rounding_never_crosses_the_exact_value() {
    // The smallest positive and negative values: ±2^-48 = ±0.000000000000003552713678800500929355621337890625.
    let down = i80f48_to_decimal(1, Rounding::Down).expect("fits");
    let up = i80f48_to_decimal(1, Rounding::Up).expect("fits");
    assert_eq!(down.value, d("0.0000000000000035527136788005"));
    assert_eq!(up.value, d("0.0000000000000035527136788006"));
    let neg_down = i80f48_to_decimal(-1, Rounding::Down).expect("fits");
    let neg_up = i80f48_to_decimal(-1, Rounding::Up).expect("fits");
    assert_eq!(neg_down.value, d("-0.0000000000000035527136788006"));
    assert_eq!(neg_up.value, d("-0.0000000000000035527136788005"));
    assert!(down.rounded && up.rounded && neg_down.rounded && neg_up.rounded);
}

#[test]
fn wrapped_i80f48_is_16_little_endian_bytes() {
    let w = WrappedI80F48::from_bits(5 << 47); // 2.5
    assert_eq!(w.value[5], 0x80);
    assert_eq!(w.value[6], 0x02);
    assert_eq!(w.to_decimal(Rounding::Down).expect("fits").value, d("2.5"));
    assert_eq!(size_of::<WrappedI80F48>(), 16);
}

#[test]
fn kamino_fraction_exact_values() {
    assert_eq!(
        fraction_to_decimal(ONE_FRACTION, Rounding::Down)
            .expect("fits")
            .value,
        d("1")
    );
    // 1/4
    assert_eq!(
        fraction_to_decimal(ONE_FRACTION / 4, Rounding::Down)
            .expect("fits")
            .value,
        d("0.25")
    );
    // 150.125 USD (a price): 150 × 2^60 + 2^60 / 8.
    let p = fraction_to_decimal(150 * ONE_FRACTION + ONE_FRACTION / 8, Rounding::Up).expect("fits");
    assert_eq!(
        p,
        Scaled {
            value: d("150.125"),
            rounded: false
        }
    );
    // u128::MAX / 2^60 = 2^68 − 2^-60 = 295147905179352825855.99…: rounded, integer part exact.
    let max = fraction_to_decimal(u128::MAX, Rounding::Down).expect("fits");
    assert!(max.rounded);
    assert_eq!(max.value.trunc(), d("295147905179352825855"));
    // 2^-60 = 8.67361737988403547205962240695953369140625e-19
    let tiny = fraction_to_decimal(1, Rounding::Down).expect("fits");
    assert_eq!(tiny.value, d("0.0000000000000000008673617379"));
}

#[test]
fn kamino_big_fraction_uses_all_four_words() {
    // 2^64 × 2^60 / 2^60 = 2^64 = 18446744073709551616, in word 1 (bits 64..128) plus 2^60 in word 0
    // shifted: value = (2^124 + 2^60) / 2^60 = 2^64 + 1.
    let words = [1u64 << 60, 1u64 << 60, 0, 0];
    let v = big_fraction_to_decimal(words, Rounding::Down).expect("fits");
    assert_eq!(
        v,
        Scaled {
            value: d("18446744073709551617"),
            rounded: false
        }
    );
    // A value beyond Decimal's 96-bit range is an error, not a wrap.
    assert!(matches!(
        big_fraction_to_decimal([0, 0, 0, 1 << 63], Rounding::Down),
        Err(AdapterError::OutOfRange { .. })
    ));
}

#[test]
fn i80f48_token_amounts_scale_by_decimals() {
    // 1_500_000.5 base units of a 6-decimal token = 1.5000005 tokens, exact.
    let bits = (3_000_001i128 << 48) / 2;
    let s = i80f48_to_decimal_scaled(bits, 6, Rounding::Down).expect("fits");
    assert_eq!(
        s,
        Scaled {
            value: d("1.5000005"),
            rounded: false
        }
    );
    // 10^9 base units of a 9-decimal token = 1 token.
    assert_eq!(
        i80f48_to_decimal_scaled(1_000_000_000i128 << 48, 9, Rounding::Up)
            .expect("fits")
            .value,
        d("1")
    );
}
