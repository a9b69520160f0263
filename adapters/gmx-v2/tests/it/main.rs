//! GMX v2 adapter against a real anvil node running the Solidity fixtures (GMX's Reader and
//! DataStore ABIs).
//!
//! Expected values are computed here from GMX's published formulas (gmx-synthetics
//! `PositionUtils.isPositionLiquidatable` / `getPositionPnlUsd`, `PositionPricingUtils`,
//! `MarketUtils`, the reference-feed price `answer × PRICE_FEED_MULTIPLIER / 1e30`) and written as
//! the arithmetic that produces them: USD with 30 decimals, prices per token base unit.

// A failed expectation in a test is a panic with a message; that is what these are.
#![allow(clippy::unwrap_used, clippy::panic)]

mod abi;
mod config;
mod requests;
mod vectors;

use std::{collections::BTreeMap, str::FromStr, sync::Arc};

use alloy::primitives::{Address, I256, U256};
use unimargin_gmx_v2::{
    GmxV2Factory, KIND,
    fixtures::{E8, FixtureGmx, bps, demo_risk_keys, demo_tokens, deploy_demo, units, usd},
    normalize::METRIC,
};
use unimargin_schema::{
    AccountId, Decimal, Health, MarketId, Position, PositionKind, ProtocolId, ProtocolSnapshot,
    ReadPoint, Side, WarningKind,
};
use unimargin_sdk::{
    AdapterError, AdapterFactory, ChainClient, DeploymentSpec, ProtocolAdapter, evm::EvmSettings,
    testkit::TestChain,
};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn e(n: u32) -> U256 {
    U256::from(10u8).pow(U256::from(n))
}

fn u(v: u128) -> U256 {
    U256::from(v)
}

fn i(v: U256) -> I256 {
    I256::try_from(v).unwrap()
}

/// Remaining ÷ required, rounded down at 18 decimals (0 when nothing remains).
fn health(remaining: I256, required: I256) -> Health {
    if remaining <= I256::ZERO {
        return Health::Finite(Decimal::ZERO);
    }
    let q = remaining.into_raw() * e(18) / required.into_raw();
    Health::Finite(Decimal::from_i128_with_scale(i128::try_from(q).unwrap(), 18).normalize())
}

/// A 30-decimal USD value as a decimal, rounded down at 18 decimals.
fn usd_dec(v: I256) -> Decimal {
    let m = v.unsigned_abs();
    let q = if v >= I256::ZERO {
        m / e(12)
    } else {
        m.div_ceil(e(12))
    };
    let x = Decimal::from_i128_with_scale(i128::try_from(q).unwrap(), 18).normalize();
    if v >= I256::ZERO { x } else { -x }
}

/// Price per whole token from a 30-decimal price per base unit.
fn per_token(price: U256, decimals: u32) -> Decimal {
    let q = price * e(decimals) / e(12);
    Decimal::from_i128_with_scale(i128::try_from(q).unwrap(), 18).normalize()
}

pub(crate) struct Env {
    pub(crate) chain: TestChain,
    pub(crate) gmx: FixtureGmx,
    pub(crate) adapter: Arc<dyn ProtocolAdapter>,
}

pub(crate) fn spec(chain: &TestChain, params: serde_json::Value) -> DeploymentSpec {
    DeploymentSpec {
        protocol: ProtocolId::new("gmx-v2").unwrap(),
        kind: Some(KIND.into()),
        chain: chain.chain(),
        market: MarketId("arbitrum".into()),
        params,
    }
}

pub(crate) async fn env() -> Env {
    let chain = TestChain::start().await.expect("anvil");
    let gmx = deploy_demo(&chain).await.expect("deploy fixtures");
    let params = gmx.deployment_params(&gmx.synthetic_symbols(&demo_tokens()), &demo_risk_keys());
    let adapter = GmxV2Factory.build(&spec(&chain, params)).expect("adapter");
    Env {
        chain,
        gmx,
        adapter,
    }
}

impl Env {
    pub(crate) fn user(&self, n: usize) -> (Address, AccountId) {
        let a = self.chain.accounts()[n];
        (
            a,
            AccountId::from_str(&format!("eip155:31337:{a}")).unwrap(),
        )
    }

    pub(crate) async fn snapshot(
        &self,
        account: &AccountId,
    ) -> Result<ProtocolSnapshot, AdapterError> {
        let reader = ChainClient::Evm(Arc::new(self.chain.client(EvmSettings::default())))
            .pin()
            .await?;
        self.adapter.snapshot(&reader, account).await
    }

