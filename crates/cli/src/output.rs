//! How `unimargin profile` and `unimargin watch` print a profile: JSON (the API's body), a
//! table sized for the terminal, or CSV (one row per position) for spreadsheets and scripts.

use std::fmt::Write as _;

use clap::ValueEnum;
use unimargin_schema::MarginProfile;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// The API's JSON body, pretty-printed.
    Json,
    /// Totals and a positions table, fitted to the terminal width (`$COLUMNS`, else 100).
    Table,
    /// One row per position, with a header.
    Csv,
}

/// A serde value as plain text (`"x"` → `x`, absent → `-`).
fn text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) | Err(_) => "-".to_owned(),
        Ok(other) => other.to_string(),
    }
}

/// One row per position: protocol/market, account, kind, asset, amount, USD price and value.
fn rows(profile: &MarginProfile) -> Vec<[String; 8]> {
    let mut out = Vec::new();
    for p in &profile.protocols {
        for pos in &p.positions {
            out.push([
                format!("{}/{}", p.protocol, p.market),
                p.account.to_string(),
                text(&pos.kind),
                pos.asset.symbol.clone(),
                pos.amount.to_string(),
                pos.price.usd.to_string(),
                pos.value_usd.to_string(),
                pos.counts_as_collateral.to_string(),
            ]);
        }
    }
    out
}

const HEADER: [&str; 8] = [
    "market",
    "account",
    "kind",
    "asset",
    "amount",
    "price_usd",
    "value_usd",
    "collateral",
];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `s` cut to `width` characters, with `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Renders `profile` in `format`.
pub(crate) fn render(profile: &MarginProfile, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(profile)?,
        Format::Csv => {
            let mut out = HEADER.join(",");
            out.push('\n');
            for row in rows(profile) {
                out.push_str(
                    &row.iter()
                        .map(|f| csv_field(f))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
            out
        }
        Format::Table => table(profile, terminal_width()),
    })
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(100)
}

/// One line: what a watcher prints when something changed.
pub(crate) fn summary(profile: &MarginProfile) -> String {
    let t = &profile.totals;
    let points: Vec<String> = profile
        .coverage
        .chains
        .iter()
        .map(|c| {
            format!(
                "{}@{}",
                c.chain,
                c.read_point
                    .as_ref()
                    .map(|r| r.cache_label().0.to_string())
                    .unwrap_or("-".into())
            )
        })
        .collect();
    format!(
        "{} health={} net_usd={} credit_usd={} complete={} [{}]",
        profile.as_of.format("%H:%M:%S"),
        text(&profile.health),
        t.net_value_usd,
        profile.credit_capacity_usd,
        profile.coverage.complete,
        points.join(" ")
    )
}

fn table(profile: &MarginProfile, width: usize) -> String {
    let t = &profile.totals;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "health {}   initial {}   complete {}",
        text(&profile.health),
        text(&profile.initial_health),
        profile.coverage.complete
    );
    let _ = writeln!(
        out,
        "net {} USD   collateral {}   debt {}   maintenance {}   credit capacity {}",
        t.net_value_usd,
        t.collateral_usd,
        t.debt_usd,
        t.maintenance_margin_usd,
        profile.credit_capacity_usd
    );
    for f in &profile.coverage.failures {
        let _ = writeln!(
            out,
            "FAILED {}: {}",
            text(&f.kind),
            fit(&f.message, width.saturating_sub(10))
        );
    }
    let rows = rows(profile);
    // Numbers keep their width; the account column (the widest) gives way first.
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * (w.len() - 1);
    while total(&widths) > width && widths[1] > 12 {
        widths[1] -= 1;
    }
    while total(&widths) > width && widths[0] > 10 {
        widths[0] -= 1;
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:<w$}", fit(c, *w), w = *w))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(out, "{}", line(&HEADER.map(String::from)).trim_end());
    for row in &rows {
        let _ = writeln!(out, "{}", line(row).trim_end());
    }
    out
}
