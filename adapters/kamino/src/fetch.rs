//! All reads of one profile at the pinned slot:
//!
//! 1. concurrently, `getProgramAccounts` for the owner's obligations in the market (`dataSize`
//!    3344, `memcmp` on `lending_market` at 32 and `owner` at 64: obligations have several PDA
//!    seed schemes, so they are found rather than derived) and `getMultipleAccounts` for the
//!    lending market and the configured Scope price accounts;
//! 2. `getMultipleAccounts` for the reserves the obligations use (and any Scope account a reserve
//!    names that was not prefetched, in one more request).
//!
//! Returns the program's raw structs after the checks that make a view safe.

use std::collections::{BTreeMap, BTreeSet};

use unimargin_sdk::{
    Result,
    solana::{AccountFilter, DecodeError, PinnedSolana, Pubkey, decode::require},
};

use crate::{
    config::KaminoConfig,
    decode::view,
    layout::{LendingMarket, Obligation, OraclePrices, Reserve},
    scope,
};

/// Offset of `Obligation::lending_market` in the account data (discriminator included).
pub const OBLIGATION_MARKET_OFFSET: usize = 32;
/// Offset of `Obligation::owner` in the account data (discriminator included).
pub const OBLIGATION_OWNER_OFFSET: usize = 64;

/// An obligation with its address.
#[derive(Debug, Clone)]
pub struct ObligationAccount {
    /// Address.
    pub address: Pubkey,
    /// Data.
    pub obligation: Box<Obligation>,
}

/// Everything read for one owner in one market.
#[derive(Debug, Clone)]
pub struct KaminoRaw {
    /// The pinned slot.
    pub slot: u64,
    /// The pinned slot's clock.
    pub unix_timestamp: i64,
    /// The lending market.
    pub market: Box<LendingMarket>,
    /// The owner's obligations in the market, by address.
    pub obligations: Vec<ObligationAccount>,
    /// Reserves they use, by address.
    pub reserves: BTreeMap<Pubkey, Box<Reserve>>,
    /// Scope price accounts, by address.
    pub scope_prices: BTreeMap<Pubkey, Box<OraclePrices>>,
}

/// Reads `owner`'s obligations and what their health depends on.
pub async fn fetch(pinned: &PinnedSolana, cfg: &KaminoConfig, owner: &Pubkey) -> Result<KaminoRaw> {
    let program = &cfg.program_id;
    let filters = [
        AccountFilter::DataSize(Obligation::SIZE_U64),
        AccountFilter::key_at(OBLIGATION_MARKET_OFFSET, &cfg.lending_market),
        AccountFilter::key_at(OBLIGATION_OWNER_OFFSET, owner),
    ];
    let mut first_keys = vec![cfg.lending_market];
    first_keys.extend_from_slice(&cfg.scope_prices);
    let (found, first) = futures::future::join(
        pinned.get_program_accounts(program, &filters),
        pinned.get_multiple_accounts(&first_keys),
    )
    .await;
    let (found, first) = (found?, first?);
    let mut accounts = first.value.into_iter();
    let market_acc = accounts.next().flatten();
    let market: &LendingMarket = view(
        program,
        &cfg.lending_market,
        require(&cfg.lending_market, market_acc.as_ref(), "LendingMarket")?,
    )?;
    let market = Box::new(*market);
    let mut scope_prices = BTreeMap::new();
    for (key, acc) in cfg.scope_prices.iter().zip(accounts) {
        if let Some(acc) = acc {
            scope_prices.insert(
                *key,
                Box::new(*view::<OraclePrices>(&cfg.scope_program, key, &acc)?),
            );
        }
    }

    let mut obligations = Vec::new();
    for keyed in &found.value {
        let o: &Obligation = view(program, &keyed.pubkey, &keyed.account)?;
        obligations.push(ObligationAccount {
            address: keyed.pubkey,
            obligation: Box::new(*o),
        });
    }

    let reserve_keys: BTreeSet<Pubkey> = obligations
        .iter()
        .flat_map(|o| {
            let ob = &o.obligation;
            ob.deposits
                .iter()
                .map(|d| d.deposit_reserve)
                .chain(ob.borrows.iter().map(|b| b.borrow_reserve))
                .filter(|k| !k.is_default())
                .map(|k| Pubkey::new_from_array(k.0))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut reserves = BTreeMap::new();
    if !reserve_keys.is_empty() {
        let keys: Vec<Pubkey> = reserve_keys.into_iter().collect();
        let reply = pinned.get_multiple_accounts(&keys).await?;
        for (key, acc) in keys.iter().zip(reply.value) {
            let r: &Reserve = view(program, key, require(key, acc.as_ref(), "Reserve")?)?;
            // An obligation only holds reserves of its own market; a reply saying otherwise is
            // not the account it claims to be.
            if r.lending_market.0 != cfg.lending_market.to_bytes() {
                return Err(DecodeError::InvalidField {
                    account: key.to_string(),
                    type_name: "Reserve",
                    detail: format!(
                        "belongs to market {}, not {}",
                        r.lending_market, cfg.lending_market
                    ),
                }
                .into());
            }
            reserves.insert(*key, Box::new(*r));
        }
    }
    let missing_scope: BTreeSet<Pubkey> = reserves
        .values()
        .filter(|r| scope::is_configured(&r.config.token_info.scope_configuration.price_chain))
        .map(|r| Pubkey::new_from_array(r.config.token_info.scope_configuration.price_feed.0))
        .filter(|k| !scope_prices.contains_key(k))
        .collect();
    if !missing_scope.is_empty() {
        let keys: Vec<Pubkey> = missing_scope.into_iter().collect();
        let reply = pinned.get_multiple_accounts(&keys).await?;
        for (key, acc) in keys.iter().zip(reply.value) {
            if let Some(acc) = acc {
                scope_prices.insert(
                    *key,
                    Box::new(*view::<OraclePrices>(&cfg.scope_program, key, &acc)?),
                );
            }
        }
    }

    Ok(KaminoRaw {
        slot: pinned.slot(),
        unix_timestamp: pinned.unix_timestamp(),
        market,
        obligations,
        reserves,
        scope_prices,
    })
}

impl Obligation {
    /// Account size as a `dataSize` filter.
    pub const SIZE_U64: u64 = <Obligation as crate::layout::AnchorAccount>::SIZE as u64;
}
