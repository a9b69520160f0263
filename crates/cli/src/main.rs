//! `unimargin`: the binary edge of Unimargin.
//!
//! * `serve` — the HTTP API from configuration;
//! * `profile` — one margin profile on stdout (exit code 2 when coverage is incomplete);
//! * `demo` — a local demo network (anvil + Aave v3 fixtures + a seeded owner) and the API;
//! * `schemas` — writes or checks the JSON Schemas in `schemas/`.
//!
//! This is the only crate that knows every adapter (see `protocols.rs`) and the only one that
//! uses `anyhow`.

mod config;
mod demo;
mod protocols;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(name = "unimargin", version, about = "Universal margin account across DeFi protocols")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Configuration file (default: $UNIMARGIN_CONFIG or config/default.toml).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the margin profile of accounts (CAIP-10 or `alias:address`) as JSON.
    Profile {
        /// Accounts to profile together.
        #[arg(required = true)]
        accounts: Vec<String>,
        /// Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Start a local demo network with Aave v3 fixtures and a seeded owner, and serve the API.
    Demo {
        /// Configuration file for server, cache and risk settings.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address of the API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
    },
    /// Write the JSON Schemas into a directory, or check them for drift.
    Schemas {
        /// Target directory.
        #[arg(long, default_value = "schemas")]
        dir: PathBuf,
        /// Fail if the checked-in files differ instead of writing.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("UNIMARGIN_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            let (config, path) = Config::load(config.as_deref())?;
            let state = config.runtime(protocols::registry()).await?;
            let listener = tokio::net::TcpListener::bind(state.settings.bind)
                .await
                .with_context(|| format!("binding {}", state.settings.bind))?;
            tracing::info!(config = %path.display(), addr = %listener.local_addr()?, "serving");
            unimargin_server::serve(listener, state, shutdown_signal()).await?;
            Ok(())
        }
        Command::Profile { accounts, config } => {
            let (config, _) = Config::load(config.as_deref())?;
            let state = config.runtime(protocols::registry()).await?;
            let accounts = state.profiler.parse_accounts(&accounts).map_err(|e| anyhow::anyhow!("{e}"))?;
            let profile = state.profiler.profile(accounts).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&profile)?);
            if !profile.coverage.complete {
                eprintln!("coverage incomplete: {} failure(s)", profile.coverage.failures.len());
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Demo { config, bind } => demo::run(config.as_deref(), bind).await,
        Command::Schemas { dir, check } => {
            if check {
                let drift = unimargin_schema::export::drift(&dir);
                anyhow::ensure!(
                    drift.is_empty(),
                    "{} differs from the Rust types for {drift:?}; run `unimargin schemas`",
                    dir.display()
                );
                println!("schemas in {} are up to date", dir.display());
            } else {
                for path in unimargin_schema::export::write_all(&dir)? {
                    println!("wrote {}", path.display());
                }
            }
            Ok(())
        }
    }
}

/// Ctrl-C or SIGTERM (what `docker stop` and process managers send).
pub(crate) async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
