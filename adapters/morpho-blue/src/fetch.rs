//! I/O: every read of one owner in a set of markets, at the pinned block, batched.
//!
//! Steady state: **one** Multicall3 batch for all the markets asked for, holding per market
//! `position`, `market`, the oracle's `price`, the IRM's `borrowRateView` (with the market state
//! remembered from the previous read), both tokens' `decimals`/`symbol`, the loan token's USD feed
//! (`latestRoundData`, `decimals`) and Morpho's own health verdict (the liquidation probe below),
//! plus `feeRecipient` once.
//!
//! Extra round trips, each at most once per call:
//! * a market read for the first time: `idToMarketParams` and `market` first (the params name the
//!   oracle, IRM and tokens), then remembered for good;
//! * a market whose stored state changed since it was last read and that has interest to accrue:
//!   `borrowRateView` again with the state actually read (the IRM's rate is a function of it).
//!
//! **The liquidation probe.** Morpho has no health view. `liquidate(params, owner, 1, 0, 0x00)`
//! accrues interest and then runs Morpho's own `_isHealthy`: a healthy position reverts with
//! `"position is healthy"`; an unhealthy one gets past the check and then reverts too, because
//! the non-empty `data` makes Morpho call `onMorphoLiquidate` on the caller (Multicall3, which has
//! no such function) before it pulls any loan token. The call therefore always reverts: it changes
//! no state, not even for the calls after it in a merged `aggregate3`, and its revert reason is the
//! protocol's verdict at this block. `liquidate` asks the oracle before the check, so when the
//! oracle does not answer the probe says nothing ([`Verdict::healthy`] is `None`).

use std::collections::{BTreeMap, BTreeSet};

use alloy::{
    primitives::{Address, B256, Bytes, I256, U256, keccak256},
    sol_types::SolValue,
};
use unimargin_sdk::{
    AdapterError, Result,
    evm::{Batch, CallHandle, PinnedEvm},
};

use crate::{
    bindings::{
        aggregator::AggregatorV3Interface, erc20::IERC20Metadata, irm::IIrm, morpho::IMorpho,
        oracle::IOracle,
    },
    config::MorphoDeployment,
    math,
    memo::Memo,
};

/// The revert reason of `liquidate` on a healthy position (`ErrorsLib.HEALTHY_POSITION`).
pub const HEALTHY_POSITION: &str = "position is healthy";

/// Morpho's market id: `keccak256(abi.encode(loanToken, collateralToken, oracle, irm, lltv))`.
pub fn market_id(params: &IMorpho::MarketParams) -> B256 {
    keccak256(params.abi_encode())
}

/// A token of the market, as it describes itself.
#[derive(Debug, Clone)]
pub struct TokenRead {
    /// Contract address.
    pub address: Address,
    /// `decimals()`; an error when the token does not answer it (needed only if held).
    pub decimals: std::result::Result<u8, AdapterError>,
    /// `symbol()`, when it decodes as a string (some old tokens return `bytes32`).
    pub symbol: Option<String>,
}

/// The loan token's USD feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRead {
    /// The feed.
    pub feed: Address,
    /// `decimals()`.
    pub decimals: u8,
    /// `latestRoundData().answer`.
    pub answer: I256,
    /// `latestRoundData().updatedAt` (seconds).
    pub updated_at: U256,
}

/// Morpho's own verdict on the position, from the liquidation probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `Some(true)`: `liquidate` stopped at the health check ([`HEALTHY_POSITION`]);
    /// `Some(false)`: it got past the check (it then reverted in the callback or a transfer);
    /// `None`: it failed before the check (the oracle or the IRM reverted), so Morpho said nothing.
    pub healthy: Option<bool>,
    /// The revert reason, or what happened instead.
    pub detail: String,
}

/// One market and one owner as the contracts returned them, before any interpretation.
#[derive(Debug, Clone)]
pub struct RawMarket {
    /// Market id.
    pub id: B256,
    /// `idToMarketParams(id)`.
    pub params: IMorpho::MarketParams,
    /// `position(id, owner)`.
    pub position: IMorpho::Position,
    /// `market(id)`: totals as stored, accrued to `lastUpdate` only.
    pub market: IMorpho::Market,
    /// `borrowRateView(params, market)` for exactly this `market`; `None` when no interest
    /// accrues between `lastUpdate` and the block (then no rate is needed).
    pub borrow_rate: Option<U256>,
    /// `oracle.price()`, or why there is none.
    pub price: std::result::Result<U256, AdapterError>,
    /// The loan token.
    pub loan: TokenRead,
    /// The collateral token (`None` for an idle market without one).
    pub collateral: Option<TokenRead>,
    /// The loan token's USD feed: `None` when none is configured.
    pub usd_feed: Option<std::result::Result<FeedRead, AdapterError>>,
    /// `feeRecipient()`: accrual mints fee shares to it.
    pub fee_recipient: Address,
    /// Morpho's verdict from the liquidation probe.
    pub verdict: Verdict,
    /// The owner.
    pub owner: Address,
    /// Pinned block timestamp (interest accrues to it).
    pub block_timestamp: u64,
}

