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
    let upper = symbol.to_uppercase();
    let symbol = model
        .prices
        .aliases
        .iter()
        .find(|(from, _)| from.eq_ignore_ascii_case(&upper))
        .map_or(upper, |(_, to)| to.to_uppercase());
    (format!("{risk_key}:{symbol}"), symbol)
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

/// The lower middle quote by price, ties broken by label rank and then by position in `quotes`
/// (sorted by label): the element a stable sort by `(price, rank)` puts in the middle, found by
/// selection rather than by sorting. When every quote has the same price that order is `quotes`'
/// own.
fn median(quotes: &[Quote], same_price: bool) -> Option<&Quote> {
    let n = quotes.len();
    if n == 0 {
        return None;
    }
    let middle = (n - 1) / 2;
    if same_price {
        return quotes.get(middle);
    }
    let mut order: Vec<usize> = (0..n).collect();
    let (_, m, _) = order.select_nth_unstable_by(middle, |a, b| {
        let (qa, qb) = (&quotes[*a], &quotes[*b]);
        qa.usd
            .cmp(&qb.usd)
            .then_with(|| qa.rank.cmp(&qb.rank))
            .then_with(|| a.cmp(b))
    });
    quotes.get(*m)
}

/// Chooses the price from the quotes (sorted by market label for determinism) and renders the
/// schema record. `quotes` must not be empty; an empty list yields a zero price.
pub(crate) fn choose(
    key: &str,
    group: &str,
    symbol: &str,
    mut quotes: Vec<Quote>,
    band: Decimal,
) -> (Chosen, AssetPrice) {
    quotes.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.usd.cmp(&b.usd)));
    let low = quotes.iter().map(|q| q.usd).min().unwrap_or(Decimal::ZERO);
    let high = quotes.iter().map(|q| q.usd).max().unwrap_or(Decimal::ZERO);
    let median = median(&quotes, low == high);
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
    let record = AssetPrice {
        key: key.to_owned(),
        group: group.to_owned(),
        symbol: symbol.to_owned(),
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
            .into_iter()
            .map(|q| PriceQuote {
                market: q.market,
                usd: q.usd,
                source: q.source,
                age_seconds: q.age,
            })
            .collect(),
    };
    (chosen, record)
}
