#![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

use rust_decimal::Decimal;
use unimargin_schema::Health;

use super::{AlertDirection, band, crossing};

fn h(units: i64, tenths: u32) -> Option<Health> {
    Some(Health::Finite(Decimal::new(units, tenths)))
}

#[test]
fn alerts_fire_on_threshold_crossings_only() {
    // Thresholds 1.5, 1.2, 1.0.
    let t = [Decimal::new(15, 1), Decimal::new(12, 1), Decimal::ONE];
    assert_eq!(band(Some(Health::Infinite), &t), 0);
    assert_eq!(band(h(13, 1), &t), 1); // 1.3 < 1.5 only
    assert_eq!(band(h(9, 1), &t), 3); // 0.9 below all
    assert_eq!(band(None, &t), 3); // unknown = worst

    // First observation, healthy: nothing. First observation, already low: an alert.
    assert!(crossing(None, h(20, 1), &t).is_none());
    let first = crossing(None, h(11, 1), &t).unwrap();
    assert_eq!(
        (first.direction, first.below.clone()),
        (
            AlertDirection::Down,
            vec![Decimal::new(12, 1), Decimal::new(15, 1)]
        )
    );
    // Within a band: nothing (1.4 → 1.3, both under 1.5 only).
    assert!(crossing(Some(h(14, 1)), h(13, 1), &t).is_none());
    // Down through 1.2 and up again.
    assert_eq!(
        crossing(Some(h(13, 1)), h(11, 1), &t).unwrap().direction,
        AlertDirection::Down
    );
    assert_eq!(
        crossing(Some(h(11, 1)), h(16, 1), &t).unwrap().direction,
        AlertDirection::Up
    );
    // Becoming incomplete is an alert, never silence.
    let unknown = crossing(Some(h(30, 1)), None, &t).unwrap();
    assert_eq!(
        (unknown.direction, unknown.below.len()),
        (AlertDirection::Down, 3)
    );
}