fn to_irm_params(p: &IMorpho::MarketParams) -> IIrm::MarketParams {
    IIrm::MarketParams {
        loanToken: p.loanToken,
        collateralToken: p.collateralToken,
        oracle: p.oracle,
        irm: p.irm,
        lltv: p.lltv,
    }
}

fn to_irm_market(m: &IMorpho::Market) -> IIrm::Market {
    IIrm::Market {
        totalSupplyAssets: m.totalSupplyAssets,
        totalSupplyShares: m.totalSupplyShares,
        totalBorrowAssets: m.totalBorrowAssets,
        totalBorrowShares: m.totalBorrowShares,
        lastUpdate: m.lastUpdate,
        fee: m.fee,
    }
}

/// The stored totals of a `Market`.
pub fn stored_totals(m: &IMorpho::Market) -> math::Totals {
    math::Totals {
        supply_assets: U256::from(m.totalSupplyAssets),
        supply_shares: U256::from(m.totalSupplyShares),
        borrow_assets: U256::from(m.totalBorrowAssets),
        borrow_shares: U256::from(m.totalBorrowShares),
    }
}

fn last_update(m: &IMorpho::Market) -> u64 {
    u64::try_from(m.lastUpdate).unwrap_or(u64::MAX)
}

/// Reads and checks the params of markets not seen before (one batch), remembering them and
/// the market state they were read with.
async fn learn_markets(evm: &PinnedEvm, morpho: Address, memo: &Memo, ids: &[B256]) -> Result<()> {
    let missing: Vec<B256> = ids
        .iter()
        .copied()
        .filter(|id| memo.params(id).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut batch = evm.batch();
    let handles: Vec<_> = missing
        .iter()
        .map(|id| {
            (
                *id,
                batch.add(morpho, &IMorpho::idToMarketParamsCall { id: *id }),
                batch.add(morpho, &IMorpho::marketCall { id: *id }),
            )
        })
        .collect();
    let results = batch.execute().await?;
    for (id, params_h, market_h) in handles {
        let params = results.get(params_h)?;
        let market = results.get(market_h)?;
        let hashed = market_id(&params);
        if hashed != id || market.lastUpdate == 0 {
            return Err(AdapterError::Config(format!(
                "market {id} is not created on Morpho {morpho}: idToMarketParams hashes to {hashed}, lastUpdate {}",
                market.lastUpdate
            )));
        }
        memo.remember_params(id, params);
        memo.remember_rate_input(id, market);
    }
    Ok(())
}

/// Reasons `liquidate` reverts with after its health check: Morpho's `SafeTransferLib` errors
/// when moving the seized collateral to the caller.
const AFTER_HEALTH_CHECK: [&str; 3] = ["transfer reverted", "transfer returned false", "no code"];

/// Classifies the outcome of the liquidation probe. `priced` says whether the market's oracle
/// answered in the same batch: `liquidate` asks it before the health check, so when it does not
/// answer the probe cannot reach the check and says nothing about health.
fn verdict(outcome: Result<(U256, U256)>, priced: bool) -> Verdict {
    let (healthy, detail) = match outcome {
        Err(AdapterError::CallReverted {
            reason: Some(reason),
            ..
        }) if reason == HEALTHY_POSITION => (Some(true), reason),
        _ if !priced => (
            None,
            "the oracle does not answer, so liquidate cannot reach its health check".to_owned(),
        ),
        // No reason: the callback on Multicall3, which has no such function, or a panic while seizing.
        Err(AdapterError::CallReverted { reason: None, .. }) => (
            Some(false),
            "past the health check (reverted without a reason)".to_owned(),
        ),
        Err(AdapterError::CallReverted {
            reason: Some(reason),
            ..
        }) if AFTER_HEALTH_CHECK.contains(&reason.as_str()) => {
            (Some(false), format!("past the health check ({reason})"))
        }
        Err(AdapterError::CallReverted {
            reason: Some(reason),
            ..
        }) => (None, format!("before the health check: {reason}")),
        Ok(_) => (Some(false), "the liquidation went through".to_owned()),
        Err(other) => (None, other.to_string()),
    };
    Verdict { healthy, detail }
}

type Handle<C> = CallHandle<C>;
type TokenHandles = (
    Address,
    Handle<IERC20Metadata::decimalsCall>,
    Handle<IERC20Metadata::symbolCall>,
);

/// The calls queued for one market in the main batch.
struct Pending {
    id: B256,
    params: IMorpho::MarketParams,
    position: Handle<IMorpho::positionCall>,
    market: Handle<IMorpho::marketCall>,
    price: Option<Handle<IOracle::priceCall>>,
    probe: Handle<IMorpho::liquidateCall>,
    /// The rate asked with the remembered market state, and that state.
    rate: Option<(IMorpho::Market, Handle<IIrm::borrowRateViewCall>)>,
    loan: TokenHandles,
    collateral: Option<TokenHandles>,
    feed: Option<(
        Address,
        Handle<AggregatorV3Interface::latestRoundDataCall>,
        Handle<AggregatorV3Interface::decimalsCall>,
    )>,
}

/// Reads `owner` in every market of `ids` (see the module docs for the round trips).
pub(crate) async fn fetch(
    evm: &PinnedEvm,
    deployment: &MorphoDeployment,
    memo: &Memo,
    ids: &[B256],
    owner: Address,
) -> Result<Vec<RawMarket>> {
    let morpho = deployment.morpho;
    learn_markets(evm, morpho, memo, ids).await?;

    let mut batch = evm.batch();
    let fee_recipient_h = batch.add(morpho, &IMorpho::feeRecipientCall {});
    let mut pending: Vec<Pending> = Vec::with_capacity(ids.len());
    for id in ids {
        let params = memo
            .params(id)
            .ok_or_else(|| AdapterError::Config(format!("market {id} has no params")))?;
        let remembered = memo.rate_input(id);
        let position = batch.add(
            morpho,
            &IMorpho::positionCall {
                id: *id,
                user: owner,
            },
        );
        let market = batch.add(morpho, &IMorpho::marketCall { id: *id });
        let price = (params.oracle != Address::ZERO)
            .then(|| batch.add(params.oracle, &IOracle::priceCall {}));
        let probe = batch.add(
            morpho,
            &IMorpho::liquidateCall {
                marketParams: params.clone(),
                borrower: owner,
                seizedAssets: U256::from(1u8),
                repaidShares: U256::ZERO,
                data: Bytes::from_static(&[0]),
            },
        );
        let rate = match (&remembered, params.irm != Address::ZERO) {
            (Some(m), true) => Some((
                m.clone(),
                batch.add(
                    params.irm,
                    &IIrm::borrowRateViewCall {
                        marketParams: to_irm_params(&params),
                        market: to_irm_market(m),
                    },
                ),
            )),
            _ => None,
        };
        let token = |batch: &mut Batch<'_>, address: Address| {
            (
                address,
                batch.add(address, &IERC20Metadata::decimalsCall {}),
                batch.add(address, &IERC20Metadata::symbolCall {}),
            )
        };
        let loan = token(&mut batch, params.loanToken);
        let collateral = (params.collateralToken != Address::ZERO)
            .then(|| token(&mut batch, params.collateralToken));
        let feed = deployment.usd_feeds.get(&params.loanToken).map(|feed| {
            (
                *feed,
                batch.add(*feed, &AggregatorV3Interface::latestRoundDataCall {}),
                batch.add(*feed, &AggregatorV3Interface::decimalsCall {}),
            )
        });
        pending.push(Pending {
            id: *id,
            params,
            position,
            market,
            price,
            probe,
            rate,
            loan,
            collateral,
            feed,
        });
    }
    let results = batch.execute().await?;
    let fee_recipient = results.get(fee_recipient_h)?;

    let token_read = |(address, decimals_h, symbol_h)| TokenRead {
        address,
        decimals: results.get(decimals_h),
        symbol: results
            .get(symbol_h)
            .ok()
            .filter(|s: &String| !s.is_empty()),
    };
    let now = evm.block_timestamp();
    let mut raws = Vec::with_capacity(pending.len());
    let mut stale_rates: BTreeMap<B256, IMorpho::Market> = BTreeMap::new();
    for Pending {
        id,
        params,
        position: position_h,
        market: market_h,
        price: price_h,
        probe,
        rate,
        loan,
        collateral,
        feed,
    } in pending
    {
        let market = results.get(market_h)?;
        let needs_rate = math::needs_rate(
            &stored_totals(&market),
            last_update(&market),
            params.irm != Address::ZERO,
            now,
        );
        let borrow_rate = match rate {
            Some((asked_with, h)) if needs_rate && asked_with == market => Some(results.get(h)?),
            _ if needs_rate => {
                stale_rates.insert(id, market.clone());
                None
            }
            _ => None,
        };
        let usd_feed = feed.map(|(feed, round_h, decimals_h)| {
            let round = results.get(round_h)?;
            Ok(FeedRead {
                feed,
                decimals: results.get(decimals_h)?,
                answer: round.answer,
                updated_at: round.updatedAt,
            })
        });
        let price = match price_h {
            Some(h) => results.get(h),
            None => Err(AdapterError::MissingPrice {
                asset: format!("collateral of market {id}"),
                detail: "the market has no oracle".into(),
            }),
        };
        raws.push(RawMarket {
            id,
            position: results.get(position_h)?,
            verdict: verdict(results.get(probe).map(|r| (r._0, r._1)), price.is_ok()),
            price,
            loan: token_read(loan),
            collateral: collateral.map(token_read),
            usd_feed,
            fee_recipient,
            owner,
            block_timestamp: now,
            borrow_rate,
            market,
            params,
        });
    }

    if !stale_rates.is_empty() {
        // The market changed since its state was remembered: ask for the rate of what was read.
        let mut batch = evm.batch();
        let handles: Vec<_> = raws
            .iter()
            .filter_map(|raw| {
                let market = stale_rates.get(&raw.id)?;
                Some((
                    raw.id,
                    batch.add(
                        raw.params.irm,
                        &IIrm::borrowRateViewCall {
                            marketParams: to_irm_params(&raw.params),
                            market: to_irm_market(market),
                        },
                    ),
                ))
            })
            .collect();
        let results = batch.execute().await?;
        let mut rates = BTreeMap::new();
        for (id, h) in handles {
            rates.insert(id, results.get(h)?);
        }
        for raw in &mut raws {
            if let Some(rate) = rates.get(&raw.id) {
                raw.borrow_rate = Some(*rate);
            }
        }
    }
    for raw in &raws {
        memo.remember_rate_input(raw.id, raw.market.clone());
    }
    Ok(raws)
}

