//! All reads of one profile at the pinned slot, batched into as few `getMultipleAccounts` round
//! trips as the data dependencies allow:
//!
//! 1. the `State` account, the `User` PDAs of sub-accounts `0..N` (derived, not scanned; a
//!    missing one does not exist) and the quote spot market;
//! 2. the spot and perp markets the users' positions reference;
//! 3. the oracles those markets name.
//!
//! Each round is one request of at most 100 keys (more keys are split into concurrent chunks by
//! the SDK). Returns the program's raw structs; nothing is interpreted beyond the checks that
//! make a view safe (owner, size, discriminator, the market's own index and address).

use std::collections::{BTreeMap, BTreeSet};

use unimargin_sdk::{
    AdapterError, Result,
    solana::{DecodeError, PinnedSolana, Pubkey, RawAccount, decode::require},
};

use crate::{
    config::DriftConfig,
    constants::QUOTE_SPOT_MARKET_INDEX,
    decode::view,
    layout::{PerpMarket, SpotMarket, State, User},
    math::margin::{perp_is_available, spot_is_available},
    pda,
};

/// One existing sub-account.
#[derive(Debug, Clone)]
pub struct UserAccount {
    /// Sub-account id.
    pub sub_account_id: u16,
    /// The `User` PDA.
    pub address: Pubkey,
    /// Its data.
    pub user: Box<User>,
}

/// A market account with its address.
#[derive(Debug, Clone)]
pub struct MarketAccount<T> {
    /// The PDA.
    pub address: Pubkey,
    /// Its data.
    pub market: Box<T>,
}

/// Everything read for one authority.
#[derive(Debug, Clone)]
pub struct DriftRaw {
    /// The pinned slot.
    pub slot: u64,
    /// The pinned slot's clock (`Clock::unix_timestamp`).
    pub unix_timestamp: i64,
    /// Highest slot any reply was served at.
    pub served_slot: u64,
    /// Oracle guard rails and other global settings.
    pub state: Box<State>,
    /// Existing sub-accounts, by id.
    pub users: Vec<UserAccount>,
    /// Referenced spot markets by index.
    pub spot_markets: BTreeMap<u16, MarketAccount<SpotMarket>>,
    /// Referenced perp markets by index.
    pub perp_markets: BTreeMap<u16, MarketAccount<PerpMarket>>,
    /// Oracle accounts by address, decoded per market source in `normalize`.
    pub oracles: BTreeMap<Pubkey, RawAccount>,
}

