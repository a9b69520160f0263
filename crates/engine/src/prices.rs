//! The profile's price vector: one price per asset, chosen from the protocols' own oracles.
//!
//! An asset is identified across chains and protocols by `GROUP:SYMBOL` (its risk group and its
//! symbol upper-cased, with configured aliases applied: WETH on Aave and the ETH of a perp venue
//! are one asset when `WETH = "ETH"`). Every protocol market that holds it quotes it; the chosen
//! price is the median quote (the lower middle one for an even count, so a tie never picks the
//! higher price for collateral), and it keeps its source and age. Quotes further apart than the
//! configured band mark the asset `diverged`: the profile then values holdings at the lowest quote
//! and liabilities at the highest, and charges the difference as the oracle-divergence add-on.
//!
//! Option positions quote the option, not the underlying, and are not part of the vector.

use rust_decimal::Decimal;
use unimargin_schema::{AssetPrice, Position, PositionKind, PriceQuote, PriceSource};

use crate::model::RiskModel;

/// Normalized asset key (`GROUP:SYMBOL`) and symbol of a position's asset.
pub(crate) fn asset_key(model: &RiskModel, risk_key: &str, symbol: &str) -> (String, String) {
    let upper = uppercase(symbol);
    let symbol = model
        .prices
        .aliases
        .iter()
        .find(|(from, _)| from.eq_ignore_ascii_case(&upper))
        .map_or(upper, |(_, to)| uppercase(to));
    let mut key = String::with_capacity(risk_key.len() + 1 + symbol.len());
    key.push_str(risk_key);
    key.push(':');
    key.push_str(&symbol);
    (key, symbol)
}

/// `str::to_uppercase`, without its Unicode tables for the usual ASCII symbol.
fn uppercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_uppercase()
    } else {
        s.to_uppercase()
    }
}

/// Whether a position contributes a quote of its asset's price.
pub(crate) fn quotes_asset(p: &Position) -> bool {
    p.kind != PositionKind::Option && p.price.usd > Decimal::ZERO
}

/// One quote as collected.
#[derive(Debug, Clone)]
pub(crate) struct Quote {
    pub(crate) market: String,
    /// The rank of `market` among the profile's quoting markets in label order, so that quotes
    /// sort by label without comparing strings.
    pub(crate) rank: usize,
    pub(crate) usd: Decimal,
    pub(crate) source: PriceSource,
    pub(crate) age: Option<u64>,
}

/// The chosen prices of one asset.
#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    /// The reference price.
    pub(crate) reference: Decimal,
    /// Price for what is held: the lowest quote when diverged, else the reference.
    pub(crate) long: Decimal,
    /// Price for what is owed: the highest quote when diverged, else the reference.
    pub(crate) short: Decimal,
    pub(crate) diverged: bool,
    /// Age of the chosen quote.
    pub(crate) age: Option<u64>,
}

/// Below this many quotes, sorting the quotes themselves is cheaper than ordering indices.
const FEW: usize = 16;

/// Puts `quotes` in order by `(rank, price)`, ties in their own order (what a stable sort by
/// `(rank, price)` gives): `None` when `quotes` itself now is in that order (already sorted, or
/// few enough to sort in place), else the order as indices. Ranks are market positions, mostly
/// distinct: the indices are placed by a counting sort on the rank (stable), and only runs of an
/// equal rank are sorted by price.
fn label_order(quotes: &mut [Quote]) -> Option<Vec<usize>> {
    let n = quotes.len();
    if quotes
        .windows(2)
        .all(|w| (w[0].rank, w[0].usd) <= (w[1].rank, w[1].usd))
    {
        return None;
    }
    if n <= FEW {
        quotes.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.usd.cmp(&b.usd)));
        return None;
    }
    let max_rank = quotes.iter().map(|q| q.rank).max().unwrap_or(0);
    let mut order: Vec<usize>;
    if max_rank <= 4 * n + 64 {
        // `next[r]`: where the next quote of rank `r` goes.
        let mut next = vec![0usize; max_rank + 2];
        for q in quotes.iter() {
            next[q.rank + 1] += 1;
        }
        for r in 1..next.len() {
            next[r] += next[r - 1];
        }
        order = vec![0; n];
        for (i, q) in quotes.iter().enumerate() {
            order[next[q.rank]] = i;
            next[q.rank] += 1;
        }
    } else {
        order = (0..n).collect();
        order.sort_by_key(|i| quotes[*i].rank);
    }
    let mut start = 0;
    while start < n {
        let rank = quotes[order[start]].rank;
        let mut end = start + 1;
        while end < n && quotes[order[end]].rank == rank {
            end += 1;
        }
        if end - start > 1 {
            // Indices are ascending within the run: a stable sort by price keeps ties in order.
            order[start..end].sort_by(|a, b| quotes[*a].usd.cmp(&quotes[*b].usd));
        }
        start = end;
    }
    Some(order)
}

