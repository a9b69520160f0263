//! Recorded mainnet reads (Ethereum, Morpho Blue) decoded with our bindings and run through our
//! math and normalization, against the balances another implementation derived from them.
//!
//! The recordings are adapter snapshots of consensys-vertical-apps/mmi-defi-adapters that keep
//! every JSON-RPC request with its result (`eth_call` of `position`, `market`, `idToMarketParams`,
//! `borrowRateView`, token metadata, Chainlink ETH/USD, and the block). They are not part of the
//! repository; `.ci/run` points `UNIMARGIN_TEST_VECTORS` at a checkout. Without it the test says
//! that it did not run.

use std::{collections::BTreeMap, str::FromStr};

use alloy::{
    primitives::{Address, B256, Bytes, U256, address},
    sol_types::SolCall,
};
use serde_json::Value;
use unimargin_morpho_blue::{
    MorphoDeployment,
    bindings::{
        aggregator::AggregatorV3Interface, erc20::IERC20Metadata, irm::IIrm, morpho::IMorpho,
    },
    fetch::{FeedRead, RawMarket, TokenRead, Verdict, market_id, stored_totals},
    math,
    normalize::{NormalizeContext, normalize},
};
use unimargin_schema::{AccountId, ChainId, PositionKind, ProtocolId, ReadPoint};
use unimargin_sdk::AdapterError;

const MORPHO: Address = address!("0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb");
const ETH_USD: Address = address!("0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419");

/// One recording: the block and every `eth_call` with its answer.
struct Recording {
    number: u64,
    hash: String,
    timestamp: u64,
    calls: Vec<(Address, Bytes, Bytes)>,
    /// `(market id, token symbol, balance)` as the recorder's adapter reported them, per product.
    expected: BTreeMap<(String, B256), U256>,
}

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or_default().trim_start_matches("0x"), 16).unwrap()
}

fn load(test: &str, name: &str) -> Option<Recording> {
    let root = unimargin_sdk::testkit::vectors(test)?;
    let path = root.join("evm/metamask_mmi-defi-adapters").join(name);
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")),
    )
    .unwrap();
    let mut rec = Recording {
        number: 0,
        hash: String::new(),
        timestamp: 0,
        calls: Vec::new(),
        expected: BTreeMap::new(),
    };
    for entry in json["rpcResponses"].as_object().unwrap().values() {
        let request = &entry["request"];
        match request["method"].as_str().unwrap() {
            "eth_getBlockByNumber" => {
                rec.number = hex_u64(&entry["result"]["number"]);
                rec.hash = entry["result"]["hash"].as_str().unwrap().to_owned();
                rec.timestamp = hex_u64(&entry["result"]["timestamp"]);
            }
            "eth_call" => {
                let tx = &request["params"][0];
                rec.calls.push((
                    Address::from_str(tx["to"].as_str().unwrap()).unwrap(),
                    Bytes::from_str(tx["data"].as_str().unwrap()).unwrap(),
                    Bytes::from_str(entry["result"].as_str().unwrap()).unwrap(),
                ));
            }
            _ => {}
        }
    }
    for product in json["snapshot"].as_array().unwrap() {
        let kind = product["productId"].as_str().unwrap().to_owned();
        for token in product["tokens"].as_array().unwrap() {
            let id = B256::from_str(token["tokenId"].as_str().unwrap()).unwrap();
            let balance =
                U256::from_str(token["balanceRaw"].as_str().unwrap().trim_end_matches('n'))
                    .unwrap();
            rec.expected.insert((kind.clone(), id), balance);
        }
    }
    assert!(
        rec.number > 0 && !rec.calls.is_empty(),
        "{name}: no block or no calls recorded"
    );
    Some(rec)
}

impl Recording {
    /// The decoded call to `to` of type `C` matching `pred`, with its decoded answer.
    fn find<C: SolCall>(&self, to: Address, pred: impl Fn(&C) -> bool) -> Option<(C, C::Return)> {
        self.calls
            .iter()
            .filter(|(t, input, _)| *t == to && input.starts_with(&C::SELECTOR))
            .find_map(|(_, input, output)| {
                let call = C::abi_decode(input).ok()?;
                pred(&call).then(|| {
                    (
                        call,
                        C::abi_decode_returns(output).expect("recorded answer decodes"),
                    )
                })
            })
    }