    pub(crate) async fn now(&self) -> u64 {
        self.chain
            .client(EvmSettings::default())
            .pin_latest()
            .await
            .unwrap()
            .block_timestamp()
    }
}

fn block_time(s: &ProtocolSnapshot) -> u64 {
    match s.provenance.read_point {
        ReadPoint::Block { timestamp, .. } => timestamp,
        ref other => panic!("not a block: {other:?}"),
    }
}

fn find<'a>(
    s: &'a ProtocolSnapshot,
    kind: PositionKind,
    symbol: &str,
    side: Side,
) -> Vec<&'a Position> {
    s.positions
        .iter()
        .filter(|p| p.kind == kind && p.asset.symbol == symbol && p.side == side)
        .collect()
}

fn perp<'a>(s: &'a ProtocolSnapshot, symbol: &str, side: Side) -> &'a Position {
    let found = find(s, PositionKind::Perp, symbol, side);
    assert_eq!(
        found.len(),
        1,
        "one {side:?} {symbol} perp in {:#?}",
        s.positions
    );
    found[0]
}

fn figure(s: &ProtocolSnapshot, key: &str) -> String {
    s.native_health
        .figures
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no figure {key} in {:#?}", s.native_health.figures))
}

/// The figure `suffix` of the position whose key figure equals `key`.
fn position_figure(s: &ProtocolSnapshot, key: alloy::primitives::B256, suffix: &str) -> String {
    let label = s
        .native_health
        .figures
        .iter()
        .find(|(k, v)| k.ends_with(".key") && **v == format!("{key:#x}"))
        .map(|(k, _)| k.trim_end_matches(".key").to_owned())
        .unwrap_or_else(|| panic!("no position {key:#x}"));
    figure(s, &format!("{label}.{suffix}"))
}

#[tokio::test]
async fn long_and_short_positions_across_markets_match_gmx_formulas() {
    let env = env().await;
    let g = &env.gmx;
    let (owner, account) = env.user(1);
    // Four positions, opened at ETH 3,000 and BTC 60,000:
    //   A long  10 ETH  (30,000 USD) with 2 WETH (18 decimals, coin-margined),
    //   B short  5 ETH  (15,000 USD) with 1,500 USDC (6 decimals),
    //   C long   2 BTC (120,000 USD) with 0.2 WBTC (8 decimals; BTC is a synthetic index token),
    //   D short  1 BTC  (60,000 USD) with 3,000 USDC.
    let a = g
        .open_position(
            owner,
            "ETH/USD",
            "WETH",
            true,
            usd(30_000),
            units(10, 18),
            units(2, 18),
        )
        .await
        .unwrap();
    let b = g
        .open_position(
            owner,
            "ETH/USD",
            "USDC",
            false,
            usd(15_000),
            units(5, 18),
            units(1_500, 6),
        )
        .await
        .unwrap();
    let c = g
        .open_position(
            owner,
            "BTC/USD",
            "WBTC",
            true,
            usd(120_000),
            units(2, 8),
            units(2, 8) / u(10),
        )
        .await
        .unwrap();
    let dd = g
        .open_position(
            owner,
            "BTC/USD",
            "USDC",
            false,
            usd(60_000),
            units(1, 8),
            units(3_000, 6),
        )
        .await
        .unwrap();
    // Open interest: ours plus another trader's 10,000 USD long of 4 ETH (entry 2,500).
    g.set_open_interest("ETH/USD", "WETH", true, usd(40_000), units(14, 18))
        .await
        .unwrap();
    g.set_open_interest("ETH/USD", "USDC", false, usd(15_000), units(5, 18))
        .await
        .unwrap();
    g.set_open_interest("BTC/USD", "WBTC", true, usd(120_000), units(2, 8))
        .await
        .unwrap();
    g.set_open_interest("BTC/USD", "USDC", false, usd(60_000), units(1, 8))
        .await
        .unwrap();
    // Traders of the ETH long side may take at most 0.1 % of the pool in profit.
    g.set_max_pnl_factor("ETH/USD", true, bps(10))
        .await
        .unwrap();
    let now = env.now().await;
    g.set_price("WETH", 3_100 * E8, now).await.unwrap();
    g.set_price("WBTC", 58_000 * E8, now).await.unwrap();
    g.set_price("BTC", 58_000 * E8, now).await.unwrap();

    let s = env.snapshot(&account).await.unwrap();

    // Prices per base unit (30 decimals): answer × 10^(60 − 8 − decimals) / 1e30.
    let eth = u(3_100) * e(12); // 3,100e30 / 1e18
    let btc = u(58_000) * e(22); // 58,000e30 / 1e8
    let usdc = e(24); // 1e30 / 1e6
    let fp = e(30);

    // A: value 10 ETH × 3,100 = 31,000 → uncapped PnL 1,000. The long side's PnL at the max price:
    // 14 ETH × 3,100 − 40,000 = 3,400 > 0.1 % of the WETH pool (1,000 WETH × 3,100 = 3.1 M) = 3,100,
    // so the position's PnL is scaled by 3,100 / 3,400.
    let a_uncapped = u(10) * e(18) * eth - usd(30_000);
    let a_pool_pnl = u(14) * e(18) * eth - usd(40_000);
    let a_max_pnl = u(1_000) * e(18) * eth * bps(10) / fp;
    assert_eq!(a_max_pnl, usd(3_100));
    let a_pnl = a_uncapped * a_max_pnl / a_pool_pnl;
    // Closing 30,000 of 40,000 long against 15,000 short: |10,000 − 15,000| < |40,000 − 15,000|,
    // the balance improves → 5 bps: 15 USD / WETH price, rounded down.
    let a_fee = usd(30_000) * bps(5) / fp / eth;
    let a_remaining = i(u(2) * e(18) * eth) + i(a_pnl) - i(a_fee * eth);
    let a_required = i(usd(30_000) * bps(50) / fp); // max(1 USD, 0.5 % of 30,000 = 150)
    // B: short loses 5 × 3,100 − 15,000 = 500; closing worsens the balance (40,000 vs 0) → 7 bps:
    // 10.5 USDC. Remaining 1,500 − 500 − 10.5 = 989.5; required 75.
    let b_fee = usd(15_000) * bps(7) / fp / usdc;
    assert_eq!(b_fee, u(10_500_000));
    let b_remaining = i(usd(1_500)) - i(usd(500)) - i(b_fee * usdc);
    let b_required = i(usd(75));
    // C: long loses 120,000 − 2 × 58,000 = 4,000; closing 120,000 long against 60,000 short
    // leaves |0 − 60,000| = 60,000: not an improvement → 7 bps = 84 USD in WBTC, rounded down.
    let c_fee = usd(120_000) * bps(7) / fp / btc;
    let c_remaining = i(u(20_000_000) * btc) - i(usd(4_000)) - i(c_fee * btc);
    let c_required = i(usd(600));
    // D: short gains 60,000 − 58,000 = 2,000 (the short side's pool PnL 2,000 < 20 % of
    // 3 M USDC); 7 bps = 42 USDC. Remaining 3,000 + 2,000 − 42 = 4,958; required 300.
    let d_remaining = i(usd(4_958));
    let d_required = i(usd(300));

    for (key, remaining, required) in [
        (a, a_remaining, a_required),
        (b, b_remaining, b_required),
        (c, c_remaining, c_required),
        (dd, d_remaining, d_required),
    ] {
        assert_eq!(
            position_figure(&s, key, "reproduced.remaining_collateral_usd"),
            remaining.to_string()
        );
        assert_eq!(
            position_figure(&s, key, "reported.remaining_collateral_usd"),
            remaining.to_string()
        );
        assert_eq!(
            position_figure(&s, key, "reproduced.required_collateral_usd"),
            required.to_string()
        );
        assert_eq!(position_figure(&s, key, "reported.liquidatable"), "false");
    }
    // The account's figure is its worst position: C, 7,516.00… / 600.
    let worst = [
        health(a_remaining, a_required),
        health(b_remaining, b_required),
        health(c_remaining, c_required),
        health(d_remaining, d_required),
    ]
    .into_iter()
    .min()
    .unwrap();
    assert_eq!(worst, health(c_remaining, c_required));
    let nh = &s.native_health;
    assert_eq!(nh.metric, METRIC);
    assert_eq!(nh.reproduced, worst);
    assert_eq!(nh.reported, Some(worst));
    assert_eq!(nh.agrees, Some(true), "{:#?}", nh.figures);
    assert!(!nh.liquidatable);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // Normalized positions: a perp and a collateral supply per GMX position.
    assert_eq!(s.positions.len(), 8);
    let pa = perp(&s, "WETH", Side::Long);
    assert_eq!(
        (pa.amount, pa.price.usd, pa.value_usd),
        (d("10"), d("3100"), d("31000"))
    );
    assert_eq!(pa.asset.decimals, 18);
    assert_eq!(pa.asset.risk_key, "ETH");
    assert!(!pa.counts_as_collateral);
    assert_eq!(
        (pa.weights.initial, pa.weights.maintenance),
        (d("0.01"), d("0.005"))
    );
    let a_perp = pa.perp.as_ref().unwrap();
    assert_eq!(
        (a_perp.entry_price, a_perp.mark_price),
        (d("3000"), d("3100"))
    );
    assert_eq!(a_perp.market, "WETH/USD [WETH-USDC]");
    // PnL after costs = remaining − collateral.
    assert_eq!(
        a_perp.unrealized_pnl_usd,
        usd_dec(a_remaining - i(u(2) * e(18) * eth))
    );
    // Coin-margined long: (10 + 2 − fee) ETH × P − 30,000 = 150 → P = 30,150e30 / (12e18 − fee), up.
    let a_liq = (usd(30_150)).div_ceil(u(12) * e(18) - a_fee);
    assert_eq!(a_perp.liquidation_price, Some(per_token(a_liq, 18)));
    // About 30,150 / 11.995 = 2,513.5 USD per ETH.
    assert!(
        a_perp.liquidation_price.unwrap() > d("2513")
            && a_perp.liquidation_price.unwrap() < d("2514")
    );

    let pb = perp(&s, "WETH", Side::Short);
    let b_perp = pb.perp.as_ref().unwrap();
    assert_eq!(b_perp.unrealized_pnl_usd, d("-510.5"));
    // Short: 15,000 − 5·P + 1,489.5 = 75 → P = 3,282.9.
    assert_eq!(b_perp.liquidation_price, Some(d("3282.9")));

    let pc = perp(&s, "BTC", Side::Long);
    assert_eq!(
        pc.asset.decimals, 8,
        "synthetic BTC: 60 − 8 (feed) − log10(multiplier 10^44)"
    );
    assert_eq!(
        (pc.amount, pc.price.usd, pc.value_usd),
        (d("2"), d("58000"), d("116000"))
    );
    assert_eq!(pc.asset.risk_key, "BTC");
    assert_eq!(pc.perp.as_ref().unwrap().market, "BTC/USD [WBTC-USDC]");
    // Long with WBTC: 2·P − 120,000 + (0.2 WBTC − fee) × 58,000 = 600.
    let c_liq = (usd(120_600) - (u(20_000_000) - c_fee) * btc).div_ceil(u(2) * e(8));
    assert_eq!(
        pc.perp.as_ref().unwrap().liquidation_price,
        Some(per_token(c_liq, 8))
    );

    let pd = perp(&s, "BTC", Side::Short);
    let d_perp = pd.perp.as_ref().unwrap();
    assert_eq!(d_perp.unrealized_pnl_usd, d("1958"));
    // 60,000 − P + 2,958 = 300 → 62,658.
    assert_eq!(d_perp.liquidation_price, Some(d("62658")));

    // Collateral: one supply per position, counted as collateral at weight 1.
    let weth = find(&s, PositionKind::Supply, "WETH", Side::Long);
    assert_eq!(weth.len(), 1);
    assert_eq!(
        (weth[0].amount, weth[0].value_usd, weth[0].asset.decimals),
        (d("2"), d("6200"), 18)
    );
    assert!(weth[0].counts_as_collateral);
    assert_eq!(
        (weth[0].weights.initial, weth[0].weights.maintenance),
        (Decimal::ONE, Decimal::ONE)
    );
    let wbtc = find(&s, PositionKind::Supply, "WBTC", Side::Long);
    assert_eq!(
        (wbtc[0].amount, wbtc[0].value_usd, wbtc[0].asset.decimals),
        (d("0.2"), d("11600"), 8)
    );
    let mut usdc_amounts: Vec<Decimal> = find(&s, PositionKind::Supply, "USDC", Side::Long)
        .iter()
        .map(|p| p.amount)
        .collect();
    usdc_amounts.sort();
    assert_eq!(usdc_amounts, vec![d("1500"), d("3000")]);
    assert!(
        s.positions
            .iter()
            .all(|p| p.asset.decimals != 6 || p.asset.symbol == "USDC")
    );

    // Prices carry the reference feed and its age at the block.
    assert_eq!(pa.price.source.oracle, "chainlink");
    let feed = g.token("WETH").unwrap().feed;
    assert_eq!(
        pa.price.source.feed,
        Some(format!("eip155:31337:{}", feed.to_checksum(None)))
    );
    assert_eq!(pa.price.age_seconds, Some(block_time(&s) - now));
    assert!(
        s.provenance
            .sources
            .contains(&format!("eip155:31337:{}", g.reader.to_checksum(None)))
    );
}

#[tokio::test]
async fn collateral_is_only_what_positions_hold() {
    let env = env().await;
    let g = &env.gmx;
    let (owner, account) = env.user(2);
    // A short ETH position with USDC: ETH is the exposure, not collateral; the BTC market, where
    // the account has nothing, does not appear.
    g.open_position(
        owner,
        "ETH/USD",
        "USDC",
        false,
        usd(3_000),
        units(1, 18),
        units(500, 6),
    )
    .await
    .unwrap();
    g.set_open_interest("ETH/USD", "USDC", false, usd(3_000), units(1, 18))
        .await
        .unwrap();
    let s = env.snapshot(&account).await.unwrap();
    assert_eq!(s.positions.len(), 2);
    let eth = perp(&s, "WETH", Side::Short);
    assert!(!eth.counts_as_collateral);
    assert!(find(&s, PositionKind::Supply, "WETH", Side::Long).is_empty());
    let usdc = find(&s, PositionKind::Supply, "USDC", Side::Long);
    assert_eq!(
        (usdc[0].amount, usdc[0].counts_as_collateral),
        (d("500"), true)
    );
    assert!(s.positions.iter().all(|p| p.asset.risk_key != "BTC"));
}

#[tokio::test]
async fn accounts_on_each_side_of_the_liquidation_threshold() {
    let env = env().await;
    let g = &env.gmx;
    let (at, at_account) = env.user(3);
    let (below, below_account) = env.user(4);
    // Two longs of 3 ETH bought for 9,000 at 3,000 (PnL 0 at 3,000). Closing one of the 18,000 of
    // long open interest (no shorts) improves the balance → 5 bps = 4.5 USDC. Required:
    // max(1 USD, 0.5 % × 9,000 = 45). Collateral 49.5 USDC leaves exactly 45: not liquidatable
    // (GMX compares strictly); 49.499999 leaves 44.999999: liquidatable.
    g.open_position(
        at,
        "ETH/USD",
        "USDC",
        true,
        usd(9_000),
        units(3, 18),
        u(49_500_000),
    )
    .await
    .unwrap();
    g.open_position(
        below,
        "ETH/USD",
        "USDC",
        true,
        usd(9_000),
        units(3, 18),
        u(49_499_999),
    )
    .await
    .unwrap();
    g.set_open_interest("ETH/USD", "USDC", true, usd(18_000), units(6, 18))
        .await
        .unwrap();

    let s = env.snapshot(&at_account).await.unwrap();
    assert_eq!(s.native_health.reproduced, Health::Finite(Decimal::ONE));
    assert_eq!(s.native_health.reported, Some(Health::Finite(Decimal::ONE)));
    assert!(!s.native_health.liquidatable);
    assert_eq!(figure(&s, "p0.reported.liquidatable"), "false");
    // The engine's perp rule over the same positions lands on the same threshold: collateral
    // 49.5 + PnL after costs (0 − 4.5) = 45 against notional 3 × 3,000 × 0.5 % = 45.
    let t = unimargin_engine::totals::of_positions(&s.positions);
    assert_eq!(
        (t.adjusted_collateral_usd, t.maintenance_margin_usd),
        (d("45"), d("45"))
    );
    assert_eq!(t.margin_excess_usd, Decimal::ZERO);
    // At the threshold now: 45 + 9,000 − 45 = 3·P → the liquidation price is the price.
    assert_eq!(
        perp(&s, "WETH", Side::Long)
            .perp
            .as_ref()
            .unwrap()
            .liquidation_price,
        Some(d("3000"))
    );

    let s = env.snapshot(&below_account).await.unwrap();
    // 44.999999e30 × 1e18 / 45e30 = 0.999999977777777777 (rounded down).
    let expected = health(i(u(44_999_999) * e(24)), i(usd(45)));
    assert_eq!(expected, Health::Finite(d("0.999999977777777777")));
    assert_eq!(s.native_health.reproduced, expected);
    assert_eq!(s.native_health.reported, Some(expected));
    assert_eq!(s.native_health.agrees, Some(true));
    assert!(s.native_health.liquidatable);
    assert_eq!(figure(&s, "p0.reported.liquidatable"), "true");
    assert_eq!(
        figure(&s, "p0.reported.reason"),
        "min collateral for leverage"
    );
}

#[tokio::test]
async fn account_without_positions_is_empty_and_infinite() {
    let env = env().await;
    let (_, account) = env.user(5);
    let s = env.snapshot(&account).await.unwrap();
    assert!(s.positions.is_empty());
    assert_eq!(s.native_health.reproduced, Health::Infinite);
    assert_eq!(s.native_health.value, Health::Infinite);
    assert_eq!(s.native_health.agrees, Some(true));
    assert!(!s.native_health.liquidatable);
}

#[tokio::test]
async fn a_skewed_gmx_verdict_is_reported_and_the_worse_value_used() {
    let env = env().await;
    let g = &env.gmx;
    let (owner, account) = env.user(6);
    // Short 1 ETH for 3,000 with 500 USDC, the only open interest: closing takes the imbalance
    // from 3,000 to 0, an improvement → 5 bps = 1.5 USDC.
    // Remaining 500 − 1.5 = 498.5; required max(1, 15) = 15.
    g.open_position(
        owner,
        "ETH/USD",
        "USDC",
        false,
        usd(3_000),
        units(1, 18),
        units(500, 6),
    )
    .await
    .unwrap();
    g.set_open_interest("ETH/USD", "USDC", false, usd(3_000), units(1, 18))
        .await
        .unwrap();
    let honest = health(i(u(498_500_000) * e(24)), i(usd(15)));
    let s = env.snapshot(&account).await.unwrap();
    assert_eq!(s.native_health.reproduced, honest);
    assert_eq!(s.native_health.agrees, Some(true));

    // GMX's verdict claims 100 USD more than its inputs give: reported, never trusted.
    g.set_liquidation_skew(i(usd(100))).await.unwrap();
    let s = env.snapshot(&account).await.unwrap();
    assert_eq!(s.native_health.reproduced, honest);
    assert_eq!(
        s.native_health.reported,
        Some(health(i(u(598_500_000) * e(24)), i(usd(15))))
    );
    assert_eq!(s.native_health.agrees, Some(false));
    assert_eq!(s.native_health.value, honest);
    let w = s
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::NativeHealthMismatch)
        .expect("mismatch warning");
    assert!(w.message.contains("remaining collateral"), "{}", w.message);

    // GMX's verdict says liquidatable while the inputs say healthy: the worse one wins.
    g.set_liquidation_skew(-i(usd(490))).await.unwrap();
    let s = env.snapshot(&account).await.unwrap();
    let reported = health(i(u(8_500_000) * e(24)), i(usd(15)));
    assert_eq!(s.native_health.reported, Some(reported));
    assert_eq!(s.native_health.value, reported);
    assert!(s.native_health.liquidatable);
    assert_eq!(s.native_health.agrees, Some(false));
    assert!(s.warnings.iter().any(|w| w.message.contains("verdict")));
}

