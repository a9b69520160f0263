//! The human view, rendered by a real headless Chromium against the service on loopback.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Duration,
};

use axum::{
    Router,
    http::{StatusCode, header},
};
use serde_json::json;
use tower::ServiceExt;
use unimargin_cache::MemoryCache;
use unimargin_sdk::evm::EvmSettings;
use unimargin_server::{
    InProcessFanout, ServerSettings,
    auth::{FileStore, RateLimit, TenantStore},
};

use crate::{
    harness::{account, funded_chain, get, key, post_json, send, service_with},
    stream::{as_key, owner_set, replica, replica_limited, two_tenants},
};

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

/// Takes a 1280×2000 screenshot of `url` into `dir/name` and checks it is a real PNG page.
async fn screenshot(chromium: &Path, dir: &Path, name: &str, url: &str) {
    let shot = dir.join(name);
    let shot_arg = format!("--screenshot={}", shot.display());
    let (chromium, profile_dir, url) = (
        chromium.to_owned(),
        dir.join(format!("profile-{name}")),
        url.to_owned(),
    );
    let out = tokio::task::spawn_blocking(move || {
        headless(
            &chromium,
            &profile_dir,
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
    // 10 ETH × 2000 USD = 20000.00 net value; credit: the stress-tested 8833.333334.
    assert!(
        html.contains(r#"<div class="v ok" id="health">∞</div>"#),
        "health missing from the DOM:\n{html}"
    );
    assert!(html.contains(&account()), "account missing");
    assert!(html.contains("$20000.00"), "net value missing");
    assert!(html.contains("$8833.33"), "credit capacity missing");
    assert!(html.contains("native/eth"), "protocol row missing");
    assert!(
        !html.contains("Coverage incomplete"),
        "a complete profile is not flagged"
    );

    screenshot(&chromium, &dir, "account.png", &url).await;
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

/// `POST /v1/view-links` as `key` with `body`; the link's URL on a 201.
async fn view_link(router: &Router, key: &str, body: serde_json::Value) -> crate::harness::Answer {
    send(
        router,
        as_key(post_json("/v1/view-links", body.to_string()), key),
    )
    .await
}

/// The page at `path` (no key): status and body.
async fn page(router: &Router, path: &str) -> (StatusCode, String) {
    let response = router.clone().oneshot(get(path)).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn the_owner_set_page_opens_in_headless_chromium_through_a_view_link() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED: chromium is not installed and `apt-get install chromium` failed; the HTML view was not tested in a browser"
        );
        return;
    };
    let chain = funded_chain(10).await;
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    let svc = replica(&chain, store.clone(), Arc::new(InProcessFanout::default()));
    let secret = key(store.as_ref(), "venue-a").await;
    let id = owner_set(&svc.router, &secret).await;
    let link = view_link(&svc.router, &secret, json!({ "owner_set": id })).await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.body);
    let url = link.body["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("/owners/{id}?view=")), "{url}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{url}", listener.local_addr().unwrap());
    let router = svc.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let dir = tempfile_dir();
    let (chromium_dom, dir_dom, url_dom) = (chromium.clone(), dir.join("dom"), url.clone());
    let dom = tokio::task::spawn_blocking(move || {
        headless(
            &chromium_dom,
            &dir_dom,
            &["--virtual-time-budget=5000", "--dump-dom", &url_dom],
        )
    })
    .await
    .unwrap();
    assert!(
        dom.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let html = String::from_utf8_lossy(&dom.stdout);
    // The owner set's name and id, its health (no debt: infinite), totals (10 ETH × 2000 USD)
    // and its segment, margined on its own.
    assert!(
        html.contains(r#"<span id="owner-set">desk 1</span>"#),
        "owner set missing:\n{html}"
    );
    assert!(html.contains(&id), "owner set id missing");
    assert!(
        html.contains(r#"<div class="v ok" id="health">∞</div>"#),
        "health missing from the DOM:\n{html}"
    );
    assert!(html.contains("$20000.00"), "net value missing");
    assert!(
        html.contains(r#"<table id="segments">"#),
        "segments missing"
    );
    assert!(html.contains("<td>hot</td>"), "segment row missing");

    screenshot(&chromium, &dir, "owner.png", &url).await;
}

#[tokio::test]
async fn pages_need_a_key_or_a_valid_view_link_of_their_tenant_and_page() {
    let chain = funded_chain(1).await;
    let (svc, a, b, id) = two_tenants(&chain).await;
    let owner_page = format!("/owners/{id}");
    let account_page = format!("/accounts/{}", account());

    // Neither key nor link: 401 on both pages.
    for path in [&owner_page, &account_page] {
        let answer = send(&svc.router, get(path)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{path}"
        );
    }
    // The key opens the owner's page; another tenant's key gets the 404 of a made-up id.
    let response = svc
        .router
        .clone()
        .oneshot(as_key(get(&owner_page), &a))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    for path in [owner_page.clone(), "/owners/os_0000000000000000".into()] {
        let theirs = send(&svc.router, as_key(get(&path), &b)).await;
        assert_eq!(
            (theirs.status, theirs.code()),
            (StatusCode::NOT_FOUND, "unknown_owner_set"),
            "{path}"
        );
    }
    // Nor can B make a link to A's set.
    let theirs = view_link(&svc.router, &b, json!({ "owner_set": id })).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    for bad in [
        json!({}),
        json!({ "owner_set": id, "account": account() }),
        json!({ "owner_set": id, "ttl_secs": 0 }),
        json!({ "owner_set": id, "ttl_secs": 3601 }),
    ] {
        let answer = view_link(&svc.router, &a, bad.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            answer.body
        );
    }

    // A's links open their page without a key.
    let owner_link = view_link(&svc.router, &a, json!({ "owner_set": id })).await;
    let owner_url = owner_link.body["url"].as_str().unwrap().to_owned();
    let (status, html) = page(&svc.router, &owner_url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"<span id="owner-set">desk 1</span>"#));
    let account_link = view_link(
        &svc.router,
        &a,
        json!({ "account": format!("anvil:{}", crate::harness::ADDR) }),
    )
    .await;
    let account_url = account_link.body["url"].as_str().unwrap().to_owned();
    assert!(
        account_url.starts_with(&format!("{account_page}?view=")),
        "{account_url}"
    );
    assert_eq!(page(&svc.router, &account_url).await.0, StatusCode::OK);

    // Tampered (one digit of the MAC, the expiry, the tenant), moved to another page, or
    // without its value: 401, all alike.
    let token = owner_url.split_once("?view=").unwrap().1.to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    let last = parts[2].chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &parts[2][..parts[2].len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let later: i64 = parts[1].parse::<i64>().unwrap() + 3600;
    for bad in [
        format!("{owner_page}?view={}.{}.{flipped}", parts[0], parts[1]),
        format!("{owner_page}?view={}.{later}.{}", parts[0], parts[2]),
        format!(
            "{owner_page}?view={}.{}.{}",
            hex_of("venue-b"),
            parts[1],
            parts[2]
        ),
        format!("/owners/os_0000000000000000?view={token}"),
        format!("{account_page}?view={token}"),
        format!("{owner_page}?view="),
    ] {
        let answer = send(&svc.router, get(&bad)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{bad}"
        );
        assert_eq!(answer.message(), "invalid or expired view link");
    }

    // An expired link: 1 s of life, then refused.
    let short = view_link(&svc.router, &a, json!({ "owner_set": id, "ttl_secs": 1 })).await;
    let short_url = short.body["url"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let expired = send(&svc.router, get(&short_url)).await;
    assert_eq!(
        (expired.status, expired.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}

#[tokio::test]
async fn a_tenants_view_links_share_its_rate_limit() {
    let chain = funded_chain(1).await;
    let store: Arc<dyn TenantStore> = Arc::new(FileStore::in_memory());
    let limit = RateLimit {
        per_minute: 1,
        burst: 2,
    };
    let svc = replica_limited(
        &chain,
        store.clone(),
        Arc::new(InProcessFanout::default()),
        limit,
    );
    let secret = key(store.as_ref(), "venue-a").await;
    let id = owner_set(&svc.router, &secret).await;
    let link = view_link(&svc.router, &secret, json!({ "owner_set": id })).await;
    let url = link.body["url"].as_str().unwrap().to_owned();
    // The key's own bucket is spent (two requests: owner set, link); the links have theirs.
    for _ in 0..2 {
        assert_eq!(page(&svc.router, &url).await.0, StatusCode::OK);
    }
    let limited = send(&svc.router, get(&url)).await;
    assert_eq!(
        (limited.status, limited.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
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