/// Reads `authority`'s sub-accounts and everything their margin depends on.
pub async fn fetch(
    pinned: &PinnedSolana,
    cfg: &DriftConfig,
    authority: &Pubkey,
) -> Result<DriftRaw> {
    let program = &cfg.program_id;
    let user_keys: Vec<Pubkey> = (0..cfg.max_sub_accounts)
        .map(|id| pda::user(program, authority, id))
        .collect();
    let quote_key = pda::spot_market(program, QUOTE_SPOT_MARKET_INDEX);

    // Round 1.
    let mut keys = vec![cfg.state, quote_key];
    keys.extend_from_slice(&user_keys);
    let first = pinned.get_multiple_accounts(&keys).await?;
    let mut served_slot = first.slot;
    let mut accounts = first.value.into_iter();
    let state_acc = accounts.next().flatten();
    let quote_acc = accounts.next().flatten();
    let state: Box<State> = Box::new(*view::<State>(
        program,
        &cfg.state,
        require(&cfg.state, state_acc.as_ref(), "State")?,
    )?);

    let mut users = Vec::new();
    for (id, (key, acc)) in user_keys.iter().zip(accounts).enumerate() {
        let Some(acc) = acc else { continue };
        let user: &User = view(program, key, &acc)?;
        // A PDA cannot hold another authority's account, but a reply can be wrong: check.
        if user.authority.0 != authority.to_bytes() || user.sub_account_id.get() != id as u16 {
            return Err(DecodeError::InvalidField {
                account: key.to_string(),
                type_name: "User",
                detail: format!(
                    "derived for {authority} sub-account {id} but holds {} sub-account {}",
                    user.authority,
                    user.sub_account_id.get()
                ),
            }
            .into());
        }
        users.push(UserAccount {
            sub_account_id: id as u16,
            address: *key,
            user: Box::new(*user),
        });
    }

    let mut spot_markets = BTreeMap::new();
    spot_markets.insert(
        QUOTE_SPOT_MARKET_INDEX,
        spot_account(
            program,
            QUOTE_SPOT_MARKET_INDEX,
            &quote_key,
            quote_acc.as_ref(),
        )?,
    );

    // Round 2: markets the positions reference.
    let spot_needed: BTreeSet<u16> = users
        .iter()
        .flat_map(|u| {
            u.user
                .spot_positions
                .iter()
                .filter(|p| !spot_is_available(p))
                .map(|p| p.market_index.get())
        })
        .filter(|i| !spot_markets.contains_key(i))
        .collect();
    let perp_needed: BTreeSet<u16> = users
        .iter()
        .flat_map(|u| {
            u.user
                .perp_positions
                .iter()
                .filter(|p| !perp_is_available(p))
                .map(|p| p.market_index.get())
        })
        .collect();
    let mut perp_markets = BTreeMap::new();
    if !spot_needed.is_empty() || !perp_needed.is_empty() {
        let spot_keys: Vec<(u16, Pubkey)> = spot_needed
            .iter()
            .map(|&i| (i, pda::spot_market(program, i)))
            .collect();
        let perp_keys: Vec<(u16, Pubkey)> = perp_needed
            .iter()
            .map(|&i| (i, pda::perp_market(program, i)))
            .collect();
        let keys: Vec<Pubkey> = spot_keys
            .iter()
            .chain(&perp_keys)
            .map(|(_, k)| *k)
            .collect();
        let reply = pinned.get_multiple_accounts(&keys).await?;
        served_slot = served_slot.max(reply.slot);
        let mut it = reply.value.into_iter();
        for ((index, key), acc) in spot_keys.iter().zip(it.by_ref()) {
            spot_markets.insert(*index, spot_account(program, *index, key, acc.as_ref())?);
        }
        for ((index, key), acc) in perp_keys.iter().zip(it) {
            perp_markets.insert(*index, perp_account(program, *index, key, acc.as_ref())?);
        }
    }
    // Perp markets settle in a quote market, always USDC (0) on mainnet; anything else is a
    // configuration the program allows but this read has not fetched.
    if let Some(missing) = perp_markets
        .values()
        .map(|m| m.market.quote_spot_market_index.get())
        .find(|i| !spot_markets.contains_key(i))
    {
        return Err(AdapterError::malformed(
            "drift perp market",
            format!("quote spot market {missing} is not the USDC market this adapter reads"),
        ));
    }

    // Round 3: oracles.
    let oracle_keys: BTreeSet<Pubkey> = spot_markets
        .values()
        .map(|m| Pubkey::new_from_array(m.market.oracle.0))
        .chain(
            perp_markets
                .values()
                .map(|m| Pubkey::new_from_array(m.market.amm.oracle.0)),
        )
        .filter(|k| *k != Pubkey::default())
        .collect();
    let mut oracles = BTreeMap::new();
    if !oracle_keys.is_empty() {
        let keys: Vec<Pubkey> = oracle_keys.into_iter().collect();
        let reply = pinned.get_multiple_accounts(&keys).await?;
        served_slot = served_slot.max(reply.slot);
        for (key, acc) in keys.into_iter().zip(reply.value) {
            if let Some(acc) = acc {
                oracles.insert(key, acc);
            }
        }
    }

    Ok(DriftRaw {
        slot: pinned.slot(),
        unix_timestamp: pinned.unix_timestamp(),
        served_slot,
        state,
        users,
        spot_markets,
        perp_markets,
        oracles,
    })
}

fn spot_account(
    program: &Pubkey,
    index: u16,
    key: &Pubkey,
    acc: Option<&RawAccount>,
) -> Result<MarketAccount<SpotMarket>> {
    let market: &SpotMarket = view(program, key, require(key, acc, "SpotMarket")?)?;
    check_market(
        key,
        "SpotMarket",
        index,
        market.market_index.get(),
        &market.pubkey.0,
    )?;
    Ok(MarketAccount {
        address: *key,
        market: Box::new(*market),
    })
}

fn perp_account(
    program: &Pubkey,
    index: u16,
    key: &Pubkey,
    acc: Option<&RawAccount>,
) -> Result<MarketAccount<PerpMarket>> {
    let market: &PerpMarket = view(program, key, require(key, acc, "PerpMarket")?)?;
    check_market(
        key,
        "PerpMarket",
        index,
        market.market_index.get(),
        &market.pubkey.0,
    )?;
    Ok(MarketAccount {
        address: *key,
        market: Box::new(*market),
    })
}

/// A market account must say it is the market its PDA was derived for.
fn check_market(
    key: &Pubkey,
    type_name: &'static str,
    index: u16,
    stored: u16,
    stored_key: &[u8; 32],
) -> Result<()> {
    if stored != index || stored_key != &key.to_bytes() {
        return Err(DecodeError::InvalidField {
            account: key.to_string(),
            type_name,
            detail: format!(
                "derived for market {index} but stores market {stored} at {}",
                bs58::encode(stored_key).into_string()
            ),
        }
        .into());
    }
    Ok(())
}
