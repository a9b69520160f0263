//! I/O: one owner's Derive account in three concurrent rounds.
//!
//! 1. `public/get_subaccounts`: which subaccounts the wallet owns (the owner mapping).
//! 2. `public/margin_watch` of each subaccount: positions with marks and greeks, collaterals, and
//!    the venue's initial and maintenance margin, all valued at one `valuation_timestamp`.
//! 3. `public/get_tickers` once per (currency, expiry) of the options held: implied volatility
//!    and forward price, the inputs of our own Black-76.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;
use unimargin_sdk::{Result, venue::PinnedVenue};

use crate::{
    api::{self, MarginWatch, Subaccounts, Ticker, Tickers},
    instrument,
};

/// Everything the normalization needs, as the venue returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawAccount {
    /// The wallet's subaccount ids.
    pub subaccount_ids: Vec<u64>,
    /// `margin_watch` of each, in id order.
    pub subaccounts: Vec<MarginWatch>,
    /// Tickers of the options held, by instrument name.
    pub tickers: BTreeMap<String, Ticker>,
    /// Requests made, by method.
    pub requests: BTreeMap<String, u32>,
}

/// Reads one owner (`wallet` as a 0x address).
pub async fn fetch(venue: &PinnedVenue, wallet: &str, expiry_hour_utc: u32) -> Result<RawAccount> {
    let owned: Subaccounts =
        api::call(venue, api::GET_SUBACCOUNTS, api::get_subaccounts(wallet)).await?;
    let mut ids = owned.subaccount_ids;
    ids.sort_unstable();
    ids.dedup();

    let subaccounts: Vec<MarginWatch> = try_join_all(
        ids.iter()
            .map(|id| api::call(venue, api::MARGIN_WATCH, api::margin_watch(*id))),
    )
    .await?;

    // One ticker request per (currency, expiry) of the options held.
    let mut expiries: BTreeSet<(String, String)> = BTreeSet::new();
    for p in subaccounts
        .iter()
        .flat_map(|s| &s.positions)
        .filter(|p| p.instrument_type == "option")
    {
        let name = instrument::parse_option(&p.instrument_name, expiry_hour_utc)?;
        expiries.insert((name.currency, name.expiry_date));
    }
    let books: Vec<Tickers> = try_join_all(expiries.iter().map(|(currency, date)| {
        api::call(venue, api::GET_TICKERS, api::option_tickers(currency, date))
    }))
    .await?;
    let tickers = books.into_iter().flat_map(|b| b.tickers).collect();

    let mut requests = BTreeMap::new();
    requests.insert("public/get_subaccounts".to_owned(), 1);
    requests.insert(
        "public/margin_watch".to_owned(),
        u32::try_from(ids.len()).unwrap_or(u32::MAX),
    );
    requests.insert(
        "public/get_tickers".to_owned(),
        u32::try_from(expiries.len()).unwrap_or(u32::MAX),
    );
    requests.retain(|_, n| *n > 0);
    Ok(RawAccount {
        subaccount_ids: ids,
        subaccounts,
        tickers,
        requests,
    })
}
