//! I/O: every read of one account at the pinned block — one Multicall3 batch in the steady state.
//!
//! GMX's Reader evaluates positions at prices its caller passes in (GMX's own oracle prices are
//! signed off chain and not stored), and this adapter prices tokens with the reference Chainlink
//! feeds GMX's DataStore lists. The position calls therefore depend on the feed answers, and the
//! markets and feeds to read depend on the account's positions. Rather than chaining round trips,
//! each batch is written from what the adapter already knows ([`Knowledge`], memoized across
//! profiles) and carries its own validation:
//!
//! * `Reader.getAccountPositions` (the account's positions now),
//! * for every market of the positions expected: its tokens' `PRICE_FEED` and
//!   `PRICE_FEED_MULTIPLIER` (re-validating the memoized feeds), `STABLE_PRICE`, heartbeat and the
//!   feed's `latestRoundData`, and the market parameters and state the reproduction needs
//!   (collateral factors, fee factors, open interest, pool amounts, cumulative borrowing factor),
//! * for every expected position: `Reader.getPositionInfo` and `Reader.isPositionLiquidatable`
//!   at the prices computed from the feed answers seen last time, and the stored funding per size.
//!
//! The batch is used only when it is consistent with itself: the positions listed are those
//! expected, and the prices passed to the Reader equal the prices computed from the feed answers
//! read in the same batch (same block). Otherwise what it returned is learned and the batch is
//! written again at the same block. Measured (`tests/it/requests.rs`, plus the block pin):
//!
//! | profile | batches |
//! |---|---|
//! | steady state (same positions, no new feed round) | 1 |
//! | account without positions | 1 |
//! | first profile of an account on known markets, or a new position | 2 |
//! | a feed published a new round since the last profile | 2 |
//! | governance moved a token to another feed | 3 |
//! | first profile of the deployment (positions and markets, token feeds, answers, all) | 4 |
//!
//! A stale memo costs a round trip, never a wrong answer: nothing from a batch written with a
//! guess that this very batch contradicts is used.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, I256, U256};
use unimargin_sdk::{
    AdapterError, Result,
    evm::{Batch, BatchResults, CallHandle, PinnedEvm},
};

use crate::{
    GmxDeployment,
    bindings::{
        aggregator::AggregatorV3Interface,
        data_store::IDataStore,
        erc20::IERC20Metadata,
        reader::{IReader, Market, MarketUtils, Position, Price, ReaderPositionUtils},
    },
    keys,
    math::{self, FeedPriceError, TokenPrice},
};

/// Markets read in one call when the adapter knows none yet (Arbitrum lists about 130).
const MARKETS_PREFETCH: u64 = 1_000;
/// Batches one snapshot may take; the state of a pinned block cannot change, so four suffice.
const MAX_BATCHES: u32 = 6;

/// A market's tokens (`Market.Props` without the market token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketTokens {
    /// The token whose price the positions track (a synthetic address for synthetic markets).
    pub index: Address,
    /// The long token (collateral and pool).
    pub long: Address,
    /// The short token (collateral and pool).
    pub short: Address,
}

impl MarketTokens {
    fn from_props(m: &Market::Props) -> Self {
        Self {
            index: m.indexToken,
            long: m.longToken,
            short: m.shortToken,
        }
    }

    /// `Market.Props` of `market`.
    pub fn props(&self, market: Address) -> Market::Props {
        Market::Props {
            marketToken: market,
            indexToken: self.index,
            longToken: self.long,
            shortToken: self.short,
        }
    }

    fn all(&self) -> [Address; 3] {
        [self.index, self.long, self.short]
    }

    /// `MarketUtils.getPoolDivisor`: a market whose long and short token are one token counts its
    /// pool and open interest twice.
    pub fn divisor(&self) -> U256 {
        U256::from(if self.long == self.short { 2u8 } else { 1u8 })
    }
}

/// What is known about a token between profiles (changed only by governance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLayout {
    /// `PRICE_FEED` (zero: GMX lists no reference feed).
    pub feed: Address,
    /// `PRICE_FEED_MULTIPLIER`.
    pub multiplier: U256,
    /// ERC-20 `decimals()`, when the token is a contract.
    pub erc20_decimals: Option<u8>,
    /// ERC-20 `symbol()`, when the token is a contract.
    pub symbol: Option<String>,
    /// The feed's `decimals()`, read only for tokens without ERC-20 decimals.
    pub feed_decimals: Option<u8>,
}

