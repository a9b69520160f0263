//! The human view, rendered by a real headless Chromium against the service on loopback.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Duration,
};

use axum::http::{StatusCode, header};
use tower::ServiceExt;
use unimargin_cache::MemoryCache;
use unimargin_sdk::evm::EvmSettings;
use unimargin_server::ServerSettings;

use crate::harness::{account, funded_chain, get, service_with};

/// Chromium from `PATH` or Debian's package, installing the package when it is missing. `None`
/// only if it cannot be installed.
fn chromium() -> Option<PathBuf> {
    let known = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
    let found = || known.iter().map(PathBuf::from).find(|p| p.exists());
    if let Some(path) = found() {
        return Some(path);
    }
    let install = Command::new("apt-get")
        .args(["install", "-y", "-qq", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    if !install.is_ok_and(|s| s.success()) {
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    found()
}

/// Runs headless Chromium with a fresh profile directory and the flags that keep it offline.
fn headless(chromium: &Path, profile_dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .args(extra)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_account_page_renders_in_headless_chromium_with_the_owners_health() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED: chromium is not installed and `apt-get install chromium` failed; the HTML view was not tested in a browser"
        );
        return;
    };
    let chain = funded_chain(10).await;
    let svc = service_with(
        chain.client(EvmSettings::default()),
        Arc::new(MemoryCache::default()),
        ServerSettings::default(),
    );

    // In process first: the status and content type.
    let path = format!("/accounts/{}", account());
    let response = svc.router.clone().oneshot(get(&path)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path}", listener.local_addr().unwrap());
    let router = svc.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let dir = tempfile_dir();
    let url_for_dom = url.clone();
    let (chromium_dom, dir_dom) = (chromium.clone(), dir.join("dom-profile"));
    let dom = tokio::task::spawn_blocking(move || {
        headless(
            &chromium_dom,
            &dir_dom,
            &["--virtual-time-budget=5000", "--dump-dom", &url_for_dom],
        )
    })
    .await
    .unwrap();
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    // The owner's health (no debt: infinite), the account, and the totals as the browser sees them:
    // 10 ETH × 2000 USD = 20000.00 net value; credit 20 000 × 0.80 = 16000.00.
    assert!(
        html.contains(r#"<div class="v ok" id="health">∞</div>"#),
        "health missing from the DOM:\n{html}"
    );
    assert!(html.contains(&account()), "account missing");
    assert!(html.contains("$20000.00"), "net value missing");
    assert!(html.contains("$16000.00"), "credit capacity missing");
    assert!(html.contains("native/eth"), "protocol row missing");
    assert!(
        !html.contains("Coverage incomplete"),
        "a complete profile is not flagged"
    );

    let shot = dir.join("account.png");
    let shot_arg = format!("--screenshot={}", shot.display());
    let (chromium_shot, dir_shot) = (chromium.clone(), dir.join("shot-profile"));
    let out = tokio::task::spawn_blocking(move || {
        headless(
            &chromium_shot,
            &dir_shot,
            &[
                "--virtual-time-budget=5000",
                &shot_arg,
                "--window-size=1280,2000",
                &url,
            ],
        )
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 10_000,
        "a 1280×2000 page screenshot of {} bytes is suspiciously small",
        png.len()
    );
    eprintln!("screenshot: {} ({} bytes)", shot.display(), png.len());
}

#[tokio::test]
async fn an_incomplete_profile_page_is_a_502_with_its_failures_in_red() {
    let mut chain = funded_chain(1).await;
    let svc = service_with(
        chain.client(EvmSettings {
            request_timeout: Duration::from_secs(2),
            ..EvmSettings::default()
        }),
        Arc::new(MemoryCache::default()),
        ServerSettings::default(),
    );
    chain.stop();
    let response = svc
        .router
        .clone()
        .oneshot(get(&format!("/accounts/{}", account())))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let html = String::from_utf8_lossy(&bytes);
    assert!(html.contains("Coverage incomplete"), "{html}");
    assert!(
        html.contains(r#"<div class="failures" id="failures">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<div class="v unknown" id="health">unknown</div>"#),
        "{html}"
    );
}

/// A fresh directory for Chromium's profiles and the screenshot, kept after the run so the
/// screenshot can be looked at (`target/` is not used: tests may run from anywhere).
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "unimargin-html-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
