//! Load test: requests/s and tail latency of a cached profile with authentication on, beside a
//! bare endpoint that returns the same bytes from the same kind of server, in the same run.
//!
//! `cargo bench -p unimargin-server --bench load` (release build). Needs `wrk` on the PATH
//! (`apt-get install wrk`); set `UNIMARGIN_ANVIL` like the tests. Knobs: `LOAD_SECS` (default
//! 10), `LOAD_CONNECTIONS` (16), `LOAD_THREADS` (2).
//!
//! What "cached" means here: the account was read once, so every request pins the block (one
//! JSON-RPC request to anvil), finds the snapshot in the in-memory cache, and recomputes the
//! profile (engine, JSON). The bare endpoint skips all of that, including the auth and rate-limit
//! layers, so the difference is what the service itself costs per request.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/harness.rs"]
mod harness;

use std::{process::Command, sync::Arc, time::Duration};

use axum::{Router, body::Bytes, routing::get};
use unimargin_cache::MemoryCache;
use unimargin_sdk::evm::{EvmClient, EvmSettings};
use unimargin_server::{
    AppState, ServerSettings, Tenancy,
    auth::{ApiKey, FileStore, RateLimit, TenantStore},
    router_with,
};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn spawn(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Requests/s and the 50th/99th percentile latencies wrk printed.
struct Run {
    requests_per_sec: f64,
    p50: String,
    p99: String,
    errors: String,
}

fn wrk(url: &str, key: Option<&str>) -> Run {
    let (secs, conns, threads) = (
        env_or("LOAD_SECS", 10),
        env_or("LOAD_CONNECTIONS", 16),
        env_or("LOAD_THREADS", 2),
    );
    let mut cmd = Command::new("wrk");
    cmd.args([
        format!("-t{threads}"),
        format!("-c{conns}"),
        format!("-d{secs}s"),
        "--latency".to_owned(),
    ]);
    if let Some(key) = key {
        cmd.args(["-H".to_owned(), format!("Authorization: Bearer {key}")]);
    }
    let out = cmd.arg(url).output().expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}");
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Run {
        requests_per_sec: field("Requests/sec:").parse().unwrap_or(0.0),
        p50: field("50%"),
        p99: field("99%"),
        errors: if errors.is_empty() {
            "none".into()
        } else {
            errors
        },
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not name this bench skips it.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"load".contains(a.as_str()))
    {
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("load: `wrk` is not installed (apt-get install wrk); nothing was measured");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let chain = harness::funded_chain(10).await;
        let client = EvmClient::http(
            unimargin_schema::ChainId::evm(harness::ANVIL),
            chain.url(),
            EvmSettings::default(),
        )
        .unwrap();
        let (profiler, _) = harness::native_profiler(client, Arc::new(MemoryCache::default()));
        let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
        let key = ApiKey::generate("load").unwrap();
        store.insert_key(&key.record).await.unwrap();
        let api = router_with(
            AppState {
                profiler: Arc::new(profiler),
                settings: ServerSettings {
                    request_timeout: Duration::from_secs(30),
                    ..ServerSettings::default()
                },
                attestor: None,
            },
            Tenancy::required(store, RateLimit::unlimited()),
        );
        let api = spawn(api).await;
        let url = format!("{api}/v1/accounts/{}/profile", harness::account());

        // Warm the cache and take the bytes the bare endpoint will serve.
        let body = http_get(&url, &key.secret).await;
        let bare = Bytes::from(body);
        let size = bare.len();
        let bare = spawn(Router::new().route(
            "/bare",
            get(move || {
                let bare = bare.clone();
                async move { ([("content-type", "application/json")], bare) }
            }),
        ))
        .await;

        let secret = key.secret.clone();
        let (profile, bare) = tokio::task::spawn_blocking(move || {
            (wrk(&url, Some(&secret)), wrk(&format!("{bare}/bare"), None))
        })
        .await
        .unwrap();
        println!("load: {size} byte profile, wrk on loopback");
        for (name, run) in [
            ("cached profile, auth on", profile),
            ("bare endpoint, same bytes", bare),
        ] {
            println!(
                "load: {name:<26} {:>10.1} req/s  p50 {:>9}  p99 {:>9}  errors: {}",
                run.requests_per_sec, run.p50, run.p99, run.errors
            );
        }
        drop(chain);
    });
}

/// One GET over a plain TCP connection (the bench needs no HTTP client crate for one request).
async fn http_get(url: &str, key: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header end");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    response[split + 4..].to_vec()
}