/// One position as the account lists it, identified by GMX's position key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PositionRef {
    /// Market token.
    pub market: Address,
    /// Collateral token.
    pub collateral: Address,
    /// Side.
    pub is_long: bool,
    /// `keccak256(abi.encode(account, market, collateralToken, isLong))`.
    pub key: B256,
}

/// What one snapshot starts from and learns: the memoized market layout, the prices seen last
/// (the guess the Reader calls are written with) and the account's positions seen last.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// Markets by market token.
    pub markets: BTreeMap<Address, MarketTokens>,
    /// Tokens by address.
    pub tokens: BTreeMap<Address, TokenLayout>,
    /// Last computed price per token.
    pub prices: BTreeMap<Address, TokenPrice>,
    /// The account's positions, sorted.
    pub positions: Vec<PositionRef>,
    /// Batches this snapshot has sent.
    pub batches: u32,
}

/// A token with its price at the pinned block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawToken {
    /// Token address.
    pub address: Address,
    /// Feed, multiplier, metadata.
    pub layout: TokenLayout,
    /// GMX's price from the feed answer.
    pub price: TokenPrice,
    /// The feed's round id.
    pub round_id: u128,
    /// The feed's answer (feed decimals).
    pub answer: I256,
    /// The round's `updatedAt`.
    pub updated_at: u64,
    /// `STABLE_PRICE` (0 = none).
    pub stable_price: U256,
    /// `PRICE_FEED_HEARTBEAT_DURATION` (seconds; 0 = unchecked).
    pub heartbeat: U256,
}

/// Per-side market state, raw (open interest per collateral token, before the pool divisor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideParams {
    /// `CUMULATIVE_BORROWING_FACTOR`, as last stored.
    pub cumulative_borrowing_factor: U256,
    /// `MIN_COLLATERAL_FACTOR_FOR_OPEN_INTEREST_MULTIPLIER`.
    pub open_interest_multiplier: U256,
    /// `MAX_PNL_FACTOR` for traders.
    pub max_pnl_factor_for_traders: U256,
    /// `POOL_AMOUNT` of the side's token (long token for longs, short token for shorts).
    pub pool_amount: U256,
    /// `OPEN_INTEREST` with the long token and with the short token as collateral.
    pub open_interest: [U256; 2],
    /// `OPEN_INTEREST_IN_TOKENS`, same order.
    pub open_interest_in_tokens: [U256; 2],
}

impl SideParams {
    /// The side as `MarketUtils` reads it (divided by the pool divisor).
    pub fn state(&self, divisor: U256) -> math::SideState {
        math::SideState {
            open_interest: self.open_interest[0] / divisor + self.open_interest[1] / divisor,
            open_interest_in_tokens: self.open_interest_in_tokens[0] / divisor
                + self.open_interest_in_tokens[1] / divisor,
            pool_amount: self.pool_amount / divisor,
            max_pnl_factor_for_traders: self.max_pnl_factor_for_traders,
        }
    }
}

/// A market's risk parameters and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MarketParams {
    /// `MIN_COLLATERAL_FACTOR` (opening leverage limit).
    pub min_collateral_factor: U256,
    /// `MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION`.
    pub min_collateral_factor_for_liquidation: U256,
    /// `MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS`.
    pub max_position_impact_factor_for_liquidations: U256,
    /// `POSITION_FEE_FACTOR` when closing improves the long/short balance.
    pub position_fee_factor_improved: U256,
    /// `POSITION_FEE_FACTOR` when closing worsens it.
    pub position_fee_factor_worsened: U256,
    /// Long side.
    pub long: SideParams,
    /// Short side.
    pub short: SideParams,
}

impl MarketParams {
    /// One side.
    pub fn side(&self, is_long: bool) -> &SideParams {
        if is_long { &self.long } else { &self.short }
    }
}

/// A market with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMarket {
    /// Market token.
    pub address: Address,
    /// Its tokens.
    pub tokens: MarketTokens,
    /// Its parameters and state.
    pub params: MarketParams,
}