#[tokio::test]
async fn borrowing_and_funding_accrue_to_the_pinned_block() {
    let env = env().await;
    let g = &env.gmx;
    let (owner, account) = env.user(7);
    let key = g
        .open_position(
            owner,
            "ETH/USD",
            "USDC",
            true,
            usd(9_000),
            units(3, 18),
            units(1_000, 6),
        )
        .await
        .unwrap();
    g.set_open_interest("ETH/USD", "USDC", true, usd(9_000), units(3, 18))
        .await
        .unwrap();
    let t0 = env.now().await;
    // Borrowing: stored cumulative factor 0.001 at t0, the position settled at 0.0005;
    // BORROWING_FACTOR 1e-5 with exponent 1. Funding: stored 1 USDC per 1,000 USD of size
    // (1e6 / 1,000 × 1e15 = 1e18 per size), accruing 123_456_789_012_345 per second since t0.
    g.set_borrowing("ETH/USD", true, e(27), t0, e(25), e(30))
        .await
        .unwrap();
    g.set_funding("ETH/USD", "USDC", true, e(18), u(123_456_789_012_345))
        .await
        .unwrap();
    g.set_funding_updated_at("ETH/USD", t0).await.unwrap();
    g.set_position_state(key, I256::ZERO, u(5) * e(26), U256::ZERO)
        .await
        .unwrap();
    // Keep the feed fresh across the jump.
    env.chain.advance_time(10_000).await.unwrap();
    let now = env.now().await;
    g.set_price("WETH", 3_000 * E8, now).await.unwrap();

    let s = env.snapshot(&account).await.unwrap();
    let elapsed = u(u128::from(block_time(&s) - t0));
    let (fp, usdc, eth) = (e(30), e(24), u(3_000) * e(12));
    // Borrowing per second = reserved USD (3 ETH × 3,000 = 9,000) × 1e-5 / pool USD
    // (1,000 WETH × 3,000 = 3 M) = 3e22; accrued to the block: 0.001 + elapsed × 3e22.
    let per_second = u(3) * e(18) * eth * e(25) / (u(1_000) * e(18) * eth);
    assert_eq!(per_second, u(3) * e(22));
    let cumulative = e(27) + elapsed * per_second;
    let borrowing_amount = usd(9_000) * (cumulative - u(5) * e(26)) / fp / usdc;
    let stored_borrowing_amount = usd(9_000) * (e(27) - u(5) * e(26)) / fp / usdc; // 4.5 USDC
    assert_eq!(stored_borrowing_amount, u(4_500_000));
    // Funding owed, rounded up: size × (per size now − the position's) / (1e30 × 1e15).
    let per_size = e(18) + elapsed * u(123_456_789_012_345);
    let funding_amount = (usd(9_000) * per_size).div_ceil(e(45));
    let stored_funding_amount = usd(9_000) * e(18) / e(45); // 9 USDC
    // Closing the only long improves the balance → 5 bps = 4.5 USDC.
    let fee = usd(9_000) * bps(5) / fp / usdc;
    let at_block = i(usd(1_000)) - i((fee + borrowing_amount + funding_amount) * usdc);
    let stored = i(usd(1_000)) - i((fee + stored_borrowing_amount + stored_funding_amount) * usdc);
    assert_eq!(stored, i(usd(982)));

    assert_eq!(
        figure(&s, "p0.reproduced.remaining_collateral_usd"),
        at_block.to_string()
    );
    // GMX's Reader evaluates the stored state; the accrual since is charged on top of it.
    assert_eq!(
        figure(&s, "p0.reported.remaining_collateral_usd"),
        stored.to_string()
    );
    assert_eq!(
        figure(&s, "p0.reported.at_block.remaining_collateral_usd"),
        at_block.to_string()
    );
    assert_eq!(
        figure(&s, "p0.reported.pending_borrowing_fee_amount"),
        borrowing_amount.to_string()
    );
    assert_eq!(
        figure(&s, "p0.reported.pending_funding_fee_amount"),
        funding_amount.to_string()
    );
    assert_eq!(
        s.native_health.agrees,
        Some(true),
        "{:#?}",
        s.native_health.figures
    );
    assert_eq!(s.native_health.reproduced, health(at_block, i(usd(45))));
    let p = perp(&s, "WETH", Side::Long);
    assert_eq!(
        p.perp.as_ref().unwrap().unrealized_pnl_usd,
        usd_dec(at_block - i(usd(1_000)))
    );
    assert!(borrowing_amount > stored_borrowing_amount && funding_amount > stored_funding_amount);
}

