//! Builders for snapshots, positions and models.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use unimargin_engine::{
    EngineSettings, ProfileInput, RiskModel,
    model::{ByRegime, GroupConfig, HaircutLevels, HaircutTier, PegConfig, SizeParams},
};
use unimargin_schema::*;

pub(crate) fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

pub(crate) const ALICE: &str = "eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
pub(crate) const BOB: &str = "eip155:1:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";
pub(crate) const AS_OF: i64 = 1_700_000_002;

pub(crate) fn account(a: &str) -> AccountId {
    a.parse().unwrap()
}

pub(crate) fn asset(symbol: &str, group: &str) -> Asset {
    Asset {
        id: AssetId {
            chain: ChainId::evm(1),
            namespace: "erc20".into(),
            reference: format!("0x{symbol}"),
        },
        symbol: symbol.into(),
        decimals: 18,
        risk_key: group.into(),
    }
}

pub(crate) fn price(usd: Decimal) -> Price {
    Price {
        usd,
        source: PriceSource {
            oracle: "test-oracle".into(),
            address: None,
            feed: None,
        },
        updated_at: None,
        age_seconds: Some(60),
    }
}

fn position(
    kind: PositionKind,
    side: Side,
    symbol: &str,
    group: &str,
    amount: Decimal,
    usd: Decimal,
) -> Position {
    Position {
        kind,
        side,
        asset: asset(symbol, group),
        amount,
        price: price(usd),
        value_usd: amount * usd,
        counts_as_collateral: false,
        weights: RiskWeights {
            initial: Decimal::ONE,
            maintenance: Decimal::ONE,
        },
        perp: None,
        option: None,
        greeks: None,
        native: BTreeMap::new(),
    }
}

/// A supply counted as collateral with loan-to-value `ltv` and liquidation threshold `lt`.
pub(crate) fn supply(
    symbol: &str,
    group: &str,
    amount: Decimal,
    usd: Decimal,
    ltv: &str,
    lt: &str,
) -> Position {
    Position {
        counts_as_collateral: true,
        weights: RiskWeights {
            initial: d(ltv),
            maintenance: d(lt),
        },
        ..position(PositionKind::Supply, Side::Long, symbol, group, amount, usd)
    }
}

/// A debt with liability weight 1.
pub(crate) fn debt(symbol: &str, group: &str, amount: Decimal, usd: Decimal) -> Position {
    position(PositionKind::Debt, Side::Short, symbol, group, amount, usd)
}

/// A perp at mark `usd`, entered at the mark (no PnL), with margin ratios.
pub(crate) fn perp(
    side: Side,
    symbol: &str,
    group: &str,
    amount: Decimal,
    usd: Decimal,
    imr: &str,
    mmr: &str,
) -> Position {
    Position {
        weights: RiskWeights {
            initial: d(imr),
            maintenance: d(mmr),
        },
        perp: Some(PerpDetails {
            market: format!("{symbol}-PERP"),
            entry_price: usd,
            mark_price: usd,
            unrealized_pnl_usd: Decimal::ZERO,
            liquidation_price: None,
        }),
        ..position(PositionKind::Perp, side, symbol, group, amount, usd)
    }
}

pub(crate) fn snapshot_of(protocol: &str, who: &str, positions: Vec<Position>) -> ProtocolSnapshot {
    ProtocolSnapshot {
        provenance: Provenance {
            chain: ChainId::evm(1),
            read_point: ReadPoint::Block {
                number: 100,
                hash: "0xabc".into(),
                timestamp: 1_700_000_000,
            },
            protocol: ProtocolId::new(protocol).unwrap(),
            market: MarketId("core".into()),
            account: account(who),
            sources: vec![],
            fetched_at: Utc.timestamp_opt(1_700_000_001, 0).unwrap(),
        },
        positions,
        native_health: NativeHealth::new("test.health", Health::Infinite, None),
        warnings: vec![],
    }
}

pub(crate) fn snapshot(protocol: &str, positions: Vec<Position>) -> ProtocolSnapshot {
    snapshot_of(protocol, ALICE, positions)
}