/// The lower middle quote by price, ties broken by label rank and then by label order (`at(k)`
/// is the index of the `k`-th quote in label order): the element a stable sort by
/// `(price, rank)` puts in the middle, found by selection rather than by sorting. When every
/// quote has the same price that is the middle one in label order.
fn median(quotes: &[Quote], at: impl Fn(usize) -> usize, same_price: bool) -> Option<usize> {
    let n = quotes.len();
    if n == 0 {
        return None;
    }
    let middle = (n - 1) / 2;
    if same_price {
        return Some(at(middle));
    }
    let mut positions: Vec<usize> = (0..n).collect();
    let (_, m, _) = positions.select_nth_unstable_by(middle, |a, b| {
        let (qa, qb) = (&quotes[at(*a)], &quotes[at(*b)]);
        qa.usd
            .cmp(&qb.usd)
            .then_with(|| qa.rank.cmp(&qb.rank))
            .then_with(|| a.cmp(b))
    });
    Some(at(*m))
}

/// The divergence of the quotes spanning `low`–`high`, and the prices chosen from them and the
/// `median` quote: the median's price, or the lowest for holdings and the highest for
/// liabilities when the quotes diverge beyond `band`.
fn decide(low: Decimal, high: Decimal, median: Option<&Quote>, band: Decimal) -> (Decimal, Chosen) {
    let divergence = if low > Decimal::ZERO {
        ((high - low) / low).round_dp(8)
    } else {
        Decimal::ZERO
    };
    let diverged = divergence > band;
    let reference = median.map_or(Decimal::ZERO, |q| q.usd);
    let chosen = Chosen {
        reference,
        long: if diverged { low } else { reference },
        short: if diverged { high } else { reference },
        diverged,
        age: median.and_then(|q| q.age),
    };
    (divergence, chosen)
}

