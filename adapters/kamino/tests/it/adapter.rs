//! The adapter end to end: the real `RpcClient` code path against the SDK's loopback JSON-RPC
//! server serving mainnet Kamino accounts, with expectations computed independently in floating
//! point from klend's published formulas.

use std::sync::Arc;

use unimargin_kamino::KaminoFactory;
use unimargin_schema::{
    AccountId, ChainId, Health, MarketId, PositionKind, ProtocolId, WarningKind,
};
use unimargin_sdk::{
    AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    solana::{Pubkey, RawAccount, SolanaSettings, testkit::SolanaTestServer},
};

use crate::support;

const PROGRAM: &str = "KLend2g3cP87fffoy8q1mQqGKjrxjC8boSyAYavgmjD";
const SCOPE: &str = "HFn8GnPADiny6XqUoWE8uRPPxb29ikn4yTuPa9MF2fWJ";
const MARKET: &str = "7u3HeHxYDLhnCoErrtycNokbQYbWGzLs6JSDqGAv5PfF";
const SOL_RESERVE: &str = "d4A2prbA2whesmvHaL88BH6Ewn5N4bTSU2Ze8P6Bc4Q";
const BORROWER: &str = "4EiYqK5PCfLVyvL3WQRkifkPoVtaRHdTvYTzeLkydtHW";
const DEPOSITOR: &str = "HRpCJaTjXMgxsDAHSLHTQigUmezEitySEf6SWWmLsiNY";
/// The SOL reserve's last refresh; the read slot.
const SLOT: u64 = 359_632_276;
/// The Scope prices were published at 1_754_681_865; read ten seconds later.
const NOW: i64 = 1_754_681_875;

fn chain() -> ChainId {
    ChainId::solana("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").expect("mainnet-beta")
}

fn key(s: &str) -> Pubkey {
    s.parse().expect("pubkey")
}

fn acct(owner: &str, data: Vec<u8>) -> RawAccount {
    RawAccount {
        lamports: 1_000_000,
        owner: key(owner),
        executable: false,
        data,
    }
}

struct Fixture {
    server: SolanaTestServer,
    adapter: Arc<dyn ProtocolAdapter>,
}

async fn fixture(dir: &std::path::Path) -> Fixture {
    let keel = dir.join("solana/kamino/from_keel-fi_svm-alm-controller");
    let server = SolanaTestServer::start().await.expect("server");
    server.set_slot(SLOT);
    server.set_unix_timestamp(NOW);
    for file in [
        keel.join("kamino_main_market@918013d2.json"),
        keel.join("kamino_usdc_reserve@918013d2.json"),
        keel.join("kamino_usdc_reserve_scope_config_price_feed@88765f29.json"),
        dir.join("solana/kamino/from_marginfi-v2/kamino_usdc_obligation.json"),
    ] {
        let (k, owner, data) = support::load_json(&file);
        server.insert(key(&k), acct(&owner, data));
    }
    // The SOL reserve (its keel-fi test literal records no address; its lending market is the
    // main market and its mint wrapped SOL, as the main market's SOL reserve d4A2…).
    server.insert(
        key(SOL_RESERVE),
        acct(
            PROGRAM,
            support::load(&keel.join("Reserve_RAW_SOL_RESERVE_B64_0df17576@6f14163d.b64")),
        ),
    );
    server.insert(
        Pubkey::new_unique(),
        acct(
            PROGRAM,
            support::load(&keel.join("Obligation_RAW_OBLIGATION_B64_9da7336e@c6d70aa7.b64")),
        ),
    );
    let spec = DeploymentSpec {
        protocol: ProtocolId::new("kamino").expect("id"),
        kind: None,
        chain: chain(),
        market: MarketId("main".into()),
        params: serde_json::json!({
            "program_id": PROGRAM,
            "lending_market": MARKET,
            "scope_program": SCOPE,
            "scope_prices": ["3NJYftD5sjVfxSnUdZ1wVML8f3aC6mp1CXCL6L7TnU8C"],
            "risk_keys": { "USDC": "USD" },
        }),
    };
    Fixture {
        server,
        adapter: KaminoFactory.build(&spec).expect("adapter"),
    }
}

