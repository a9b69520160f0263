use std::time::Duration;

use super::expiry;

#[test]
fn expiry_uses_seconds_when_exact_and_rounds_milliseconds_up() {
    // (ttl, expected option)
    let cases = [
        (Duration::from_secs(30), ("EX", 30)),
        (Duration::from_millis(1_500), ("PX", 1_500)),
        (Duration::from_millis(250), ("PX", 250)),
        // 1 µs rounds up to 1 ms: Redis rejects PX 0.
        (Duration::from_micros(1), ("PX", 1)),
        // 1.0005 s = 1000.5 ms → 1001 ms.
        (Duration::from_micros(1_000_500), ("PX", 1_001)),
    ];
    for (ttl, expected) in cases {
        assert_eq!(expiry(ttl), expected, "{ttl:?}");
    }
}
