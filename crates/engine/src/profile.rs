//! Building the profile.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{
    AccountId, ChainCoverage, ChainId, Coverage, Failure, FailureKind, FailureScope, Health,
    METHODOLOGY_VERSION, MarginProfile, ProtocolProfile, ProtocolRisk, ProtocolSnapshot, ReadPoint,
    Segment, Totals, Warning,
};

use crate::{EngineSettings, checks, netting, rebalance, risk, segments, totals};

/// Everything the engine needs, gathered by the caller (which did the I/O).
#[derive(Debug, Clone)]
pub struct ProfileInput {
    /// Accounts requested (canonical). Each must be covered by snapshots or failures.
    pub accounts: Vec<AccountId>,
    /// Snapshots read successfully.
    pub snapshots: Vec<ProtocolSnapshot>,
    /// Reads that failed, one per protocol market (or per chain when the chain failed).
    pub failures: Vec<Failure>,
    /// Protocol markets expected per chain (`protocol/market`), so that a market that produced
    /// neither a snapshot nor a failure is caught as an internal failure instead of vanishing.
    pub expected: BTreeMap<ChainId, Vec<String>>,
    /// Read point per chain; `None` when the chain could not be pinned.
    pub read_points: BTreeMap<ChainId, Option<ReadPoint>>,
    /// When the profile is computed (the caller's clock: the engine has none).
    pub as_of: DateTime<Utc>,
}

/// Computes the unified margin profile (without segments; see [`compute_segmented_profile`]).
///
/// Fail-closed rules:
/// 1. any failure (read error, missing or stale price, unaccounted market) makes
///    `coverage.complete` false;
/// 2. a snapshot with a price failure is not counted at all, so its debt can never be silently
///    priced at zero;
/// 3. an incomplete profile has no `health`, `initial_health` or `weakest_native_health`, and a
///    credit capacity of zero;
/// 4. an option whose underlying price cannot be found anywhere is a missing price (the grid
///    could not stress it).
pub fn compute_profile(input: ProfileInput, settings: &EngineSettings) -> MarginProfile {
    compute_segmented_profile(input, &[], settings)
}

/// Computes the unified margin profile and margins each segment (a named group of the requested
/// accounts) on its own, next to the whole.
///
/// The whole is what a venue able to seize every account sees; a segment is what a venue able to
/// seize only that segment sees. Segment accounts that were not requested are ignored.
pub fn compute_segmented_profile(
    input: ProfileInput,
    segments: &[Segment],
    settings: &EngineSettings,
) -> MarginProfile {
    let ProfileInput {
        mut accounts,
        mut snapshots,
        mut failures,
        expected,
        read_points,
        as_of,
    } = input;
    accounts.sort();
    accounts.dedup();
    // Determinism: the output must not depend on the order reads completed in.
    snapshots.sort_by_cached_key(snapshot_key);

    let mut warnings: Vec<Warning> = Vec::new();
    let mut counted: Vec<ProtocolSnapshot> = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        let verdict = checks::check_snapshot(&s, settings);
        warnings.extend(s.warnings.iter().cloned());
        warnings.extend(verdict.warnings);
        if verdict.failures.is_empty() {
            counted.push(s);
        } else {
            failures.extend(verdict.failures);
        }
    }

    // Every expected (market, account) pair must be accounted for by a snapshot or a failure.
    let read: BTreeSet<(&AccountId, String)> = counted
        .iter()
        .map(|s| (&s.provenance.account, market_label(s)))
        .collect();
    for account in &accounts {
        for market in expected.get(account.chain()).into_iter().flatten() {
            if read.contains(&(account, market.clone())) {
                continue;
            }
            let seen_failed = failures.iter().any(|f| {
                f.scope.account.as_ref().is_none_or(|a| a == account)
                    && f.scope.chain.as_ref().is_none_or(|c| c == account.chain())
                    && f.scope
                        .protocol
                        .as_ref()
                        .is_none_or(|p| market.starts_with(&format!("{p}/")))
            });
            if !seen_failed {
                failures.push(Failure {
                    scope: unimargin_schema::FailureScope {
                        chain: Some(account.chain().clone()),
                        account: Some(account.clone()),
                        ..Default::default()
                    },
                    kind: unimargin_schema::FailureKind::Internal,
                    message: format!("{market}: no snapshot and no failure was reported"),
                });
            }
        }
    }

    // The portfolio-margin assessment. Options the grid cannot value are missing prices.
    let market_totals: Vec<Totals> = counted
        .iter()
        .map(|s| totals::of_positions(&s.positions))
        .collect();
    let pairs: Vec<(&ProtocolSnapshot, &Totals)> = counted.iter().zip(&market_totals).collect();
    let ctx = risk::Context::new(&settings.model, settings.max_price_age_secs, as_of)
        .with_grids(&settings.grids);
    let mut book = risk::build_book(&pairs, &ctx);
    for (market, instrument) in &book.unpriced_options {
        let scope = counted
            .iter()
            .find(|s| crate::book::market_label(s) == *market)
            .map(|s| FailureScope {
                chain: Some(s.provenance.chain.clone()),
                protocol: Some(s.provenance.protocol.clone()),
                market: Some(s.provenance.market.clone()),
                account: Some(s.provenance.account.clone()),
            })
            .unwrap_or_default();
        failures.push(Failure {
            scope,
            kind: FailureKind::MissingPrice,
            message: format!("{instrument}: no underlying price to value the option with"),
        });
    }
    let whole_complete = failures.is_empty();
    let assessment = risk::assess(&mut book, &ctx, whole_complete);
    let mut risk_profile = assessment.risk;
    risk_profile.segments = segments::assess(segments, &accounts, &pairs, &failures, &ctx);
    drop(pairs);

    let protocols: Vec<ProtocolProfile> = counted
        .into_iter()
        .zip(market_totals)
        .zip(assessment.markets)
        .map(|((s, totals), risk)| protocol_profile(s, totals, risk))
        .collect();
    let totals = totals::sum(protocols.iter().map(|p| &p.totals));
    let isolated = totals.maintenance_margin_usd;
    // The book summed the netting in its traversal of the positions.
    let benefit =
        netting::benefit_of_groups(book.groups.iter().map(|g| (g.name.as_str(), &g.netting)))
            .min(isolated);
    if whole_complete
        && risk_profile
            .margin
            .health
            .is_some_and(|h| !h.is_liquidatable())
    {
        risk_profile.rebalance = rebalance::plan(&protocols, &settings.model);
    }

    failures.sort_by(|a, b| {
        format!("{:?}", a.scope)
            .cmp(&format!("{:?}", b.scope))
            .then(a.message.cmp(&b.message))
    });
    failures.dedup();
    warnings.dedup();
    let complete = failures.is_empty();
    let protocols_failed = count_failed_markets(&failures, &expected, &accounts);

    let chains = read_points
        .into_iter()
        .map(|(chain, read_point)| ChainCoverage {
            protocols: protocols
                .iter()
                .filter(|p| p.chain == chain)
                .map(|p| format!("{}/{}", p.protocol, p.market))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            chain,
            read_point,
        })
        .collect();

    let health = Health::ratio(
        totals.adjusted_collateral_usd,
        totals.maintenance_margin_usd,
    );
    let initial_health = Health::ratio(totals.initial_collateral_usd, totals.initial_margin_usd);
    let weakest = protocols
        .iter()
        .map(|p| p.native_health.value)
        .min()
        .unwrap_or(Health::Infinite);
    // The smaller of the linear (initial-margin) credit and the stress-tested one: a venue
    // reading one number must never get more than either method allows.
    let credit = if complete {
        totals
            .free_collateral_usd
            .max(Decimal::ZERO)
            .min(risk_profile.margin.credit_capacity_usd)
    } else {
        Decimal::ZERO
    };

    MarginProfile {
        methodology: METHODOLOGY_VERSION.to_owned(),
        as_of,
        accounts,
        coverage: Coverage {
            complete,
            chains,
            protocols_read: u32::try_from(protocols.len()).unwrap_or(u32::MAX),
            protocols_failed,
            failures,
            warnings,
        },
        health: complete.then_some(health),
        initial_health: complete.then_some(initial_health),
        weakest_native_health: complete.then_some(weakest),
        credit_capacity_usd: credit,
        isolated_requirement_usd: isolated,
        cross_requirement_usd: isolated - benefit,
        cross_margin_benefit_usd: benefit,
        totals,
        protocols,
        risk: risk_profile,
    }
}

