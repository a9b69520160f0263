//! Computes the benchmark portfolio's profile a given number of times, for instruction counts
//! (`valgrind --tool=callgrind`), which, unlike wall time on a shared machine, repeat exactly:
//!
//! ```text
//! cargo build --release -p unimargin-engine --example instructions
//! valgrind --tool=callgrind target/release/examples/instructions 100 10
//! ```
//!
//! Arguments: positions (default 100) and repetitions (default 10); compare callgrind's
//! inclusive count of `compute_profile` divided by the repetitions. `--json` instead prints the
//! profiles of a fixed set of portfolios (sizes up to the 10 000 positions whose grid runs on
//! several threads, with and without options, more risk groups), so
//! that a change meant to be faster can be checked to give byte-identical profiles:
//! `instructions --json > before.json`, change, `instructions --json | cmp - before.json`.
#![allow(missing_docs)]

use std::hint::black_box;

use unimargin_engine::compute_profile;

#[path = "../benches/support/portfolio.rs"]
mod portfolio;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = portfolio::settings();
    if args.first().is_some_and(|a| a == "--json") {
        for extra_groups in [0usize, 3] {
            let mut s = settings.clone();
            for g in 0..extra_groups {
                s.model
                    .groups
                    .insert(format!("G{g}"), s.model.groups["ETH"].clone());
            }
            for n in [1usize, 7, 20, 45, 100, 333, 1_000, 10_000] {
                for with_options in [true, false] {
                    let profile = compute_profile(portfolio::portfolio_with(n, with_options), &s);
                    let json = serde_json::to_string(&profile).expect("a profile serializes");
                    println!("{json}");
                }
            }
        }
        return;
    }
    let positions: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    let repetitions: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let input = portfolio::portfolio(positions);
    for _ in 0..repetitions {
        black_box(compute_profile(black_box(input.clone()), &settings));
    }
}
