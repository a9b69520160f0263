//! Segments: named groups of accounts, each margined on its own (sub-account isolation).
//!
//! A segment is complete when no failure touches it: a failure scoped to one of its accounts, or
//! to a chain (or nothing) that one of its accounts lives on. Like the whole, an incomplete segment
//! has no health and zero credit capacity.

use unimargin_schema::{AccountId, Failure, ProtocolSnapshot, Segment, SegmentRisk};

use crate::risk::{self, Context};

fn touches(f: &Failure, accounts: &[AccountId]) -> bool {
    accounts.iter().any(|a| {
        f.scope.account.as_ref().is_none_or(|fa| fa == a)
            && f.scope.chain.as_ref().is_none_or(|c| c == a.chain())
    })
}

/// Assesses every segment over the counted markets.
pub(crate) fn assess(
    segments: &[Segment],
    requested: &[AccountId],
    markets: &[&ProtocolSnapshot],
    failures: &[Failure],
    ctx: &Context<'_>,
) -> Vec<SegmentRisk> {
    let mut out: Vec<SegmentRisk> = segments
        .iter()
        .map(|segment| {
            let mut accounts: Vec<AccountId> = segment
                .accounts
                .iter()
                .filter(|a| requested.contains(a))
                .cloned()
                .collect();
            accounts.sort();
            accounts.dedup();
            let subset: Vec<&ProtocolSnapshot> = markets
                .iter()
                .filter(|s| accounts.contains(&s.provenance.account))
                .copied()
                .collect();
            let complete = !failures.iter().any(|f| touches(f, &accounts));
            let mut book = risk::build_book(&subset, ctx);
            let assessment = risk::assess(&mut book, ctx, complete);
            SegmentRisk {
                name: segment.name.clone(),
                markets: book.markets.iter().map(|m| m.label.clone()).collect(),
                accounts,
                complete,
                margin: assessment.risk.margin,
                first_liquidation: assessment.first_liquidation,
                score: assessment.risk.score,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