pub(crate) fn input(snapshots: Vec<ProtocolSnapshot>) -> ProfileInput {
    let mut accounts: Vec<AccountId> = snapshots
        .iter()
        .map(|s| s.provenance.account.clone())
        .collect();
    accounts.sort();
    accounts.dedup();
    if accounts.is_empty() {
        accounts.push(account(ALICE));
    }
    let expected = BTreeMap::from([(
        ChainId::evm(1),
        snapshots
            .iter()
            .map(|s| format!("{}/{}", s.provenance.protocol, s.provenance.market))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    )]);
    ProfileInput {
        accounts,
        snapshots,
        failures: vec![],
        expected,
        read_points: BTreeMap::from([(
            ChainId::evm(1),
            Some(ReadPoint::Block {
                number: 100,
                hash: "0xabc".into(),
                timestamp: 1_700_000_000,
            }),
        )]),
        as_of: Utc.timestamp_opt(AS_OF, 0).unwrap(),
    }
}

fn volatility(v: &str) -> ByRegime<Decimal> {
    ByRegime {
        calm: d(v),
        stressed: d(v),
    }
}

/// A model whose numbers are easy to follow by hand: ETH and BTC (volatility 0.8, so moves as
/// listed), USD the numeraire without depegs, no carry, no haircuts, no oracle scenario, no joint
/// scenarios, penalties 5 %.
pub(crate) fn plain_model() -> RiskModel {
    let mut m = RiskModel::default();
    m.groups.insert(
        "ETH".into(),
        GroupConfig {
            numeraire: false,
            volatility: volatility("0.8"),
            default_depeg: Decimal::ZERO,
            reference: None,
        },
    );
    m.groups.insert(
        "BTC".into(),
        GroupConfig {
            numeraire: false,
            volatility: volatility("0.8"),
            default_depeg: Decimal::ZERO,
            reference: None,
        },
    );
    m.groups.insert(
        "USD".into(),
        GroupConfig {
            numeraire: true,
            volatility: volatility("0.02"),
            default_depeg: Decimal::ZERO,
            reference: Some("USDC".into()),
        },
    );
    m.carry.borrow_apr = Decimal::ZERO;
    m.carry.funding_apr = Decimal::ZERO;
    m.grid.oracle_deviation = Decimal::ZERO;
    m.grid.joint = false;
    let zero = HaircutLevels {
        maintenance: Decimal::ZERO,
        initial: Decimal::ZERO,
    };
    m.haircuts.tiers = vec![HaircutTier {
        max_volatility: d("1000"),
        levels: ByRegime {
            calm: zero,
            stressed: zero,
        },
    }];
    m.haircuts.default_size = SizeParams {
        liquidity_usd: Decimal::ONE,
        imf: Decimal::ZERO,
    };
    m.liquidation.default_penalty = d("0.05");
    m.prices.aliases.insert("WETH".into(), "ETH".into());
    m.validate().unwrap();
    m
}

/// The plain model with the stETH peg (depeg 10 %).
pub(crate) fn pegged_model() -> RiskModel {
    let mut m = plain_model();
    m.pegs.insert(
        "stETH".into(),
        PegConfig {
            group: "ETH".into(),
            symbols: vec!["WSTETH".into(), "STETH".into()],
            depeg: d("0.10"),
        },
    );
    m.validate().unwrap();
    m
}

pub(crate) fn settings(model: RiskModel) -> EngineSettings {
    EngineSettings {
        model,
        ..EngineSettings::default()
    }
}

/// `protocol/core@ALICE`.
pub(crate) fn label(protocol: &str) -> String {
    format!("{protocol}/core@{}", account(ALICE))
}

/// The worked examples' hedged book, aave-v3's side: 10 ETH at 2000 (LTV 0.8, LT 0.825) and
/// 8 000 USDC debt.
pub(crate) fn aave_eth_loan() -> Vec<Position> {
    vec![
        supply("ETH", "ETH", d("10"), d("2000"), "0.8", "0.825"),
        debt("USDC", "USD", d("8000"), d("1")),
    ]
}

/// The worked examples' hedged book, drift's side: 3 000 USDC and a short 5 ETH perp at 2000
/// (margin ratios 10 % / 5 %).
pub(crate) fn drift_eth_short() -> Vec<Position> {
    vec![
        supply("USDC", "USD", d("3000"), d("1"), "1", "1"),
        perp(Side::Short, "ETH", "ETH", d("5"), d("2000"), "0.1", "0.05"),
    ]
}