impl Fixture {
    async fn snapshot(
        &self,
        owner: &str,
    ) -> Result<unimargin_schema::ProtocolSnapshot, AdapterError> {
        let client = self
            .server
            .client(chain(), SolanaSettings::default())
            .expect("client");
        let reader = ChainReader::Solana(client.pin().await.expect("pin"));
        self.adapter
            .snapshot(&reader, &AccountId::new(chain(), owner).expect("account"))
            .await
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

#[tokio::test]
async fn borrower_health_recomputed_at_the_read_slot() {
    let Some(dir) = support::vectors("borrower_health_recomputed_at_the_read_slot") else {
        return;
    };
    let f = fixture(&dir).await;
    f.server.reset_requests();
    let snap = f.snapshot(BORROWER).await.expect("snapshot");
    let requests = f.server.requests();
    eprintln!("requests per profile: {} {requests:?}", requests.len());
    // Pin (getSlot, Clock), then obligations ∥ market + Scope, then the two reserves.
    assert_eq!(requests.len(), 5);
    assert_eq!(
        requests
            .iter()
            .filter(|r| *r == "getProgramAccounts")
            .count(),
        1
    );

    let two60 = 2f64.powi(60);
    // SOL deposit: supply = 576_438_315_861_112 + 5_235_401_…_750 / 2^60 − 11_918_939_…_828 / 2^60;
    // 32_990_512_301 cTokens × supply / 4_684_732_222_348_610 → lamports; Scope SOL = 177.81496953.
    let sol_supply = 576_438_315_861_112f64
        + 5_235_401_463_459_533_234_106_624_313_776_750f64 / two60
        - 11_918_939_084_660_235_266_979_009_752_828f64 / two60;
    let sol = 32_990_512_301f64 * sol_supply / 4_684_732_222_348_610f64 * 177.814_969_53 / 1e9;
    // USDC borrow, accrued: the reserve (slot 358_113_893) is 1_518_383 slots behind the read.
    // Utilization u = borrowed / supply; rate = u × 475 / 9500 bps below 95 %;
    // b = rate / 63_072_000; growth = 1 + n·b + n(n−1)/2·b² + n(n−1)(n−2)/6·b³, where klend
    // computes b² in 60-bit fixed point: b ≈ 7e-10, b² ≈ 5e-19 < 2^-60, so b² and b³ are 0.
    let borrowed = 447_756_402_854_410_582_726_258_233_205_837f64 / two60;
    let usdc_supply =
        77_125_963_489_056f64 + borrowed - 1_017_963_188_633_422_588_777_152_961_653f64 / two60;
    let rate = borrowed / usdc_supply * 0.05;
    let (n, b) = (1_518_383f64, rate / 63_072_000f64);
    assert!(b * b < 2f64.powi(-60));
    let growth = 1.0 + n * b;
    // Debt = stored × (reserve rate × growth / obligation rate); Scope USDC = 0.99982513.
    let debt_units = 4_633_248_354_245_924_818_937_318_670f64 / two60
        * (1_406_589_000_599_910_376f64 * growth)
        / 1_405_793_378_875_487_704f64;
    let debt = debt_units * 0.999_825_13 / 1e6;

    let sol_pos = snap
        .positions
        .iter()
        .find(|p| p.asset.symbol == "SOL")
        .expect("SOL");
    assert_eq!(sol_pos.kind, PositionKind::Supply);
    let v = |d: rust_decimal::Decimal| d.to_string().parse::<f64>().expect("f64");
    assert!(
        close(v(sol_pos.value_usd), sol, 1e-9),
        "{} vs {sol}",
        sol_pos.value_usd
    );
    assert_eq!(sol_pos.weights.initial.to_string(), "0.74");
    assert_eq!(sol_pos.weights.maintenance.to_string(), "0.75");
    assert_eq!(sol_pos.price.age_seconds, Some(10));
    let usdc = snap
        .positions
        .iter()
        .find(|p| p.asset.symbol == "USDC")
        .expect("USDC");
    assert_eq!(usdc.kind, PositionKind::Debt);
    assert!(
        close(v(usdc.value_usd), debt, 1e-9),
        "{} vs {debt}",
        usdc.value_usd
    );
    assert_eq!(usdc.weights.initial.to_string(), "1");
    assert_eq!(usdc.asset.risk_key, "USD");

    // Health = liquidation limit / borrow-factor-adjusted debt = 0.75 × SOL / USDC debt.
    let h = snap.native_health.reproduced.finite().expect("finite");
    assert!(close(v(h), 0.75 * sol / debt, 1e-9), "{h}");
    // The obligation's stored values are from slot 357_266_816: a warning says so.
    let w = snap
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::NativeHealthMismatch)
        .expect("stale warning");
    assert!(w.message.contains("slot 357266816"), "{}", w.message);
    assert_eq!(snap.native_health.agrees, Some(false));
}

#[tokio::test]
async fn depositor_without_debt_has_infinite_health() {
    let Some(dir) = support::vectors("depositor_without_debt_has_infinite_health") else {
        return;
    };
    let f = fixture(&dir).await;
    let snap = f.snapshot(DEPOSITOR).await.expect("snapshot");
    assert_eq!(snap.positions.len(), 1);
    assert_eq!(snap.native_health.reproduced, Health::Infinite);
    assert!(!snap.native_health.liquidatable);
    // An owner with no obligation in the market has nothing.
    let snap = f
        .snapshot(&Pubkey::new_unique().to_string())
        .await
        .expect("snapshot");
    assert!(snap.positions.is_empty());
    assert_eq!(snap.warnings[0].kind, WarningKind::NoPositions);
}

#[tokio::test]
async fn a_stale_scope_price_fails_closed() {
    let Some(dir) = support::vectors("a_stale_scope_price_fails_closed") else {
        return;
    };
    let f = fixture(&dir).await;
    // Ten minutes after publication: past the SOL reserve's own 120 s maximum.
    f.server.set_unix_timestamp(NOW + 600);
    let err = f.snapshot(BORROWER).await.expect_err("stale");
    assert!(
        matches!(err, AdapterError::StalePrice { age_secs: 610, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("3NJYftD5sjVfxSnUdZ1wVML8f3aC6mp1CXCL6L7TnU8C"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_reserve_or_wrong_owner_is_an_error() {
    let Some(dir) = support::vectors("a_missing_reserve_or_wrong_owner_is_an_error") else {
        return;
    };
    let f = fixture(&dir).await;
    let keel = dir.join("solana/kamino/from_keel-fi_svm-alm-controller");
    let sol = support::load(&keel.join("Reserve_RAW_SOL_RESERVE_B64_0df17576@6f14163d.b64"));
    f.server.insert(key(SOL_RESERVE), acct(SCOPE, sol.clone()));
    let err = f.snapshot(BORROWER).await.expect_err("wrong owner");
    assert!(err.to_string().contains("owned by"), "{err}");
    f.server
        .insert(key(SOL_RESERVE), acct(PROGRAM, sol[..8000].to_vec()));
    let err = f.snapshot(BORROWER).await.expect_err("truncated");
    assert!(err.to_string().contains("8000 bytes"), "{err}");
    f.server.remove(&key(SOL_RESERVE));
    let err = f.snapshot(BORROWER).await.expect_err("missing");
    assert!(err.to_string().contains("does not exist"), "{err}");
}