/// One position with everything GMX's Reader says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPosition {
    /// Position key.
    pub key: B256,
    /// The position as `getAccountPositions` lists it.
    pub position: Position::Props,
    /// `getPositionInfo(..., usePositionSizeAsSizeDeltaUsd = true)`.
    pub info: ReaderPositionUtils::PositionInfo,
    /// `isPositionLiquidatable(..., true, true)`: (liquidatable, reason, figures).
    pub liquidatable: bool,
    /// GMX's reason.
    pub reason: String,
    /// GMX's figures.
    pub figures: crate::bindings::reader::PositionUtils::IsPositionLiquidatableInfo,
    /// `FUNDING_FEE_AMOUNT_PER_SIZE` of (market, collateral, side), as last stored.
    pub funding_fee_amount_per_size: U256,
    /// The prices the Reader was called with.
    pub prices: MarketUtils::MarketPrices,
}

/// Everything normalization needs, read at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAccount {
    /// The account.
    pub account: Address,
    /// Pinned block timestamp.
    pub block_timestamp: u64,
    /// `MIN_COLLATERAL_USD`.
    pub min_collateral_usd: U256,
    /// Markets of the positions.
    pub markets: BTreeMap<Address, RawMarket>,
    /// Tokens of those markets.
    pub tokens: BTreeMap<Address, RawToken>,
    /// Positions, sorted by (market, collateral, side).
    pub positions: Vec<RawPosition>,
    /// Batches the read took.
    pub batches: u32,
}

type Uint = CallHandle<IDataStore::getUintCall>;

fn uint(b: &mut Batch<'_>, data_store: Address, key: B256) -> Uint {
    b.add(data_store, &IDataStore::getUintCall { key })
}

struct SideHandles {
    cumulative_borrowing_factor: Uint,
    open_interest_multiplier: Uint,
    max_pnl_factor: Uint,
    pool_amount: Uint,
    open_interest: [Uint; 2],
    open_interest_in_tokens: [Uint; 2],
}

impl SideHandles {
    fn add(b: &mut Batch<'_>, ds: Address, m: Address, t: &MarketTokens, is_long: bool) -> Self {
        Self {
            cumulative_borrowing_factor: uint(b, ds, keys::cumulative_borrowing_factor(m, is_long)),
            open_interest_multiplier: uint(
                b,
                ds,
                keys::min_collateral_factor_for_open_interest_multiplier(m, is_long),
            ),
            max_pnl_factor: uint(b, ds, keys::max_pnl_factor_for_traders(m, is_long)),
            pool_amount: uint(
                b,
                ds,
                keys::pool_amount(m, if is_long { t.long } else { t.short }),
            ),
            open_interest: [
                uint(b, ds, keys::open_interest(m, t.long, is_long)),
                uint(b, ds, keys::open_interest(m, t.short, is_long)),
            ],
            open_interest_in_tokens: [
                uint(b, ds, keys::open_interest_in_tokens(m, t.long, is_long)),
                uint(b, ds, keys::open_interest_in_tokens(m, t.short, is_long)),
            ],
        }
    }

    fn read(&self, r: &BatchResults) -> Result<SideParams> {
        Ok(SideParams {
            cumulative_borrowing_factor: r.get(self.cumulative_borrowing_factor)?,
            open_interest_multiplier: r.get(self.open_interest_multiplier)?,
            max_pnl_factor_for_traders: r.get(self.max_pnl_factor)?,
            pool_amount: r.get(self.pool_amount)?,
            open_interest: [r.get(self.open_interest[0])?, r.get(self.open_interest[1])?],
            open_interest_in_tokens: [
                r.get(self.open_interest_in_tokens[0])?,
                r.get(self.open_interest_in_tokens[1])?,
            ],
        })
    }
}

struct MarketHandles {
    min_collateral_factor: Uint,
    min_collateral_factor_for_liquidation: Uint,
    max_impact_for_liquidations: Uint,
    fee_improved: Uint,
    fee_worsened: Uint,
    long: SideHandles,
    short: SideHandles,
}

