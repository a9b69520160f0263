//! Criterion benchmarks of `compute_profile` with the shipped risk model (`config/risk.toml`):
//! 100 positions on the full grid, 10 000 positions, and a sweep of sizes showing the cost grows
//! linearly in positions (and in scenarios: `scenarios/` adds risk groups).
//!
//! `cargo bench -p unimargin-engine` (add `-- --quick` for a short run).
#![allow(missing_docs)]

use std::{collections::BTreeMap, hint::black_box};

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use unimargin_engine::{EngineSettings, ProfileInput, RiskModel, compute_profile};
use unimargin_schema::*;

const ACCOUNT: &str = "eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const EXPIRY: u64 = 1_700_000_000 + 30 * 86_400;

fn settings() -> EngineSettings {
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
fn portfolio(n: usize) -> ProfileInput {
    portfolio_with(n, true)
}

fn portfolio_with(n: usize, with_options: bool) -> ProfileInput {
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

fn bench(c: &mut Criterion) {
    let settings = settings();
    let small = portfolio(100);
    let probe = compute_profile(small.clone(), &settings);
    assert!(probe.coverage.complete, "{:?}", probe.coverage.failures);
    eprintln!(
        "100 positions: {} markets, {} scenarios, {} options",
        probe.protocols.len(),
        probe.risk.scenarios.len(),
        probe.risk.options.len()
    );
    c.bench_function("profile/100_positions_full_grid", |b| {
        b.iter_batched(
            || small.clone(),
            |input| black_box(compute_profile(input, &settings)),
            criterion::BatchSize::SmallInput,
        )
    });
    let linear = portfolio_with(100, false);
    c.bench_function("profile/100_positions_full_grid_no_options", |b| {
        b.iter_batched(
            || linear.clone(),
            |input| black_box(compute_profile(input, &settings)),
            criterion::BatchSize::SmallInput,
        )
    });
    let large = portfolio(10_000);
    c.bench_function("profile/10000_positions", |b| {
        b.iter_batched(
            || large.clone(),
            |input| black_box(compute_profile(input, &settings)),
            criterion::BatchSize::LargeInput,
        )
    });

    let mut sweep = c.benchmark_group("scaling/positions");
    for n in [100usize, 300, 1_000, 3_000, 10_000] {
        let input = portfolio(n);
        sweep.throughput(Throughput::Elements(n as u64));
        sweep.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter_batched(
                || input.clone(),
                |input| black_box(compute_profile(input, &settings)),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    sweep.finish();

    // More volatile groups mean more scenarios (leads and joint pairs): the grid's other axis.
    let mut groups = c.benchmark_group("scaling/scenarios");
    for extra in [0usize, 2, 4, 8] {
        let mut s = settings.clone();
        for g in 0..extra {
            s.model
                .groups
                .insert(format!("G{g}"), s.model.groups["ETH"].clone());
        }
        let scenarios = compute_profile(small.clone(), &s).risk.scenarios.len();
        groups.throughput(Throughput::Elements(scenarios as u64));
        groups.bench_with_input(
            BenchmarkId::new("scenarios", scenarios),
            &small,
            |b, input| {
                b.iter_batched(
                    || input.clone(),
                    |input| black_box(compute_profile(input, &s)),
                    criterion::BatchSize::SmallInput,
                )
            },
        );
    }
    groups.finish();
}

criterion_group!(benches, bench);
// `criterion_main!` defines `main`, which the workspace's `missing_docs` lint cannot see documented.
criterion_main!(benches);
