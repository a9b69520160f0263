//! Fail-closed checks on snapshots before they are counted.

use unimargin_schema::{
    Failure, FailureKind, FailureScope, ProtocolSnapshot, Warning, WarningKind,
};

use crate::EngineSettings;

/// What the checks found for one snapshot.
#[derive(Debug, Default)]
pub struct SnapshotVerdict {
    /// Failures: the snapshot must not be counted.
    pub failures: Vec<Failure>,
    /// Warnings: counted, but the reader should know.
    pub warnings: Vec<Warning>,
}

/// Checks every price of a snapshot: a position with a zero or negative price is a missing
/// price; a price older than `max_price_age_secs` is stale; an unknown age is a warning (or a
/// failure when `require_price_age`).
pub fn check_snapshot(s: &ProtocolSnapshot, settings: &EngineSettings) -> SnapshotVerdict {
    // Built only when something is reported (most snapshots report nothing).
    let scope = || FailureScope {
        chain: Some(s.provenance.chain.clone()),
        protocol: Some(s.provenance.protocol.clone()),
        market: Some(s.provenance.market.clone()),
        account: Some(s.provenance.account.clone()),
    };
    let mut v = SnapshotVerdict::default();
    let mut unknown_age: Vec<&str> = Vec::new();
    for p in &s.positions {
        let symbol = p.asset.symbol.as_str();
        // `usd <= 0`, read from the sign and the mantissa (no comparison per position).
        let usd = p.price.usd;
        if (usd.is_zero() || usd.is_sign_negative()) && !p.amount.is_zero() {
            v.failures.push(Failure {
                scope: scope(),
                kind: FailureKind::MissingPrice,
                message: format!(
                    "{symbol}: price is {} from {}",
                    p.price.usd, p.price.source.oracle
                ),
            });
            continue;
        }
        match p.price.age_seconds {
            Some(age) if age > settings.max_price_age_secs => v.failures.push(Failure {
                scope: scope(),
                kind: FailureKind::StalePrice,
                message: format!(
                    "{symbol}: price is {age} s old (maximum {} s)",
                    settings.max_price_age_secs
                ),
            }),
            Some(_) => {}
            None if settings.require_price_age => v.failures.push(Failure {
                scope: scope(),
                kind: FailureKind::StalePrice,
                message: format!("{symbol}: price age unknown and a known age is required"),
            }),
            None => {
                if !unknown_age.contains(&symbol) {
                    unknown_age.push(symbol);
                }
            }
        }
    }
    if !unknown_age.is_empty() {
        v.warnings.push(Warning {
            scope: scope(),
            kind: WarningKind::PriceAgeUnknown,
            message: format!(
                "price feed does not expose an update time: {}",
                unknown_age.join(", ")
            ),
        });
    }
    if s.native_health.agrees == Some(false) {
        v.warnings.push(Warning {
            scope: scope(),
            kind: WarningKind::NativeHealthMismatch,
            message: format!(
                "{}: reproduced {} but the protocol reports {}; using {}",
                s.native_health.metric,
                s.native_health.reproduced,
                s.native_health
                    .reported
                    .map(|h| h.to_string())
                    .unwrap_or_default(),
                s.native_health.value
            ),
        });
    }
    v
}