impl MarketHandles {
    fn add(b: &mut Batch<'_>, ds: Address, m: Address, t: &MarketTokens) -> Self {
        Self {
            min_collateral_factor: uint(b, ds, keys::min_collateral_factor(m)),
            min_collateral_factor_for_liquidation: uint(
                b,
                ds,
                keys::min_collateral_factor_for_liquidation(m),
            ),
            max_impact_for_liquidations: uint(
                b,
                ds,
                keys::max_position_impact_factor_for_liquidations(m),
            ),
            fee_improved: uint(b, ds, keys::position_fee_factor(m, true)),
            fee_worsened: uint(b, ds, keys::position_fee_factor(m, false)),
            long: SideHandles::add(b, ds, m, t, true),
            short: SideHandles::add(b, ds, m, t, false),
        }
    }

    fn read(&self, r: &BatchResults) -> Result<MarketParams> {
        Ok(MarketParams {
            min_collateral_factor: r.get(self.min_collateral_factor)?,
            min_collateral_factor_for_liquidation: r
                .get(self.min_collateral_factor_for_liquidation)?,
            max_position_impact_factor_for_liquidations: r.get(self.max_impact_for_liquidations)?,
            position_fee_factor_improved: r.get(self.fee_improved)?,
            position_fee_factor_worsened: r.get(self.fee_worsened)?,
            long: self.long.read(r)?,
            short: self.short.read(r)?,
        })
    }
}

/// First reads of a token: its feed and metadata.
struct TokenDiscovery {
    feed: CallHandle<IDataStore::getAddressCall>,
    multiplier: Uint,
    decimals: CallHandle<IERC20Metadata::decimalsCall>,
    symbol: CallHandle<IERC20Metadata::symbolCall>,
}

impl TokenDiscovery {
    fn add(b: &mut Batch<'_>, ds: Address, token: Address) -> Self {
        Self {
            feed: b.add(
                ds,
                &IDataStore::getAddressCall {
                    key: keys::price_feed(token),
                },
            ),
            multiplier: uint(b, ds, keys::price_feed_multiplier(token)),
            decimals: b.add(token, &IERC20Metadata::decimalsCall {}),
            symbol: b.add(token, &IERC20Metadata::symbolCall {}),
        }
    }

    fn read(&self, r: &BatchResults) -> Result<TokenLayout> {
        Ok(TokenLayout {
            feed: r.get(self.feed)?,
            multiplier: r.get(self.multiplier)?,
            // Synthetic index tokens have no code: their metadata calls answer nothing decodable.
            erc20_decimals: r.get(self.decimals).ok(),
            symbol: r.get(self.symbol).ok(),
            feed_decimals: None,
        })
    }
}

/// Every batch's reads of a known token: the layout re-validated, and its price now.
struct TokenReads {
    feed: CallHandle<IDataStore::getAddressCall>,
    multiplier: Uint,
    stable_price: Uint,
    heartbeat: Uint,
    round: Option<CallHandle<AggregatorV3Interface::latestRoundDataCall>>,
    feed_decimals: Option<CallHandle<AggregatorV3Interface::decimalsCall>>,
}

enum TokenOutcome {
    /// Governance changed the feed or multiplier: learn it, read again.
    LayoutChanged(TokenLayout),
    /// The token's price at this block (or why there is none).
    Read(TokenLayout, Box<Result<RawToken>>),
}

impl TokenReads {
    fn add(b: &mut Batch<'_>, ds: Address, token: Address, layout: &TokenLayout) -> Self {
        let has_feed = layout.feed != Address::ZERO;
        Self {
            feed: b.add(
                ds,
                &IDataStore::getAddressCall {
                    key: keys::price_feed(token),
                },
            ),
            multiplier: uint(b, ds, keys::price_feed_multiplier(token)),
            stable_price: uint(b, ds, keys::stable_price(token)),
            heartbeat: uint(b, ds, keys::price_feed_heartbeat_duration(token)),
            round: has_feed
                .then(|| b.add(layout.feed, &AggregatorV3Interface::latestRoundDataCall {})),
            feed_decimals: (has_feed
                && layout.erc20_decimals.is_none()
                && layout.feed_decimals.is_none())
            .then(|| b.add(layout.feed, &AggregatorV3Interface::decimalsCall {})),
        }
    }