/// Distinct (account, protocol market) pairs with a failure; a chain-wide failure counts every
/// market expected on that chain.
fn count_failed_markets(
    failures: &[Failure],
    expected: &BTreeMap<ChainId, Vec<String>>,
    accounts: &[AccountId],
) -> u32 {
    let mut failed = BTreeSet::new();
    for f in failures {
        match (&f.scope.protocol, &f.scope.chain) {
            (Some(p), chain) => {
                let market = f.scope.market.as_ref().map(|m| m.0.as_str()).unwrap_or("*");
                failed.insert((
                    chain.clone(),
                    f.scope.account.clone(),
                    format!("{p}/{market}"),
                ));
            }
            (None, Some(chain)) => {
                for account in accounts.iter().filter(|a| a.chain() == chain) {
                    if f.scope.account.as_ref().is_some_and(|fa| fa != account) {
                        continue;
                    }
                    for m in expected.get(chain).into_iter().flatten() {
                        failed.insert((Some(chain.clone()), Some(account.clone()), m.clone()));
                    }
                }
            }
            (None, None) => {}
        }
    }
    u32::try_from(failed.len()).unwrap_or(u32::MAX)
}

fn protocol_profile(s: ProtocolSnapshot, totals: Totals, risk: ProtocolRisk) -> ProtocolProfile {
    ProtocolProfile {
        protocol: s.provenance.protocol,
        market: s.provenance.market,
        chain: s.provenance.chain,
        account: s.provenance.account,
        block: s.provenance.read_point,
        native_health: s.native_health,
        health: Health::ratio(
            totals.adjusted_collateral_usd,
            totals.maintenance_margin_usd,
        ),
        totals,
        risk,
        positions: s.positions,
    }
}

/// `protocol/market`, the label coverage uses.
pub(crate) fn market_label(s: &ProtocolSnapshot) -> String {
    format!("{}/{}", s.provenance.protocol, s.provenance.market)
}

fn snapshot_key(s: &ProtocolSnapshot) -> (String, String, String, String) {
    (
        s.provenance.chain.to_string(),
        s.provenance.protocol.to_string(),
        s.provenance.market.to_string(),
        s.provenance.account.to_string(),
    )
}
