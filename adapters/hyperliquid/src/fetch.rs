//! I/O: every `POST /info` one owner's profile needs, in at most three concurrent rounds.
//!
//! 1. `userAbstraction` (which balances back which margin), `perpDexs` (the HIP-3 dexes),
//!    `clearinghouseState` of the default dex and `spotClearinghouseState`.
//! 2. `clearinghouseState` of every HIP-3 dex, and `metaAndAssetCtxs` of the default dex when the
//!    owner has state there.
//! 3. `metaAndAssetCtxs` of each HIP-3 dex where the owner has state (its collateral token, marks,
//!    leverage and margin tables), and `spotMetaAndAssetCtxs` when a non-USDC token must be priced.
//!
//! The info API has no batch request, so this is the fewest requests the venue allows: market
//! data is only asked for where the owner has something to price.

use std::collections::BTreeMap;

use futures::future::try_join_all;
use rust_decimal::Decimal;
use unimargin_sdk::{Result, venue::PinnedVenue};

use crate::api::{
    self, ClearinghouseState, INFO, MetaAndAssetCtxs, PerpDex, SpotClearinghouseState,
    SpotMetaAndAssetCtxs, weight,
};

/// The spot token every Hyperliquid market is quoted in (USDC, token index 0).
pub const USDC_TOKEN: u32 = 0;

/// One dex of the owner: its clearinghouse and, when the owner has state there, its market data.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDex {
    /// `""` for the default dex.
    pub name: String,
    /// The owner's account on the dex.
    pub state: ClearinghouseState,
    /// `metaAndAssetCtxs` of the dex; `None` when the owner has nothing there.
    pub meta: Option<MetaAndAssetCtxs>,
}

impl RawDex {
    /// Whether the owner has anything on the dex (a position or a balance).
    pub fn in_use(&self) -> bool {
        has_state(&self.state)
    }

    /// The dex's collateral token (USDC unless its meta names another).
    pub fn collateral_token(&self) -> u32 {
        self.meta
            .as_ref()
            .and_then(|(m, _)| m.collateral_token)
            .unwrap_or(USDC_TOKEN)
    }
}

/// Everything the normalization needs, as the venue returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawAccount {
    /// `userAbstraction`: `default`, `disabled`, `unifiedAccount`, `portfolioMargin`, …
    pub abstraction: String,
    /// Every dex, the default first.
    pub dexes: Vec<RawDex>,
    /// Spot balances.
    pub spot: SpotClearinghouseState,
    /// Spot market data, when a token other than USDC had to be priced.
    pub spot_meta: Option<SpotMetaAndAssetCtxs>,
    /// Requests made, by info type, for the closing numbers.
    pub requests: BTreeMap<String, u32>,
}

fn has_state(s: &ClearinghouseState) -> bool {
    !s.asset_positions.is_empty()
        || s.margin_summary.account_value != Decimal::ZERO
        || s.margin_summary.total_raw_usd != Decimal::ZERO
}

/// Reads one owner (`user` is the lower-case hex address the API expects).
pub async fn fetch(venue: &PinnedVenue, user: &str) -> Result<RawAccount> {
    let mut requests: BTreeMap<String, u32> = BTreeMap::new();
    let mut count = |kind: &str, n: u32| *requests.entry(kind.to_owned()).or_default() += n;

    // Round 1.
    let (abstraction, dexes, main, spot) = futures::try_join!(
        venue.post::<String>(INFO, api::user_abstraction(user), weight::DEFAULT),
        venue.post::<Vec<Option<PerpDex>>>(INFO, api::perp_dexs(), weight::DEFAULT),
        venue.post::<ClearinghouseState>(INFO, api::clearinghouse_state(user, ""), weight::LIGHT),
        venue.post::<SpotClearinghouseState>(
            INFO,
            api::spot_clearinghouse_state(user),
            weight::LIGHT
        ),
    )?;
    count("userAbstraction", 1);
    count("perpDexs", 1);
    count("clearinghouseState", 1);
    count("spotClearinghouseState", 1);
    let hip3: Vec<String> = dexes
        .into_iter()
        .flatten()
        .map(|d| d.name)
        .filter(|n| !n.is_empty())
        .collect();

    // Round 2.
    let main_in_use = has_state(&main);
    let hip3_states = try_join_all(hip3.iter().map(|dex| {
        venue.post::<ClearinghouseState>(INFO, api::clearinghouse_state(user, dex), weight::LIGHT)
    }));
    let main_meta = async {
        if main_in_use {
            venue
                .post::<MetaAndAssetCtxs>(INFO, api::meta_and_asset_ctxs(""), weight::DEFAULT)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (hip3_states, main_meta) = futures::try_join!(hip3_states, main_meta)?;
    count(
        "clearinghouseState",
        u32::try_from(hip3.len()).unwrap_or(u32::MAX),
    );
    if main_meta.is_some() {
        count("metaAndAssetCtxs", 1);
    }

    // Round 3.
    let used: Vec<(String, ClearinghouseState)> = hip3
        .into_iter()
        .zip(hip3_states)
        .filter(|(_, s)| has_state(s))
        .collect();
    let spot_needs_prices = spot
        .balances
        .iter()
        .any(|b| b.token != USDC_TOKEN && !b.total.is_zero());
    let need_spot_meta = spot_needs_prices || !used.is_empty();
    let metas = try_join_all(used.iter().map(|(dex, _)| {
        venue.post::<MetaAndAssetCtxs>(INFO, api::meta_and_asset_ctxs(dex), weight::DEFAULT)
    }));
    let spot_meta = async {
        if need_spot_meta {
            venue
                .post::<SpotMetaAndAssetCtxs>(
                    INFO,
                    api::spot_meta_and_asset_ctxs(),
                    weight::DEFAULT,
                )
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (metas, spot_meta) = futures::try_join!(metas, spot_meta)?;
    count(
        "metaAndAssetCtxs",
        u32::try_from(metas.len()).unwrap_or(u32::MAX),
    );
    if spot_meta.is_some() {
        count("spotMetaAndAssetCtxs", 1);
    }

    let mut all = vec![RawDex {
        name: String::new(),
        state: main,
        meta: main_meta,
    }];
    all.extend(
        used.into_iter()
            .zip(metas)
            .map(|((name, state), meta)| RawDex {
                name,
                state,
                meta: Some(meta),
            }),
    );
    Ok(RawAccount {
        abstraction,
        dexes: all,
        spot,
        spot_meta,
        requests,
    })
}