/// Markets `owner` ever supplied to or posted collateral in, from Morpho's `Supply` and
/// `SupplyCollateral` logs (topic 3 = `onBehalf`), in one `eth_getLogs` over the blocks not yet
/// scanned for this owner (the first scan may be split by `max_block_range`).
///
/// `Borrow` logs are not needed: Morpho lets a position borrow only while `_isHealthy`, which
/// with a non-zero debt requires collateral, and collateral enters a position only through
/// `supplyCollateral(…, onBehalf)`. So every market where the owner has or had debt has a
/// `SupplyCollateral` log with the owner as `onBehalf` at or before its first `Borrow`.
pub(crate) async fn discover(
    evm: &PinnedEvm,
    deployment: &MorphoDeployment,
    discovery: &crate::config::Discovery,
    memo: &Memo,
    owner: Address,
) -> Result<BTreeSet<B256>> {
    /// Blocks rescanned below the last scan, so a shallow reorg cannot hide a log.
    const REORG_OVERLAP: u64 = 64;
    let pinned = evm.block_number();
    let known = memo.discovered(&owner).unwrap_or_default();
    if known.scanned_to >= pinned && known.scanned_to != 0 {
        return Ok(known.markets);
    }
    let start = if known.scanned_to == 0 {
        discovery.from_block
    } else {
        known
            .scanned_to
            .saturating_sub(REORG_OVERLAP)
            .max(discovery.from_block)
    };
    let filter = alloy::rpc::types::Filter::new()
        .address(deployment.morpho)
        .event_signature(vec![
            <IMorpho::Supply as alloy::sol_types::SolEvent>::SIGNATURE_HASH,
            <IMorpho::SupplyCollateral as alloy::sol_types::SolEvent>::SIGNATURE_HASH,
        ])
        .topic3(owner.into_word());
    let ranges = split_range(start, pinned, discovery.max_block_range);
    let scans = ranges
        .into_iter()
        .map(|(from, to)| evm.logs(filter.clone(), from, to));
    let mut markets = known.markets;
    for logs in futures::future::try_join_all(scans).await? {
        for log in logs {
            let topics = log.topics();
            // topic0 = event, topic1 = id, topic2 = caller, topic3 = onBehalf.
            if topics.len() == 4 && topics[3] == owner.into_word() {
                markets.insert(topics[1]);
            }
        }
    }
    memo.remember_discovered(owner, pinned, markets.clone());
    Ok(markets)
}

/// `[from, to]` in pieces of at most `max` blocks (one piece when `max` is `None`).
fn split_range(from: u64, to: u64, max: Option<u64>) -> Vec<(u64, u64)> {
    let Some(max) = max.filter(|m| *m > 0) else {
        return vec![(from, to)];
    };
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = start.saturating_add(max - 1).min(to);
        out.push((start, end));
        if end == u64::MAX {
            break;
        }
        start = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_range;

    #[test]
    fn ranges_are_split_without_gaps() {
        assert_eq!(split_range(10, 20, None), vec![(10, 20)]);
        assert_eq!(
            split_range(10, 20, Some(5)),
            vec![(10, 14), (15, 19), (20, 20)]
        );
        assert_eq!(split_range(10, 10, Some(5)), vec![(10, 10)]);
        assert_eq!(split_range(10, 20, Some(0)), vec![(10, 20)]);
    }
}
