//! Building the profile.

use std::{cmp::Ordering, collections::BTreeMap, collections::BTreeSet};

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
    sort_snapshots(&mut snapshots);

    let mut warnings: Vec<Warning> = Vec::new();
    let mut counted: Vec<ProtocolSnapshot> = Vec::with_capacity(snapshots.len());
    for mut s in snapshots {
        let verdict = checks::check_snapshot(&s, settings);
        // The snapshot's own warnings go to the coverage only (the profile does not keep them).
        warnings.append(&mut s.warnings);
        warnings.extend(verdict.warnings);
        if verdict.failures.is_empty() {
            counted.push(s);
        } else {
            failures.extend(verdict.failures);
        }
    }

    // Every expected (market, account) pair must be accounted for by a snapshot or a failure.
    // Read pairs as `(protocol, market, account)`: an expected `protocol/market` label splits at
    // its first `/` (a protocol id has none), so no label needs to be built.
    let mut read: Vec<(&str, &str, &AccountId)> = counted
        .iter()
        .map(|s| {
            let p = &s.provenance;
            (p.protocol.as_str(), p.market.0.as_str(), &p.account)
        })
        .collect();
    if !read.is_sorted() {
        read.sort_unstable();
    }
    for account in &accounts {
        for market in expected.get(account.chain()).into_iter().flatten() {
            let was_read = market.split_once('/').is_some_and(|(protocol, name)| {
                read.binary_search(&(protocol, name, account)).is_ok()
            });
            if was_read {
                continue;
            }
            let seen_failed = failures.iter().any(|f| {
                f.scope.account.as_ref().is_none_or(|a| a == account)
                    && f.scope.chain.as_ref().is_none_or(|c| c == account.chain())
                    && f.scope.protocol.as_ref().is_none_or(|p| {
                        market
                            .strip_prefix(p.as_str())
                            .is_some_and(|rest| rest.starts_with('/'))
                    })
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

    // The portfolio-margin assessment (the book also sums each market's totals). Options the
    // grid cannot value are missing prices.
    let markets: Vec<&ProtocolSnapshot> = counted.iter().collect();
    let ctx = risk::Context::new(&settings.model, settings.max_price_age_secs, as_of)
        .with_grids(&settings.grids);
    let mut book = risk::build_book(&markets, &ctx);
    let market_totals = std::mem::take(&mut book.totals);
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
    risk_profile.segments = segments::assess(segments, &accounts, &markets, &failures, &ctx);
    drop(markets);

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

    sort_failures(&mut failures);
    failures.dedup();
    warnings.dedup();
    let complete = failures.is_empty();
    let protocols_failed = count_failed_markets(&failures, &expected, &accounts);

    let chains = read_points
        .into_iter()
        .map(|(chain, read_point)| {
            // The distinct `protocol/market` labels, sorted (as a set collects them).
            let mut labels: Vec<String> = protocols
                .iter()
                .filter(|p| p.chain == chain)
                .map(|p| {
                    let (protocol, market) = (p.protocol.as_str(), p.market.0.as_str());
                    let mut label = String::with_capacity(protocol.len() + 1 + market.len());
                    label.push_str(protocol);
                    label.push('/');
                    label.push_str(market);
                    label
                })
                .collect();
            labels.sort_unstable();
            labels.dedup();
            ChainCoverage {
                protocols: labels,
                chain,
                read_point,
            }
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

/// Sorts snapshots by chain, protocol, market and account, each compared as its string (stable:
/// the order of `(chain.to_string(), protocol, market, account.to_string())`), without building
/// the strings, and moving each snapshot once.
fn sort_snapshots(snapshots: &mut [ProtocolSnapshot]) {
    if snapshots.is_sorted_by(|a, b| snapshot_order(a, b).is_le()) {
        return;
    }
    let mut order: Vec<usize> = (0..snapshots.len()).collect();
    order.sort_by(|a, b| snapshot_order(&snapshots[*a], &snapshots[*b]));
    permute(snapshots, &mut order);
}

fn snapshot_order(a: &ProtocolSnapshot, b: &ProtocolSnapshot) -> Ordering {
    let (a, b) = (&a.provenance, &b.provenance);
    chain_order(&a.chain, &b.chain)
        .then_with(|| a.protocol.as_str().cmp(b.protocol.as_str()))
        .then_with(|| a.market.0.cmp(&b.market.0))
        .then_with(|| account_order(&a.account, &b.account))
}

/// The order of the chains' strings (`namespace:reference`).
fn chain_order(a: &ChainId, b: &ChainId) -> Ordering {
    if a.namespace() == b.namespace() {
        // The same `namespace:` prefix.
        return a.reference().cmp(b.reference());
    }
    joined(&[a.namespace().as_str(), ":", a.reference()]).cmp(joined(&[
        b.namespace().as_str(),
        ":",
        b.reference(),
    ]))
}

/// The order of the accounts' strings (`chain:address`).
fn account_order(a: &AccountId, b: &AccountId) -> Ordering {
    let (ca, cb) = (a.chain(), b.chain());
    if ca == cb {
        // The same `chain:` prefix.
        return a.address().cmp(b.address());
    }
    joined(&[
        ca.namespace().as_str(),
        ":",
        ca.reference(),
        ":",
        a.address(),
    ])
    .cmp(joined(&[
        cb.namespace().as_str(),
        ":",
        cb.reference(),
        ":",
        b.address(),
    ]))
}

/// The bytes of the concatenated `parts` (compared like the joined string).
fn joined<'a>(parts: &'a [&'a str]) -> impl Iterator<Item = u8> + 'a {
    parts.iter().flat_map(|p| p.bytes())
}

/// Sorts failures by their scope's `Debug` text, then message (stable), formatting each scope
/// once rather than at every comparison.
fn sort_failures(failures: &mut [Failure]) {
    if failures.len() < 2 {
        return;
    }
    let keys: Vec<String> = failures.iter().map(|f| format!("{:?}", f.scope)).collect();
    let mut order: Vec<usize> = (0..failures.len()).collect();
    order.sort_by(|a, b| {
        keys[*a]
            .cmp(&keys[*b])
            .then_with(|| failures[*a].message.cmp(&failures[*b].message))
    });
    permute(failures, &mut order);
}

/// Rearranges `items` so that the `i`-th is the former `order[i]`, by swaps (`order` is
/// consumed: it is rewritten while following the cycles).
fn permute<T>(items: &mut [T], order: &mut [usize]) {
    for i in 0..items.len() {
        // Earlier places have been filled: follow where their former item went.
        let mut from = order[i];
        while from < i {
            from = order[from];
        }
        order[i] = from;
        items.swap(i, from);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use unimargin_schema::{AccountId, ChainId};

    use super::{account_order, chain_order, permute};

    /// Chains and accounts compare as their strings do (`eip155:10` < `eip155:1` at `0` < `:`).
    #[test]
    fn orders_are_the_strings_orders() {
        let chains = [
            ChainId::evm(1),
            ChainId::evm(10),
            ChainId::evm(137),
            ChainId::evm(2),
            ChainId::solana("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").unwrap(),
        ];
        let addresses = [
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
        ];
        let mut accounts = Vec::new();
        for chain in &chains {
            if chain.evm_chain_id().is_some() {
                for a in addresses {
                    accounts.push(AccountId::new(chain.clone(), a).unwrap());
                }
            } else {
                let a = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
                accounts.push(AccountId::new(chain.clone(), a).unwrap());
            }
        }
        for a in &chains {
            for b in &chains {
                assert_eq!(
                    chain_order(a, b),
                    a.to_string().cmp(&b.to_string()),
                    "{a} {b}"
                );
            }
        }
        for a in &accounts {
            for b in &accounts {
                assert_eq!(
                    account_order(a, b),
                    a.to_string().cmp(&b.to_string()),
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn permute_places_the_ordered_items() {
        let items = ['a', 'b', 'c', 'd', 'e', 'f'];
        for order in [
            [0, 1, 2, 3, 4, 5],
            [5, 4, 3, 2, 1, 0],
            [2, 0, 1, 5, 3, 4],
            [1, 2, 3, 4, 5, 0],
        ] {
            let mut got = items;
            let mut o = order;
            permute(&mut got, &mut o);
            assert_eq!(got, order.map(|i| items[i]));
        }
    }
}
