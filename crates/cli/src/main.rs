//! `unimargin`: the binary edge of Unimargin.
//!
//! * `serve` — the HTTP API from configuration;
//! * `profile` — one margin profile on stdout (exit code 2 when coverage is incomplete);
//! * `demo` — a local demo network (anvil + Aave v3 fixtures + a seeded owner) and the API;
//! * `schemas` — writes or checks the JSON Schemas in `schemas/`.
//!
//! This is the only crate that knows every adapter (see `protocols.rs`) and the only one that
//! uses `anyhow`.

mod auth;
mod config;
mod demo;
mod keys;
mod output;
mod progress;
mod protocols;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "unimargin",
    version,
    about = "Universal margin account across DeFi protocols"
)]
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
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: output::Format,
    },
    /// Print a one-line summary of the accounts' profile whenever a covered chain advances and
    /// the profile changed (Ctrl-C to stop).
    Watch {
        /// Accounts to profile together.
        #[arg(required = true)]
        accounts: Vec<String>,
        /// Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// How often to look for a new block, in milliseconds.
        #[arg(long, default_value_t = 2_000)]
        interval_ms: u64,
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
    /// Manage API keys (`create --tenant <t>`, `list`, `revoke <id>`) in the configured store.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
        /// Configuration file.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
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
    init_logs()?;
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

/// Logs on stderr, filtered by `UNIMARGIN_LOG` (`info` by default). `UNIMARGIN_LOG_FORMAT` is
/// `json` (one JSON object per line, with the enclosing request span's fields such as
/// `request_id`, for log shippers) or `text`; unset, JSON when stderr is not a terminal (a
/// container, a service manager) and text for a person at a terminal.
fn init_logs() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let filter =
        EnvFilter::try_from_env("UNIMARGIN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("UNIMARGIN_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        Ok(other) => anyhow::bail!("UNIMARGIN_LOG_FORMAT must be `json` or `text`, not `{other}`"),
        Err(_) => !std::io::stderr().is_terminal(),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    } else {
        logs.init();
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            let (config, path) = Config::load(config.as_deref())?;
            let state = config.runtime(protocols::registry()).await?;
            let tenancy = config.tenancy()?;
            let listener = tokio::net::TcpListener::bind(state.settings.bind)
                .await
                .with_context(|| format!("binding {}", state.settings.bind))?;
            tracing::info!(
                config = %path.display(),
                addr = %listener.local_addr()?,
                auth = ?tenancy.mode,
                key_store = tenancy.store.backend(),
                "serving"
            );
            let hub = config.stream_hub(&state.settings.stream)?;
            let app = unimargin_server::router_with_hub(state, tenancy, hub);
            unimargin_server::serve_router(listener, app, shutdown_signal()).await?;
            Ok(())
        }
        Command::Profile {
            accounts,
            config,
            format,
        } => {
            let (config, _) = Config::load(config.as_deref())?;
            let state = config.runtime(protocols::registry()).await?;
            let accounts = state
                .profiler
                .parse_accounts(&accounts)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            // Progress on stderr, so stdout stays the profile alone.
            let started = std::time::Instant::now();
            let bar = progress::ReadBar::stderr();
            let profile = state
                .profiler
                .profile_with_progress(accounts, &[], Some(&bar))
                .await;
            bar.finish();
            let profile = profile.map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "read {} protocol market(s) on {} chain(s) in {} ms ({} step(s) failed)",
                profile.coverage.protocols_read,
                profile.coverage.chains.len(),
                started.elapsed().as_millis(),
                bar.failed()
            );
            print!("{}", output::render(&profile, format)?);
            if format == output::Format::Json {
                println!();
            }
            if !profile.coverage.complete {
                eprintln!(
                    "coverage incomplete: {} failure(s)",
                    profile.coverage.failures.len()
                );
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Watch {
            accounts,
            config,
            interval_ms,
        } => {
            let (config, _) = Config::load(config.as_deref())?;
            let state = config.runtime(protocols::registry()).await?;
            let accounts = state
                .profiler
                .parse_accounts(&accounts)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let watch = async {
                let mut last: Option<String> = None;
                loop {
                    let profile = state
                        .profiler
                        .profile(accounts.clone())
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    // The summary without its clock: print only when the block or the numbers moved.
                    let line = output::summary(&profile);
                    let key = line
                        .split_once(' ')
                        .map_or(line.as_str(), |(_, rest)| rest)
                        .to_owned();
                    if last.as_deref() != Some(key.as_str()) {
                        println!("{line}");
                        last = Some(key);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(interval_ms.max(100)))
                        .await;
                }
                #[allow(unreachable_code)]
                Ok::<(), anyhow::Error>(())
            };
            tokio::select! {
                result = watch => result,
                () = shutdown_signal() => Ok(()),
            }
        }
        Command::Keys { command, config } => {
            let (config, _) = Config::load(config.as_deref())?;
            keys::run(&config, command).await
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