    /// Every market read: id, params, stored market, owner's position, and the recorded rate.
    fn markets(
        &self,
    ) -> Vec<(
        B256,
        IMorpho::MarketParams,
        IMorpho::Market,
        IMorpho::Position,
        Option<U256>,
    )> {
        let ids: Vec<B256> = self
            .calls
            .iter()
            .filter(|(t, input, _)| {
                *t == MORPHO && input.starts_with(&IMorpho::idToMarketParamsCall::SELECTOR)
            })
            .map(|(_, input, _)| IMorpho::idToMarketParamsCall::abi_decode(input).unwrap().id)
            .collect();
        ids.into_iter()
            .map(|id| {
                let (_, params) = self
                    .find::<IMorpho::idToMarketParamsCall>(MORPHO, |c| c.id == id)
                    .unwrap();
                let (_, market) = self
                    .find::<IMorpho::marketCall>(MORPHO, |c| c.id == id)
                    .unwrap();
                let (_, position) = self
                    .find::<IMorpho::positionCall>(MORPHO, |c| c.id == id)
                    .unwrap();
                let rate = self.find::<IIrm::borrowRateViewCall>(params.irm, |c| {
                    // The recorded rate was asked with exactly the stored market state.
                    c.market.totalBorrowAssets == market.totalBorrowAssets
                        && c.market.lastUpdate == market.lastUpdate
                });
                (id, params, market, position, rate.map(|(_, r)| r))
            })
            .collect()
    }
}

fn accrued(
    market: &IMorpho::Market,
    params: &IMorpho::MarketParams,
    rate: Option<U256>,
    now: u64,
) -> math::Totals {
    let last_update = u64::try_from(market.lastUpdate).unwrap();
    math::accrue(
        stored_totals(market),
        last_update,
        U256::from(market.fee),
        params.irm != Address::ZERO,
        rate,
        now,
    )
    .unwrap()
    .totals
}

#[test]
fn recorded_supply_positions_normalize_to_the_recorded_balances() {
    let Some(rec) = load(
        "recorded_supply_positions_normalize_to_the_recorded_balances",
        "history__morpho-blue__ethereum.positions.1@4a4baf86.json",
    ) else {
        return;
    };
    let owner = address!("0x38989BBA00BDF8181F4082995b3DEAe96163aC5D");
    let weth = address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
    let (_, decimals) = rec
        .find::<IERC20Metadata::decimalsCall>(weth, |_| true)
        .unwrap();
    let (_, symbol) = rec
        .find::<IERC20Metadata::symbolCall>(weth, |_| true)
        .unwrap();
    let (_, round) = rec
        .find::<AggregatorV3Interface::latestRoundDataCall>(ETH_USD, |_| true)
        .unwrap();
    let deployment = MorphoDeployment {
        morpho: MORPHO,
        markets: Vec::new(),
        usd_feeds: BTreeMap::from([(weth, ETH_USD)]),
        risk_keys: BTreeMap::from([("WETH".to_owned(), "ETH".to_owned())]),
        discovery: None,
    };
    let chain = ChainId::evm(1);
    let account = AccountId::new(chain.clone(), &owner.to_checksum(None)).unwrap();
    let protocol = ProtocolId::new("morpho-blue").unwrap();
    let ctx = NormalizeContext {
        chain: &chain,
        read_point: ReadPoint::Block {
            number: rec.number,
            hash: rec.hash.clone(),
            timestamp: rec.timestamp,
        },
        protocol: &protocol,
        account: &account,
        deployment: &deployment,
        fetched_at: chrono::DateTime::from_timestamp(rec.timestamp as i64, 0).unwrap(),
    };

    let markets = rec.markets();
    assert_eq!(markets.len(), 4);
    for (id, params, market, position, rate) in markets {
        assert_eq!(
            market_id(&params),
            id,
            "the id is the hash of the recorded params"
        );
        assert_eq!(params.loanToken, weth);
        // No market charged a fee, so who the fee recipient is does not matter here.
        assert_eq!(market.fee, 0);
        let raw = RawMarket {
            id,
            params: params.clone(),
            position,
            borrow_rate: rate,
            // Not recorded, and not needed: the owner has no collateral and no debt.
            price: Err(AdapterError::MissingPrice {
                asset: "collateral".into(),
                detail: "not recorded".into(),
            }),
            market,
            loan: TokenRead {
                address: weth,
                decimals: Ok(decimals),
                symbol: Some(symbol.clone()),
            },
            collateral: None,
            // Chainlink's ETH/USD feed answers with 8 decimals.
            usd_feed: Some(Ok(FeedRead {
                feed: ETH_USD,
                decimals: 8,
                answer: round.answer,
                updated_at: round.updatedAt,
            })),
            fee_recipient: Address::ZERO,
            // liquidate's health check passes any owner without borrow shares.
            verdict: Verdict {
                healthy: Some(true),
                detail: "position is healthy".into(),
            },
            owner,
            block_timestamp: rec.timestamp,
        };
        let s = normalize(&raw, &ctx).unwrap();
        let supply = s
            .positions
            .iter()
            .find(|p| p.kind == PositionKind::Supply)
            .expect("a supply");
        // Interest accrued to the block, shares rounded down: the recorded balance to the wei.
        let expected = rec.expected[&("market-supply".to_owned(), id)];
        assert_eq!(
            supply.native["balance_base_units"],
            expected.to_string(),
            "market {id}"
        );
        assert!(!supply.counts_as_collateral);
        assert_eq!(supply.asset.symbol, "WETH");
        assert!(supply.price.age_seconds.is_some());
        assert_eq!(
            s.native_health.reproduced,
            unimargin_schema::Health::Infinite
        );
    }
}

