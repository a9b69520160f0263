//! The benchmark portfolio: `n` positions in markets of 20 over eight assets, shared by the
//! criterion benchmark and the instruction-count example.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use unimargin_engine::{EngineSettings, ProfileInput, RiskModel};
use unimargin_schema::*;

const ACCOUNT: &str = "eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const EXPIRY: u64 = 1_700_000_000 + 30 * 86_400;

pub(crate) fn settings() -> EngineSettings {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/risk.toml");
    let text = std::fs::read_to_string(path).expect("config/risk.toml");
    let model: RiskModel = toml::from_str(&text).expect("risk.toml parses");
    EngineSettings {
        model,
        ..EngineSettings::default()
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
        asset: Asset {
            id: AssetId {
                chain: ChainId::evm(1),
                namespace: "erc20".into(),
                reference: format!("0x{symbol}"),
            },
            symbol: symbol.into(),
            decimals: 18,
            risk_key: group.into(),
        },
        amount,
        price: Price {
            usd,
            source: PriceSource {
                oracle: "bench".into(),
                address: None,
                feed: None,
            },
            updated_at: None,
            age_seconds: Some(30),
        },
        value_usd: amount * usd,
        counts_as_collateral: kind == PositionKind::Supply,
        weights: match kind {
            PositionKind::Supply => RiskWeights {
                initial: Decimal::new(75, 2),
                maintenance: Decimal::new(80, 2),
            },
            PositionKind::Debt => RiskWeights {
                initial: Decimal::ONE,
                maintenance: Decimal::ONE,
            },
            _ => RiskWeights {
                initial: Decimal::new(10, 2),
                maintenance: Decimal::new(5, 2),
            },
        },
        perp: None,
        option: None,
        greeks: None,
        native: BTreeMap::new(),
    }
}

const ASSETS: [(&str, &str, i64); 8] = [
    ("WETH", "ETH", 2000),
    ("WSTETH", "ETH", 2300),
    ("WBTC", "BTC", 40000),
    ("SOL", "SOL", 150),
    ("USDC", "USD", 1),
    ("USDT", "USD", 1),
    ("DAI", "USD", 1),
    ("LINK", "LINK", 15),
];

/// `n` positions in markets of 20: lending markets (supplies and debts), every fifth a perp
/// venue (USDC collateral and perps), and option positions on ETH in the first market.
pub(crate) fn portfolio(n: usize) -> ProfileInput {
    portfolio_with(n, true)
}

pub(crate) fn portfolio_with(n: usize, with_options: bool) -> ProfileInput {
    let protocols = ["aave-v3", "spark", "compound-v3", "morpho-blue", "drift"];
    let markets = n.div_ceil(20);
    let mut snapshots = Vec::with_capacity(markets);
    let mut made = 0;
    for m in 0..markets {
        let protocol = protocols[m % protocols.len()];
        let mut positions = Vec::new();
        for i in 0..20 {
            if made == n {
                break;
            }
            made += 1;
            let (symbol, group, usd) = ASSETS[(m + i) % ASSETS.len()];
            let usd = Decimal::from(usd);
            let amount = Decimal::new(1000 + (i as i64) * 37, 2) * Decimal::from(1 + m % 3);
            let p = if with_options && m == 0 && i < 4 {
                let mut p = position(
                    PositionKind::Option,
                    if i % 2 == 0 { Side::Long } else { Side::Short },
                    "ETH",
                    "ETH",
                    Decimal::from(2),
                    Decimal::from(120),
                );
                p.option = Some(OptionDetails {
                    instrument: format!("ETH-{i}"),
                    kind: if i < 2 {
                        OptionKind::Call
                    } else {
                        OptionKind::Put
                    },
                    strike: Decimal::from(1800 + 100 * i as i64),
                    expiry: EXPIRY,
                    implied_vol: Some(Decimal::new(70, 2)),
                });
                p.native.insert("index_price".into(), "2000".into());
                p
            } else if protocol == "drift" && i % 2 == 1 {
                let side = if i % 4 == 1 { Side::Long } else { Side::Short };
                let mut p = position(
                    PositionKind::Perp,
                    side,
                    symbol,
                    group,
                    amount / Decimal::from(10),
                    usd,
                );
                p.perp = Some(PerpDetails {
                    market: format!("{symbol}-PERP"),
                    entry_price: usd,
                    mark_price: usd,
                    unrealized_pnl_usd: Decimal::ZERO,
                    liquidation_price: None,
                });
                p
            } else if i % 3 == 2 {
                position(
                    PositionKind::Debt,
                    Side::Short,
                    symbol,
                    group,
                    amount / Decimal::from(4),
                    usd,
                )
            } else {
                position(PositionKind::Supply, Side::Long, symbol, group, amount, usd)
            };
            positions.push(p);
        }
        snapshots.push(ProtocolSnapshot {
            provenance: Provenance {
                chain: ChainId::evm(1),
                read_point: ReadPoint::Block {
                    number: 100,
                    hash: "0xabc".into(),
                    timestamp: 1_700_000_000,
                },
                protocol: ProtocolId::new(protocol).expect("protocol id"),
                market: MarketId(format!("m{m}")),
                account: ACCOUNT.parse().expect("account"),
                sources: vec![],
                fetched_at: Utc.timestamp_opt(1_700_000_001, 0).single().expect("time"),
            },
            positions,
            native_health: NativeHealth::new("bench.health", Health::Infinite, None),
            warnings: vec![],
        });
    }
    ProfileInput {
        accounts: vec![ACCOUNT.parse().expect("account")],
        expected: BTreeMap::from([(
            ChainId::evm(1),
            snapshots
                .iter()
                .map(|s| format!("{}/{}", s.provenance.protocol, s.provenance.market))
                .collect(),
        )]),
        read_points: BTreeMap::from([(
            ChainId::evm(1),
            Some(ReadPoint::Block {
                number: 100,
                hash: "0xabc".into(),
                timestamp: 1_700_000_000,
            }),
        )]),
        snapshots,
        failures: vec![],
        as_of: Utc.timestamp_opt(1_700_000_002, 0).single().expect("time"),
    }
}