/// Chooses the price from the quotes (in market label order for determinism) and renders the
/// schema record. `quotes` must not be empty; an empty list yields a zero price.
pub(crate) fn choose(
    key: &str,
    group: &str,
    symbol: &str,
    mut quotes: Vec<Quote>,
    band: Decimal,
) -> (Chosen, AssetPrice) {
    let order = label_order(&mut quotes);
    let at = |k: usize| order.as_deref().map_or(k, |o| o[k]);
    // The first lowest and the last highest in label order (`Iterator::min` and `max`: equal
    // prices may differ in scale, which shows in the record).
    let mut sorted = (0..quotes.len()).map(|k| quotes[at(k)].usd);
    let first = sorted.next().unwrap_or(Decimal::ZERO);
    let (low, high) = sorted.fold((first, first), |(low, high), usd| {
        // Most assets' quotes are one price: the same `Decimal` needs no comparison.
        if low.serialize() == usd.serialize() && high.serialize() == usd.serialize() {
            return (low, high);
        }
        (
            if usd < low { usd } else { low },
            if usd >= high { usd } else { high },
        )
    });
    let median = median(&quotes, at, low == high).and_then(|i| quotes.get(i));
    let (divergence, chosen) = decide(low, high, median, band);
    let (reference, diverged) = (chosen.reference, chosen.diverged);
    let chosen_from = median.map(|q| q.market.clone()).unwrap_or_default();
    let source = median.map(|q| q.source.clone()).unwrap_or(PriceSource {
        oracle: String::new(),
        address: None,
        feed: None,
    });
    // The records in label order, their strings moved out of the quotes.
    let quotes = match &order {
        None => quotes
            .into_iter()
            .map(|q| PriceQuote {
                market: q.market,
                usd: q.usd,
                source: q.source,
                age_seconds: q.age,
            })
            .collect(),
        Some(order) => order
            .iter()
            .map(|i| {
                let q = &mut quotes[*i];
                PriceQuote {
                    market: std::mem::take(&mut q.market),
                    usd: q.usd,
                    source: PriceSource {
                        oracle: std::mem::take(&mut q.source.oracle),
                        address: q.source.address.take(),
                        feed: q.source.feed.take(),
                    },
                    age_seconds: q.age,
                }
            })
            .collect(),
    };
    let record = AssetPrice {
        key: key.to_owned(),
        group: group.to_owned(),
        symbol: symbol.to_owned(),
        usd: reference,
        chosen_from,
        source,
        age_seconds: chosen.age,
        low_usd: low,
        high_usd: high,
        divergence,
        diverged,
        quotes,
    };
    (chosen, record)
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use unimargin_schema::{AssetPrice, PriceQuote, PriceSource};

    use super::{Chosen, Quote, choose, decide};

    /// The straightforward rendering [`choose`] must reproduce: a stable sort by `(rank, price)`,
    /// the first lowest and last highest, the median by a stable sort by `(price, rank)`.
    fn reference(mut quotes: Vec<Quote>, band: Decimal) -> (Chosen, AssetPrice) {
        quotes.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.usd.cmp(&b.usd)));
        let low = quotes.iter().map(|q| q.usd).min().unwrap_or(Decimal::ZERO);
        let high = quotes.iter().map(|q| q.usd).max().unwrap_or(Decimal::ZERO);
        let mut by_price: Vec<&Quote> = quotes.iter().collect();
        by_price.sort_by(|a, b| a.usd.cmp(&b.usd).then_with(|| a.rank.cmp(&b.rank)));
        let median = by_price.get(quotes.len().saturating_sub(1) / 2).copied();
        let (divergence, chosen) = decide(low, high, median, band);
        let (reference, diverged) = (chosen.reference, chosen.diverged);
        let record = AssetPrice {
            key: "K".into(),
            group: "G".into(),
            symbol: "S".into(),
            usd: reference,
            chosen_from: median.map(|q| q.market.clone()).unwrap_or_default(),
            source: median.map(|q| q.source.clone()).unwrap_or(PriceSource {
                oracle: String::new(),
                address: None,
                feed: None,
            }),
            age_seconds: chosen.age,
            low_usd: low,
            high_usd: high,
            divergence,
            diverged,
            quotes: quotes
                .iter()
                .map(|q| PriceQuote {
                    market: q.market.clone(),
                    usd: q.usd,
                    source: q.source.clone(),
                    age_seconds: q.age,
                })
                .collect(),
        };
        (chosen, record)
    }

    /// Quotes with repeated ranks, prices equal in value but not in scale, and both orders.
    #[test]
    fn choose_is_the_sorted_rendering() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let band = Decimal::new(2, 2);
        for case in 0..2_000 {
            let n = next(12) as usize;
            let ranks = 1 + next(if case % 3 == 0 { 4 } else { 40 }) as usize;
            let quotes: Vec<Quote> = (0..n)
                .map(|i| {
                    // Sparse ranks sometimes (beyond the counting sort).
                    let rank = next(ranks as u64) as usize * if case % 5 == 0 { 1_000 } else { 1 };
                    let cents = 10_000 + next(if case % 2 == 0 { 3 } else { 400 }) as i64;
                    // The same price at two or four places.
                    let usd = if next(2) == 0 {
                        Decimal::new(cents, 2)
                    } else {
                        Decimal::new(cents * 100, 4)
                    };
                    Quote {
                        market: format!("m{rank}"),
                        rank,
                        usd,
                        source: PriceSource {
                            oracle: format!("o{i}"),
                            address: (i % 2 == 0).then(|| format!("a{i}")),
                            feed: None,
                        },
                        age: Some(i as u64),
                    }
                })
                .collect();
            let want = reference(quotes.clone(), band);
            let got = choose("K", "G", "S", quotes, band);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "case {case}");
        }
    }
}