#[test]
fn recorded_borrows_accrue_to_the_block_and_round_up() {
    let Some(rec) = load(
        "recorded_borrows_accrue_to_the_block_and_round_up",
        "history__morpho-blue__ethereum.positions.2@4a4baf86.json",
    ) else {
        return;
    };
    let markets = rec.markets();
    assert_eq!(markets.len(), 5);
    for (id, params, market, position, rate) in markets {
        assert_eq!(market_id(&params), id);
        let totals = accrued(&market, &params, rate, rec.timestamp);
        let shares = U256::from(position.borrowShares);
        let up = math::to_assets_up(shares, totals.borrow_assets, totals.borrow_shares).unwrap();
        let down =
            math::to_assets_down(shares, totals.borrow_assets, totals.borrow_shares).unwrap();
        // The recorder rounds borrow shares down; Morpho (MorphoBalancesLib.expectedBorrowAssets,
        // `_isHealthy`) and this adapter round them up: one wei more, never less.
        assert_eq!(
            down,
            rec.expected[&("market-borrow".to_owned(), id)],
            "market {id}"
        );
        assert_eq!(up, down + U256::from(1u8), "market {id}");
        // The collateral is stored as is.
        assert_eq!(
            U256::from(position.collateral),
            rec.expected[&("market-supply".to_owned(), id)]
        );
        assert!(
            rate.is_some() && totals.borrow_assets > U256::from(market.totalBorrowAssets),
            "interest accrued"
        );
    }

    // Collateral and debt without the oracle price (not recorded) are a missing price, not a zero.
    let (id, params, market, position, rate) = rec.markets().remove(0);
    let token = |a: Address| TokenRead {
        address: a,
        decimals: Ok(18),
        symbol: Some("T".into()),
    };
    let raw = RawMarket {
        id,
        loan: token(params.loanToken),
        collateral: Some(token(params.collateralToken)),
        params,
        position,
        market,
        borrow_rate: rate,
        price: Err(AdapterError::MissingPrice {
            asset: "collateral".into(),
            detail: "not recorded".into(),
        }),
        usd_feed: None,
        fee_recipient: Address::ZERO,
        verdict: Verdict {
            healthy: Some(true),
            detail: String::new(),
        },
        owner: Address::ZERO,
        block_timestamp: rec.timestamp,
    };
    let chain = ChainId::evm(1);
    let account = AccountId::new(chain.clone(), &Address::ZERO.to_checksum(None)).unwrap();
    let deployment = MorphoDeployment {
        morpho: MORPHO,
        markets: Vec::new(),
        usd_feeds: BTreeMap::new(),
        risk_keys: BTreeMap::new(),
        discovery: None,
    };
    let protocol = ProtocolId::new("morpho-blue").unwrap();
    let ctx = NormalizeContext {
        chain: &chain,
        read_point: ReadPoint::Block {
            number: rec.number,
            hash: rec.hash.clone(),
            timestamp: rec.timestamp,
        },
        protocol: &protocol,
        account: &account,
        deployment: &deployment,
        fetched_at: chrono::Utc::now(),
    };
    assert!(matches!(
        normalize(&raw, &ctx),
        Err(AdapterError::MissingPrice { .. })
    ));
}