    fn read(
        &self,
        r: &BatchResults,
        token: Address,
        mut layout: TokenLayout,
        label: &str,
        now: u64,
    ) -> Result<TokenOutcome> {
        let feed = r.get(self.feed)?;
        let multiplier = r.get(self.multiplier)?;
        if feed != layout.feed || multiplier != layout.multiplier {
            return Ok(TokenOutcome::LayoutChanged(TokenLayout {
                feed,
                multiplier,
                feed_decimals: None,
                ..layout
            }));
        }
        if let Some(h) = self.feed_decimals {
            layout.feed_decimals = r.get(h).ok();
        }
        let stable_price = r.get(self.stable_price)?;
        let heartbeat = r.get(self.heartbeat)?;
        let result = match self.round {
            None => Err(AdapterError::MissingPrice {
                asset: label.to_owned(),
                detail: format!("GMX's DataStore lists no PRICE_FEED for token {token}"),
            }),
            Some(h) => match r.get_optional(h) {
                Err(e) => Err(e),
                Ok(None) => Err(AdapterError::MissingPrice {
                    asset: label.to_owned(),
                    detail: format!("latestRoundData of feed {feed} reverted"),
                }),
                Ok(Some(round)) => {
                    price_of(token, &layout, &round, stable_price, heartbeat, label, now)
                }
            },
        };
        Ok(TokenOutcome::Read(layout, Box::new(result)))
    }
}

fn price_of(
    token: Address,
    layout: &TokenLayout,
    round: &AggregatorV3Interface::latestRoundDataReturn,
    stable_price: U256,
    heartbeat: U256,
    label: &str,
    now: u64,
) -> Result<RawToken> {
    let updated_at = u64::try_from(round.updatedAt).unwrap_or(u64::MAX);
    let age = now.saturating_sub(updated_at);
    // GMX's oracle refuses a reference price older than the token's heartbeat
    // (Errors.ChainlinkPriceFeedNotUpdated).
    if !heartbeat.is_zero() && U256::from(age) > heartbeat {
        return Err(AdapterError::StalePrice {
            asset: label.to_owned(),
            feed: layout.feed.to_checksum(None),
            age_secs: age,
            max_age_secs: u64::try_from(heartbeat).unwrap_or(u64::MAX),
        });
    }
    let price = math::feed_price(round.answer, layout.multiplier, stable_price).map_err(|e| {
        AdapterError::MissingPrice {
            asset: label.to_owned(),
            detail: match e {
                FeedPriceError::NonPositiveAnswer => {
                    format!("feed {} answered {}", layout.feed, round.answer)
                }
                FeedPriceError::ZeroMultiplier => {
                    format!("PRICE_FEED_MULTIPLIER of {token} is {}", layout.multiplier)
                }
            },
        }
    })?;
    Ok(RawToken {
        address: token,
        layout: layout.clone(),
        price,
        round_id: round.roundId.to::<u128>(),
        answer: round.answer,
        updated_at,
        stable_price,
        heartbeat,
    })
}

/// `MarketUtils.MarketPrices` from token prices.
pub fn market_prices(
    index: TokenPrice,
    long: TokenPrice,
    short: TokenPrice,
) -> MarketUtils::MarketPrices {
    let p = |t: TokenPrice| Price::Props {
        min: t.min,
        max: t.max,
    };
    MarketUtils::MarketPrices {
        indexTokenPrice: p(index),
        longTokenPrice: p(long),
        shortTokenPrice: p(short),
    }
}

struct PositionHandles {
    position: PositionRef,
    prices: MarketUtils::MarketPrices,
    funding: Uint,
    info: CallHandle<IReader::getPositionInfoCall>,
    liquidation: CallHandle<IReader::isPositionLiquidatableCall>,
}

/// A label for a token in messages: configured symbol, ERC-20 symbol or address.
pub fn token_label(
    deployment: &GmxDeployment,
    token: Address,
    layout: Option<&TokenLayout>,
) -> String {
    deployment
        .token_symbols
        .get(&token)
        .cloned()
        .or_else(|| layout.and_then(|l| l.symbol.clone()))
        .unwrap_or_else(|| token.to_checksum(None))
}

/// Reads everything normalization needs, starting from and updating `knowledge` (which the caller
/// memoizes even when the read fails).
pub async fn fetch(
    evm: &PinnedEvm,
    deployment: &GmxDeployment,
    account: Address,
    knowledge: &mut Knowledge,
) -> Result<RawAccount> {
    knowledge.batches = 0;
    while knowledge.batches < MAX_BATCHES {
        if let Some(raw) = pass(evm, deployment, account, knowledge).await? {
            return Ok(raw);
        }
    }
    Err(AdapterError::malformed(
        "gmx-v2 reads",
        format!("the batch did not become consistent with itself after {MAX_BATCHES} batches"),
    ))
}

