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

mod fanout {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use std::time::Duration;

    use futures::StreamExt;

    use crate::stream::{Fanout, InProcessFanout, Message};

    #[test]
    fn messages_round_trip_and_anything_else_is_refused() {
        for message in [
            Message::Profile(r#"{"health":"infinity"}"#.into()),
            Message::Alert(r#"{"direction":"down"}"#.into()),
        ] {
            assert_eq!(Message::decode(&message.encode()), Some(message));
        }
        assert_eq!(Message::decode("error\n{}"), None);
        assert_eq!(Message::decode("profile"), None);
    }

    #[tokio::test]
    async fn one_holder_at_a_time_publishes_and_a_lapsed_lease_is_taken_over() {
        let fanout = InProcessFanout::default();
        let ttl = Duration::from_millis(200);
        let mut events = fanout.subscribe("k").await.unwrap();
        assert!(fanout.lease("k", "a", ttl).await.unwrap());
        assert!(fanout.lease("k", "a", ttl).await.unwrap(), "renewal");
        assert!(!fanout.lease("k", "b", ttl).await.unwrap(), "held by a");

        // Only the holder's events go out; a profile becomes the latest, an alert does not.
        let profile = Message::Profile("{}".into());
        let alert = Message::Alert("{}".into());
        assert!(!fanout.publish("k", "b", &profile, ttl).await.unwrap());
        assert!(fanout.publish("k", "a", &profile, ttl).await.unwrap());
        assert!(fanout.publish("k", "a", &alert, ttl).await.unwrap());
        assert_eq!(events.next().await, Some(profile.clone()));
        assert_eq!(events.next().await, Some(alert));
        assert_eq!(fanout.latest("k").await.unwrap(), Some(profile.clone()));

        // a stops renewing: once the TTL passed, b takes over and a can no longer publish.
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        assert!(fanout.lease("k", "b", ttl).await.unwrap());
        assert!(!fanout.publish("k", "a", &profile, ttl).await.unwrap());
        // Released, the lease is free at once; nobody polls any more, so the latest lapses.
        fanout.release("k", "b").await.unwrap();
        assert!(fanout.lease("k", "c", ttl).await.unwrap());
        fanout.release("k", "c").await.unwrap();
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        assert_eq!(fanout.latest("k").await.unwrap(), None);
    }
}