#[tokio::test]
async fn closing_and_pending_price_impact_enter_the_liquidation_check() {
    let env = env().await;
    let g = &env.gmx;
    let (owner, account) = env.user(8);
    let key = g
        .open_position(
            owner,
            "ETH/USD",
            "USDC",
            false,
            usd(15_000),
            units(5, 18),
            units(1_500, 6),
        )
        .await
        .unwrap();
    g.set_open_interest("ETH/USD", "WETH", true, usd(40_000), units(13, 18))
        .await
        .unwrap();
    g.set_open_interest("ETH/USD", "USDC", false, usd(15_000), units(5, 18))
        .await
        .unwrap();
    // Impact factor 1e-7 on the squared imbalance; caps 1 %.
    g.set_impact_factors(
        "ETH/USD",
        e(23),
        e(23),
        u(2) * e(30),
        bps(100),
        bps(100),
        bps(100),
    )
    .await
    .unwrap();
    // 0.01 ETH of negative impact held pending since the position was increased.
    g.set_position_state(key, -i(e(16)), U256::ZERO, U256::ZERO)
        .await
        .unwrap();

    // Closing the 15,000 short against 40,000 long moves the imbalance from 25,000 to 40,000:
    // impact = −(40,000² − 25,000²) × 1e-7 = −(160 − 62.5) = −97.5 USD; pending −0.01 × 3,000 = −30;
    // −127.5 is within 1 % of 15,000 = 150. Fee: the balance worsens → 7 bps = 10.5 USDC.
    // Remaining = 1,500 + 0 (PnL at 3,000) − 127.5 − 10.5 = 1,362; required 75.
    let s = env.snapshot(&account).await.unwrap();
    assert_eq!(
        figure(&s, "p0.reproduced.remaining_collateral_usd"),
        i(usd(1_362)).to_string()
    );
    assert_eq!(
        s.native_health.agrees,
        Some(true),
        "{:#?}",
        s.native_health.figures
    );
    assert_eq!(
        s.native_health.reproduced,
        health(i(usd(1_362)), i(usd(75)))
    );
    let p = perp(&s, "WETH", Side::Short);
    assert_eq!(
        p.native["price_impact_usd"],
        (-i(u(1_275) * e(29))).to_string()
    );
    assert_eq!(p.perp.as_ref().unwrap().unrealized_pnl_usd, d("-138"));

    // MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS 0.5 % caps the charge at 75:
    // remaining 1,500 − 75 − 10.5 = 1,414.5.
    g.set_impact_factors(
        "ETH/USD",
        e(23),
        e(23),
        u(2) * e(30),
        bps(100),
        bps(100),
        bps(50),
    )
    .await
    .unwrap();
    let s = env.snapshot(&account).await.unwrap();
    assert_eq!(
        figure(&s, "p0.reproduced.remaining_collateral_usd"),
        i(u(14_145) * e(29)).to_string()
    );
    assert_eq!(s.native_health.agrees, Some(true));
}