/// One batch. `Ok(None)`: it taught something, write it again.
async fn pass(
    evm: &PinnedEvm,
    dep: &GmxDeployment,
    account: Address,
    k: &mut Knowledge,
) -> Result<Option<RawAccount>> {
    let (ds, reader) = (dep.data_store, dep.reader);
    let mut b = evm.batch();
    let positions_h = b.add(
        reader,
        &IReader::getAccountPositionsCall {
            dataStore: ds,
            account,
            start: U256::ZERO,
            end: U256::from(dep.max_positions) + U256::from(1u8),
        },
    );
    let markets_h = k.markets.is_empty().then(|| {
        b.add(
            reader,
            &IReader::getMarketsCall {
                dataStore: ds,
                start: U256::ZERO,
                end: U256::from(MARKETS_PREFETCH),
            },
        )
    });
    let min_usd_h = uint(&mut b, ds, keys::min_collateral_usd());

    let guessed_markets: BTreeSet<Address> = k.positions.iter().map(|p| p.market).collect();
    let mut market_discovery = Vec::new();
    let mut market_reads = Vec::new();
    let mut tokens_needed = BTreeSet::new();
    for m in &guessed_markets {
        match k.markets.get(m) {
            None => market_discovery.push((
                *m,
                b.add(
                    reader,
                    &IReader::getMarketCall {
                        dataStore: ds,
                        key: *m,
                    },
                ),
            )),
            Some(t) => {
                market_reads.push((*m, *t, MarketHandles::add(&mut b, ds, *m, t)));
                tokens_needed.extend(t.all());
            }
        }
    }
    let mut token_discovery = Vec::new();
    let mut token_reads = Vec::new();
    for t in &tokens_needed {
        match k.tokens.get(t) {
            None => token_discovery.push((*t, TokenDiscovery::add(&mut b, ds, *t))),
            Some(layout) => {
                token_reads.push((*t, layout.clone(), TokenReads::add(&mut b, ds, *t, layout)))
            }
        }
    }
    let mut position_calls = Vec::new();
    for p in &k.positions {
        let Some(t) = k.markets.get(&p.market) else {
            continue;
        };
        let (Some(index), Some(long), Some(short)) = (
            k.prices.get(&t.index),
            k.prices.get(&t.long),
            k.prices.get(&t.short),
        ) else {
            continue;
        };
        let prices = market_prices(*index, *long, *short);
        position_calls.push(PositionHandles {
            position: *p,
            prices: prices.clone(),
            funding: uint(
                &mut b,
                ds,
                keys::funding_fee_amount_per_size(p.market, p.collateral, p.is_long),
            ),
            info: b.add(
                reader,
                &IReader::getPositionInfoCall {
                    dataStore: ds,
                    referralStorage: dep.referral_storage,
                    positionKey: p.key,
                    prices: prices.clone(),
                    sizeDeltaUsd: U256::ZERO,
                    uiFeeReceiver: Address::ZERO,
                    usePositionSizeAsSizeDeltaUsd: true,
                },
            ),
            liquidation: b.add(
                reader,
                &IReader::isPositionLiquidatableCall {
                    dataStore: ds,
                    referralStorage: dep.referral_storage,
                    positionKey: p.key,
                    market: t.props(p.market),
                    prices,
                    shouldValidateMinCollateralUsd: true,
                    forLiquidation: true,
                },
            ),
        });
    }

    let r = b.execute().await?;
    k.batches += 1;

    // The account's positions now.
    let listed = r.get(positions_h)?;
    if listed.len() > dep.max_positions as usize {
        return Err(AdapterError::OutOfRange {
            what: format!("gmx-v2 positions of {account}"),
            value: format!("more than {} (max_positions)", dep.max_positions),
        });
    }
    let mut actual = Vec::with_capacity(listed.len());
    for p in listed {
        let a = &p.addresses;
        if a.account != account {
            return Err(AdapterError::malformed(
                "getAccountPositions",
                format!("a position of {} was listed for {account}", a.account),
            ));
        }
        let key = keys::position_key(account, a.market, a.collateralToken, p.flags.isLong);
        actual.push((
            PositionRef {
                market: a.market,
                collateral: a.collateralToken,
                is_long: p.flags.isLong,
                key,
            },
            p,
        ));
    }
    actual.sort_by_key(|(r, _)| *r);

    // Learn markets and tokens.
    if let Some(h) = markets_h {
        for m in r.get(h)? {
            if m.marketToken != Address::ZERO {
                k.markets
                    .insert(m.marketToken, MarketTokens::from_props(&m));
            }
        }
    }
    for (m, h) in market_discovery {
        let got = r.get(h)?;
        if got.marketToken != m {
            return Err(AdapterError::malformed(
                "getMarket",
                format!("{m} is not a market of DataStore {ds} (a position names it)"),
            ));
        }
        k.markets.insert(m, MarketTokens::from_props(&got));
    }
    for (t, h) in token_discovery {
        k.tokens.insert(t, h.read(&r)?);
    }
    let mut fresh: BTreeMap<Address, Result<RawToken>> = BTreeMap::new();
    let mut layout_changed = false;
    for (t, layout, h) in token_reads {
        let label = token_label(dep, t, Some(&layout));
        match h.read(&r, t, layout, &label, evm.block_timestamp())? {
            TokenOutcome::LayoutChanged(new) => {
                k.tokens.insert(t, new);
                k.prices.remove(&t);
                layout_changed = true;
            }
            TokenOutcome::Read(layout, result) => {
                match result.as_ref() {
                    Ok(token) => {
                        k.prices.insert(t, token.price);
                    }
                    Err(_) => {
                        k.prices.remove(&t);
                    }
                }
                k.tokens.insert(t, layout);
                fresh.insert(t, *result);
            }
        }
    }

    let actual_refs: Vec<PositionRef> = actual.iter().map(|(p, _)| *p).collect();
    let expected = std::mem::replace(&mut k.positions, actual_refs.clone());
    if expected != actual_refs || layout_changed {
        return Ok(None);
    }

    // The batch matches the account: it is usable if every market, token and position call was
    // in it, written with the prices this very batch read.
    let mut markets = BTreeMap::new();
    for (m, tokens, h) in market_reads {
        markets.insert(
            m,
            RawMarket {
                address: m,
                tokens,
                params: h.read(&r)?,
            },
        );
    }
    let mut tokens = BTreeMap::new();
    for (p, _) in &actual {
        let Some(market) = markets.get(&p.market) else {
            return Ok(None);
        };
        let t = market.tokens;
        if p.collateral != t.long && p.collateral != t.short {
            return Err(AdapterError::malformed(
                "getAccountPositions",
                format!(
                    "position {} holds {} which is not a collateral token of market {}",
                    p.key, p.collateral, p.market
                ),
            ));
        }
        for token in t.all() {
            match fresh.get(&token) {
                None => return Ok(None),
                Some(Err(e)) => return Err(e.clone()),
                Some(Ok(raw)) => {
                    tokens.insert(token, raw.clone());
                }
            }
        }
    }
    let mut calls: BTreeMap<B256, PositionHandles> = position_calls
        .into_iter()
        .map(|h| (h.position.key, h))
        .collect();
    let mut positions = Vec::with_capacity(actual.len());
    for (p, position) in actual {
        let Some(h) = calls.remove(&p.key) else {
            return Ok(None);
        };
        let t = markets[&p.market].tokens;
        let now_prices = market_prices(
            tokens[&t.index].price,
            tokens[&t.long].price,
            tokens[&t.short].price,
        );
        if h.prices != now_prices {
            return Ok(None);
        }
        let liquidation = r.get(h.liquidation)?;
        positions.push(RawPosition {
            key: p.key,
            position,
            info: r.get(h.info)?,
            liquidatable: liquidation._0,
            reason: liquidation._1,
            figures: liquidation._2,
            funding_fee_amount_per_size: r.get(h.funding)?,
            prices: h.prices,
        });
    }
    Ok(Some(RawAccount {
        account,
        block_timestamp: evm.block_timestamp(),
        min_collateral_usd: r.get(min_usd_h)?,
        markets,
        tokens,
        positions,
        batches: k.batches,
    }))
}
