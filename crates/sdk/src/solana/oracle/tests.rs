use super::*;
use unimargin_schema::FailureKind;

fn quote(price: i128, conf: u128, exponent: i32, publish_time: i64) -> PriceQuote {
    PriceQuote {
        feed: Pubkey::new_from_array([9; 32]),
        kind: OracleKind::PythPull,
        price,
        conf,
        exponent,
        publish_time,
        slot: 1,
    }
}

#[test]
fn prices_convert_exactly() {
    // 150.12345678 USD = 15012345678 × 10^-8
    let q = quote(15_012_345_678, 2_000_000, -8, 0);
    assert_eq!(
        q.price_decimal(Rounding::Down).expect("fits").value,
        Decimal::from_str_exact("150.12345678").expect("lit")
    );
    assert_eq!(
        q.conf_decimal(Rounding::Up).expect("fits").value,
        Decimal::from_str_exact("0.02").expect("lit")
    );
    // Switchboard: 18 decimals. 171.25 USD = 171250000000000000000 × 10^-18
    let sb = quote(171_250_000_000_000_000_000, 0, -18, 0);
    assert_eq!(
        sb.price_decimal(Rounding::Down).expect("fits").value,
        Decimal::from_str_exact("171.25").expect("lit")
    );
}

#[test]
fn guard_rejects_stale_and_uncertain_prices_naming_the_feed() {
    let guard = OracleGuard {
        max_age_secs: 60,
        max_conf_ratio: Decimal::new(1, 2),
    };
    let now = 1_700_000_000;
    // 100.00 USD, conf 0.50 (0.5 %), 60 s old: accepted (the limit is inclusive).
    assert!(
        guard
            .check(&quote(10_000, 50, -2, now - 60), now, "SOL", "feedA")
            .is_ok()
    );
    // 61 s old: stale.
    let stale = guard
        .check(&quote(10_000, 50, -2, now - 61), now, "SOL", "feedA")
        .expect_err("stale");
    assert_eq!(stale.failure_kind(), FailureKind::StalePrice);
    assert!(stale.to_string().contains("feedA"), "{stale}");
    assert!(matches!(
        stale,
        AdapterError::StalePrice {
            age_secs: 61,
            max_age_secs: 60,
            ..
        }
    ));
    // conf 1.01 on 100.00 is 1.01 % > 1 %: too uncertain.
    let wide = guard
        .check(&quote(10_000, 101, -2, now), now, "SOL", "feedA")
        .expect_err("uncertain");
    assert_eq!(wide.failure_kind(), FailureKind::MissingPrice);
    assert!(wide.to_string().contains("feedA"), "{wide}");
    // exactly 1 %: accepted.
    assert!(
        guard
            .check(&quote(10_000, 100, -2, now), now, "SOL", "feedA")
            .is_ok()
    );
    // A non-positive price is never a price.
    assert!(
        guard
            .check(&quote(0, 0, -2, now), now, "SOL", "feedA")
            .is_err()
    );
    // Published a second "in the future" (clock drift) counts as fresh.
    assert!(
        guard
            .check(&quote(10_000, 0, -2, now + 1), now, "SOL", "feedA")
            .is_ok()
    );
}