#[tokio::test]
async fn a_price_older_than_gmx_heartbeat_fails_closed() {
    let env = env().await;
    let g = &env.gmx;
    let (owner, account) = env.user(9);
    g.open_position(
        owner,
        "ETH/USD",
        "USDC",
        true,
        usd(3_000),
        units(1, 18),
        units(500, 6),
    )
    .await
    .unwrap();
    g.set_open_interest("ETH/USD", "USDC", true, usd(3_000), units(1, 18))
        .await
        .unwrap();
    let now = env.now().await;
    g.set_price("WETH", 3_000 * E8, now - 2 * 86_400)
        .await
        .unwrap();
    let err = env.snapshot(&account).await.unwrap_err();
    assert!(
        matches!(
            err,
            AdapterError::StalePrice {
                max_age_secs: 86_400,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_wrong_reader_address_is_a_clear_error() {
    let env = env().await;
    let (owner, account) = env.user(1);
    env.gmx
        .open_position(
            owner,
            "ETH/USD",
            "USDC",
            true,
            usd(3_000),
            units(1, 18),
            units(500, 6),
        )
        .await
        .unwrap();
    let mut params = env
        .gmx
        .deployment_params(&BTreeMap::new(), &BTreeMap::new());
    // The DataStore where the Reader should be: same chain, wrong interface.
    params["reader"] = serde_json::json!(env.gmx.data_store.to_checksum(None));
    let adapter = GmxV2Factory.build(&spec(&env.chain, params)).unwrap();
    let reader = ChainClient::Evm(Arc::new(env.chain.client(EvmSettings::default())))
        .pin()
        .await
        .unwrap();
    let err = adapter.snapshot(&reader, &account).await.unwrap_err();
    assert!(
        matches!(
            err,
            AdapterError::CallReverted { .. } | AdapterError::Malformed { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("getAccountPositions"), "{err}");
}

#[test]
fn invalid_params_name_the_problem() {
    let chain = unimargin_schema::ChainId::evm(42161);
    let build = |params: serde_json::Value| {
        GmxV2Factory
            .build(&DeploymentSpec {
                protocol: ProtocolId::new("gmx-v2").unwrap(),
                kind: None,
                chain: chain.clone(),
                market: MarketId("arbitrum".into()),
                params,
            })
            .err()
            .expect("must fail")
            .to_string()
    };
    let base = serde_json::json!({
        "reader": "0x470fbC46bcC0f16532691Df360A07d8Bf5ee0789",
        "reader_abi": "2025-11",
        "data_store": "0xFD70de6b91282D8017aA4E741e9Ae325CAb992d8",
        "referral_storage": "0xe6fab3F0c7199b0d34d7FbE83394fc0e0D06e99d",
    });
    let mut older = base.clone();
    older["reader_abi"] = serde_json::json!("2024-10");
    assert!(build(older).contains("reader_abi"));
    let mut typo = base.clone();
    typo["datastore"] = serde_json::json!("0x00");
    assert!(build(typo).contains("datastore"));
    let mut symbols = base;
    symbols["token_symbols"] = serde_json::json!({"not-an-address": "BTC"});
    assert!(build(symbols).contains("not-an-address"));
}
