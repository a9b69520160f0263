//! Criterion benchmarks of `compute_profile` with the shipped risk model (`config/risk.toml`):
//! 100 positions on the full grid, 10 000 positions, and a sweep of sizes showing the cost grows
//! linearly in positions (and in scenarios: `scenarios/` adds risk groups).
//!
//! `cargo bench -p unimargin-engine` (add `-- --quick` for a short run).
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use unimargin_engine::compute_profile;

#[path = "support/portfolio.rs"]
mod portfolio;
use portfolio::{portfolio, portfolio_with, settings};

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
    // The same with a scenario grid built for the profile (a model or book shape seen for the
    // first time), where the one above finds it compiled (`GridCache`).
    c.bench_function("profile/100_positions_full_grid_first_of_its_shape", |b| {
        b.iter_batched(
            || {
                let fresh = unimargin_engine::EngineSettings {
                    model: settings.model.clone(),
                    ..unimargin_engine::EngineSettings::default()
                };
                (small.clone(), fresh)
            },
            |(input, fresh)| black_box(compute_profile(input, &fresh)),
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
