//! The adapter end to end: the real `RpcClient` code path against the SDK's loopback JSON-RPC
//! server, serving Drift's own mainnet fixtures at their mainnet addresses and owners. Expected
//! numbers are worked out by hand from Drift's formulas.

use std::sync::Arc;

use rust_decimal::Decimal;
use unimargin_drift::{DriftFactory, pda};
use unimargin_schema::{
    AccountId, ChainId, Health, MarketId, PositionKind, ProtocolId, Side, WarningKind,
};
use unimargin_sdk::{
    AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    solana::{Pubkey, RawAccount, SolanaSettings, testkit::SolanaTestServer},
};

use crate::{
    margin::{DUST_NOW, DUST_SLOT, dust},
    support::{self, Idl},
};

const PROGRAM: &str = "dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH";
/// Owner of Drift's `PriceUpdateV2` accounts on mainnet (the vectors' `owner_in_source`).
const DRIFT_ORACLE_RECEIVER: &str = "G6EoTTTgpkNBtVXo96EQp2m6uwwVh2Kt6YidjkmQqoha";
const SWITCHBOARD: &str = "SBondMDrcV3K4kxZR1HNVT7osZxAHVHgYXL5Ze1oMUv";
const DUST_AUTHORITY: &str = "neD7yjBt3ch5BrdaWSxFLPUqz8DhXNd78ofWfMTvnZj";

fn chain() -> ChainId {
    ChainId::solana("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").expect("mainnet-beta")
}

fn key(s: &str) -> Pubkey {
    s.parse().expect("pubkey")
}

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("decimal")
}

fn acct(owner: &str, data: Vec<u8>) -> RawAccount {
    RawAccount {
        lamports: 1_000_000,
        owner: key(owner),
        executable: false,
        data,
    }
}

fn put_u64(data: &mut [u8], at: usize, v: u64) {
    data[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_i64(data: &mut [u8], at: usize, v: i64) {
    data[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn offset(idl: &Idl, ty: &str, field: &str) -> usize {
    idl.fields(ty)
        .into_iter()
        .find(|(n, _)| n == field)
        .unwrap_or_else(|| panic!("{ty}.{field}"))
        .1
}

/// A `State` account written from the IDL's offsets: Drift's mainnet validity guard rails
/// (120 slots for margin, 2 % confidence, a 5× move from TWAP).
fn state_account(idl: &Idl) -> Vec<u8> {
    let mut data = vec![0u8; 8 + idl.size("State")];
    data[..8].copy_from_slice(
        &<unimargin_drift::layout::State as unimargin_drift::layout::AnchorAccount>::DISCRIMINATOR,
    );
    let rails =
        8 + offset(idl, "State", "oracleGuardRails") + offset(idl, "OracleGuardRails", "validity");
    put_i64(
        &mut data,
        rails + offset(idl, "ValidityGuardRails", "slotsBeforeStaleForAmm"),
        10,
    );
    put_i64(
        &mut data,
        rails + offset(idl, "ValidityGuardRails", "slotsBeforeStaleForMargin"),
        120,
    );
    put_u64(
        &mut data,
        rails + offset(idl, "ValidityGuardRails", "confidenceIntervalMaxSize"),
        20_000,
    );
    put_i64(
        &mut data,
        rails + offset(idl, "ValidityGuardRails", "tooVolatileRatio"),
        5,
    );
    data
}

struct Fixture {
    server: SolanaTestServer,
    adapter: Arc<dyn ProtocolAdapter>,
    state: Pubkey,
    idl: Idl,
}

async fn fixture(dir: &std::path::Path) -> Fixture {
    let idl = Idl::load(&dir.join("solana/drift/idl/drift.json"));
    let server = SolanaTestServer::start().await.expect("server");
    server.set_slot(DUST_SLOT);
    server.set_unix_timestamp(DUST_NOW);
    let s = dust(dir);
    let state = Pubkey::new_unique();
    server.insert(state, acct(PROGRAM, state_account(&idl)));
    server.insert(
        key("4U5qwCPc3fVfNjFpoLnBjtDNgbcyStpjmGuQiVgPQfdE"),
        acct(PROGRAM, s.user),
    );
    server.insert(
        key("6gMq3mRCKf8aP3ttTyYhuijVZ2LGi14oDsBbkgubfLB3"),
        acct(PROGRAM, s.usdc),
    );
    server.insert(
        key("3x85u7SWkmmr7YQGYhtjARgxwegTLJgkSLRprfXod6rh"),
        acct(PROGRAM, s.sol),
    );
    server.insert(
        key("54Ai4NTZmPgsT4kUr1w4zFbh33JaC34ptvvvByamsaSw"),
        acct(PROGRAM, s.wbtc),
    );
    server.insert(
        key("9Tq8iN5WnMX2PcZGj4iSFEAgHCi8cM6x8LsDUbuzq8uw"),
        acct(DRIFT_ORACLE_RECEIVER, s.oracle_wbtc),
    );
    server.insert(
        key("En8hkHLkRe9d9DraYmBTrus518BvmVH448YcvmrFM6Ce"),
        acct(DRIFT_ORACLE_RECEIVER, s.oracle_usdc),
    );
    server.insert(
        key("BAtFj4kQttZRVep3UZS2aZRDixkGYgWsbqTBVDbnSsPF"),
        acct(DRIFT_ORACLE_RECEIVER, s.oracle_sol),
    );
    // SOL-PERP (market 0) from Drift's "big_lp" test; its oracle is the same SOL feed.
    let sol_perp =
        support::load(&dir.join("solana/drift/perp_market/perp_market_0_SOL-PERP_66cc4cae.b64"));
    server.insert(
        key("8UJgxaiQx5nTrdDgph5FiahMmzduuLTLf5WmsPegYA6W"),
        acct(PROGRAM, sol_perp),
    );
    let spec = DeploymentSpec {
        protocol: ProtocolId::new("drift").expect("id"),
        kind: None,
        chain: chain(),
        market: MarketId("main".into()),
        params: serde_json::json!({
            "program_id": PROGRAM,
            "state": state.to_string(),
            "pyth_receiver_program": DRIFT_ORACLE_RECEIVER,
            "switchboard_program": SWITCHBOARD,
            "max_sub_accounts": 4,
            "max_oracle_age_secs": 120,
            "risk_keys": { "wBTC": "BTC" },
        }),
    };
    let adapter = DriftFactory.build(&spec).expect("adapter");
    Fixture {
        server,
        adapter,
        state,
        idl,
    }
}

impl Fixture {
    async fn snapshot(
        &self,
        authority: &Pubkey,
    ) -> Result<unimargin_schema::ProtocolSnapshot, AdapterError> {
        let client = self
            .server
            .client(chain(), SolanaSettings::default())
            .expect("client");
        let reader = ChainReader::Solana(client.pin().await.expect("pin"));
        let account = AccountId::new(chain(), &authority.to_string()).expect("account");
        self.adapter.snapshot(&reader, &account).await
    }

    /// A sub-account of `authority` built by rewriting a real user account at the IDL's
    /// offsets: its spot positions replaced by one USDC deposit, its perp positions by one
    /// SOL-PERP position with no funding owed.
    fn synthetic_user(
        &self,
        dir: &std::path::Path,
        authority: &Pubkey,
        id: u16,
        usdc_scaled: u64,
        base: i64,
        quote: i64,
    ) {
        let idl = &self.idl;
        let mut data = dust(dir).user;
        let at = |f: &str| 8 + offset(idl, "User", f);
        data[at("authority")..at("authority") + 32].copy_from_slice(&authority.to_bytes());
        data[at("subAccountId")..at("subAccountId") + 2].copy_from_slice(&id.to_le_bytes());
        data[at("status")] = 0;
        data[at("maxMarginRatio")..at("maxMarginRatio") + 4].fill(0);
        let spot_size = idl.size("SpotPosition");
        let perp_size = idl.size("PerpPosition");
        let spots = at("spotPositions");
        data[spots..spots + 8 * spot_size].fill(0);
        put_u64(
            &mut data,
            spots + offset(idl, "SpotPosition", "scaledBalance"),
            usdc_scaled,
        );
        let perps = at("perpPositions");
        data[perps..perps + 8 * perp_size].fill(0);
        // No funding owed: the position's last rate is the market's current cumulative rate.
        let market = support::load(
            &dir.join("solana/drift/perp_market/perp_market_0_SOL-PERP_66cc4cae.b64"),
        );
        let amm = 8 + offset(idl, "PerpMarket", "amm");
        let field = if base > 0 {
            "cumulativeFundingRateLong"
        } else {
            "cumulativeFundingRateShort"
        };
        let rate_at = amm + offset(idl, "AMM", field);
        let rate = i128::from_le_bytes(market[rate_at..rate_at + 16].try_into().expect("16 bytes"));
        put_i64(
            &mut data,
            perps + offset(idl, "PerpPosition", "lastCumulativeFundingRate"),
            rate as i64,
        );
        put_i64(
            &mut data,
            perps + offset(idl, "PerpPosition", "baseAssetAmount"),
            base,
        );
        put_i64(
            &mut data,
            perps + offset(idl, "PerpPosition", "quoteAssetAmount"),
            quote,
        );
        put_i64(
            &mut data,
            perps + offset(idl, "PerpPosition", "quoteEntryAmount"),
            quote,
        );
        let program = key(PROGRAM);
        self.server
            .insert(pda::user(&program, authority, id), acct(PROGRAM, data));
    }
}

#[tokio::test]
async fn mainnet_user_being_liquidated_end_to_end() {
    let Some(dir) = support::vectors("mainnet_user_being_liquidated_end_to_end") else {
        return;
    };
    let f = fixture(&dir).await;
    f.server.reset_requests();
    let snap = f.snapshot(&key(DUST_AUTHORITY)).await.expect("snapshot");

    // Requests: getSlot and the Clock sysvar to pin, then three getMultipleAccounts rounds
    // (State + quote market + 4 user PDAs; SOL and wBTC markets; their three oracles).
    let requests = f.server.requests();
    eprintln!("requests per profile: {} {requests:?}", requests.len());
    assert_eq!(
        requests,
        [
            "getSlot",
            "getMultipleAccounts",
            "getMultipleAccounts",
            "getMultipleAccounts",
            "getMultipleAccounts"
        ]
    );

    assert_eq!(snap.positions.len(), 2);
    let sol = snap
        .positions
        .iter()
        .find(|p| p.asset.symbol == "SOL")
        .expect("SOL");
    assert_eq!(sol.kind, PositionKind::Supply);
    // 5915 lamports at $190.997187: 5915 × 190_997_187 / 1e9 = 1129 → $0.001129.
    assert_eq!(sol.amount, d("0.000005915"));
    assert_eq!(sol.price.usd, d("190.997187"));
    assert_eq!(sol.value_usd, d("0.001129"));
    // Initial 0.8, maintenance 0.9 (no size discount at this size).
    assert_eq!(
        (sol.weights.initial, sol.weights.maintenance),
        (d("0.8"), d("0.9"))
    );
    // Published at 1_734_721_506, read at 1_734_721_516: 10 s old.
    assert_eq!(sol.price.age_seconds, Some(10));
    assert_eq!(sol.price.source.oracle, "pyth-pull");

    let btc = snap
        .positions
        .iter()
        .find(|p| p.asset.symbol == "wBTC")
        .expect("wBTC");
    assert_eq!((btc.kind, btc.side), (PositionKind::Debt, Side::Short));
    // ceil(2 × 10_156_806_173 / 1e11) = 1 satoshi, worth 967 (truncated) → $0.000967.
    assert_eq!(btc.amount, d("0.00000001"));
    assert_eq!(btc.value_usd, d("0.000967"));
    assert_eq!(
        (btc.weights.initial, btc.weights.maintenance),
        (d("1.2"), d("1.1"))
    );
    assert_eq!(btc.asset.risk_key, "BTC");

    // Drift's maintenance margin: 1016 of collateral against 1063 of requirement.
    let h = &snap.native_health;
    assert_eq!(h.reproduced, Health::ratio(d("0.001016"), d("0.001063")));
    assert!(h.liquidatable);
    assert_eq!(h.figures["sub0.total_collateral_maintenance"], "1016");
    assert_eq!(h.figures["sub0.maintenance_requirement"], "1063");
    assert_eq!(h.figures["sub0.total_collateral_initial"], "903");
    assert_eq!(h.figures["sub0.initial_requirement"], "1160");
    assert_eq!(h.figures["sub0.health"], "0");
    assert_eq!(h.figures["sub0.being_liquidated"], "true");
}

#[tokio::test]
async fn several_sub_accounts_with_perp_long_and_short() {
    let Some(dir) = support::vectors("several_sub_accounts_with_perp_long_and_short") else {
        return;
    };
    let f = fixture(&dir).await;
    let authority = Pubkey::new_unique();
    // Sub-account 0: 1000e9 scaled USDC, long 2 SOL entered at $150.
    f.synthetic_user(
        &dir,
        &authority,
        0,
        1_000_000_000_000,
        2_000_000_000,
        -300_000_000,
    );
    // Sub-account 2 (1 is unused, so it does not exist): 1e9 scaled USDC, short 1 SOL at $200.
    f.synthetic_user(
        &dir,
        &authority,
        2,
        1_000_000_000,
        -1_000_000_000,
        200_000_000,
    );
    let snap = f.snapshot(&authority).await.expect("snapshot");
    let h = &snap.native_health;

    // Sub-account 0. USDC: 1000e9 × 11_235_976_377 / 1e13 = 1_123_597_637 ($1123.597637).
    // SOL-PERP at $190.997187: value 2e9 × 190_997_187 / 1e9 = 381_994_374; PnL
    // 381_994_374 − 300_000_000 = 81_994_374 (maintenance PnL weight 1).
    // Collateral 1_123_597_637 + 81_994_374 = 1_205_592_011.
    // Margin ratio: 500, the size premium 400 + sqrt(2e10 + 1) × 200 / 1e7 = 400 + 2 = 402 being
    // lower; requirement 381_994_374 × 500 / 1e4 = 19_099_718.
    assert_eq!(h.figures["sub0.total_collateral_maintenance"], "1205592011");
    assert_eq!(h.figures["sub0.maintenance_requirement"], "19099718");
    // Sub-account 2. USDC 1e9 × 11_235_976_377 / 1e13 = 1_123_597; PnL −190_997_187 + 200_000_000
    // = 9_002_813; collateral 10_126_410; requirement 190_997_187 × 500 / 1e4 = 9_549_859.
    assert_eq!(h.figures["sub2.total_collateral_maintenance"], "10126410");
    assert_eq!(h.figures["sub2.maintenance_requirement"], "9549859");
    // Health: round(100 × (1 − 9_549_859 / 10_126_410)) = round(5.69) = 6.
    assert_eq!(h.figures["sub2.health"], "6");
    assert!(!h.figures.keys().any(|k| k.starts_with("sub1.")));
    // The native health is the worse sub-account's.
    assert_eq!(h.reproduced, Health::ratio(d("10.126410"), d("9.549859")));
    assert!(!h.liquidatable);

    let perps: Vec<_> = snap
        .positions
        .iter()
        .filter(|p| p.kind == PositionKind::Perp)
        .collect();
    assert_eq!(perps.len(), 2);
    let long = perps.iter().find(|p| p.side == Side::Long).expect("long");
    let short = perps.iter().find(|p| p.side == Side::Short).expect("short");
    assert_eq!(long.amount, d("2"));
    assert_eq!(long.value_usd, d("381.994374"));
    let ld = long.perp.as_ref().expect("details");
    assert_eq!(ld.unrealized_pnl_usd, d("81.994374"));
    assert_eq!(ld.entry_price, d("150"));
    // Initial 10 %, maintenance 5 %.
    assert_eq!(
        (long.weights.initial, long.weights.maintenance),
        (d("0.1"), d("0.05"))
    );
    let sd = short.perp.as_ref().expect("details");
    assert_eq!(sd.unrealized_pnl_usd, d("9.002813"));
    // Free collateral 10_126_410 − 9_549_859 = 576_551; each $1 up costs 1 × 1.05:
    // 576_551 × 1e6 / −1_050_000 = −549_096 → 190_997_187 + 549_096 = 191_546_283.
    assert_eq!(sd.liquidation_price, Some(d("191.546283")));
    // The long: free collateral 1_205_592_011 − 19_099_718 = 1_186_492_293 over 2 × 0.95:
    // 1_186_492_293 × 1e6 / 1_900_000 = 624_469_627 > price → no liquidation price.
    assert_eq!(ld.liquidation_price, None);
    let usdc: Vec<_> = snap
        .positions
        .iter()
        .filter(|p| p.asset.symbol == "USDC")
        .collect();
    assert_eq!(usdc.len(), 2);
}

#[tokio::test]
async fn an_authority_without_sub_accounts_has_no_positions() {
    let Some(dir) = support::vectors("an_authority_without_sub_accounts_has_no_positions") else {
        return;
    };
    let f = fixture(&dir).await;
    let snap = f.snapshot(&Pubkey::new_unique()).await.expect("snapshot");
    assert!(snap.positions.is_empty());
    assert_eq!(snap.native_health.reproduced, Health::Infinite);
    assert_eq!(snap.warnings[0].kind, WarningKind::NoPositions);
}

#[tokio::test]
async fn a_stale_oracle_fails_closed_naming_the_feed() {
    let Some(dir) = support::vectors("a_stale_oracle_fails_closed_naming_the_feed") else {
        return;
    };
    let f = fixture(&dir).await;
    // 200 slots later the SOL update (posted at 308_728_648) is 216 slots old, past Drift's 120
    // for margin. The user holds SOL and wBTC only; SOL, market 1, is checked first.
    f.server.set_slot(DUST_SLOT + 200);
    let err = f.snapshot(&key(DUST_AUTHORITY)).await.expect_err("stale");
    match &err {
        AdapterError::StalePrice { feed, .. } => {
            assert!(
                feed.contains("BAtFj4kQttZRVep3UZS2aZRDixkGYgWsbqTBVDbnSsPF (216 slots old"),
                "{err}"
            )
        }
        other => panic!("expected a stale price, got {other}"),
    }
    // Fresh in slots but 10 minutes old by the clock: the configured 120 s guard refuses it.
    f.server.set_slot(DUST_SLOT);
    f.server.set_unix_timestamp(DUST_NOW + 600);
    let err = f.snapshot(&key(DUST_AUTHORITY)).await.expect_err("stale");
    assert!(
        matches!(
            err,
            AdapterError::StalePrice {
                max_age_secs: 120,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.failure_kind(),
        unimargin_schema::FailureKind::StalePrice
    );
}

#[tokio::test]
async fn wrong_owner_and_truncated_accounts_are_errors_not_numbers() {
    let Some(dir) = support::vectors("wrong_owner_and_truncated_accounts_are_errors_not_numbers")
    else {
        return;
    };
    let f = fixture(&dir).await;
    let s = dust(&dir);
    // The SOL market served as if another program owned it.
    f.server.insert(
        key("3x85u7SWkmmr7YQGYhtjARgxwegTLJgkSLRprfXod6rh"),
        acct(SWITCHBOARD, s.sol.clone()),
    );
    let err = f
        .snapshot(&key(DUST_AUTHORITY))
        .await
        .expect_err("wrong owner");
    assert!(
        matches!(err, AdapterError::Malformed { .. }) && err.to_string().contains("owned by"),
        "{err}"
    );
    // A truncated user account.
    f.server.insert(
        key("3x85u7SWkmmr7YQGYhtjARgxwegTLJgkSLRprfXod6rh"),
        acct(PROGRAM, s.sol),
    );
    f.server.insert(
        key("4U5qwCPc3fVfNjFpoLnBjtDNgbcyStpjmGuQiVgPQfdE"),
        acct(PROGRAM, s.user[..4000].to_vec()),
    );
    let err = f
        .snapshot(&key(DUST_AUTHORITY))
        .await
        .expect_err("truncated");
    assert!(err.to_string().contains("4000 bytes"), "{err}");
    // A missing oracle is a missing price.
    f.server.insert(
        key("4U5qwCPc3fVfNjFpoLnBjtDNgbcyStpjmGuQiVgPQfdE"),
        acct(PROGRAM, dust(&dir).user),
    );
    f.server
        .remove(&key("9Tq8iN5WnMX2PcZGj4iSFEAgHCi8cM6x8LsDUbuzq8uw"));
    let err = f
        .snapshot(&key(DUST_AUTHORITY))
        .await
        .expect_err("missing oracle");
    assert!(matches!(err, AdapterError::MissingPrice { .. }), "{err}");
    let _ = f.state;
}

#[tokio::test]
async fn an_unused_market_with_a_stale_oracle_does_not_fail_the_profile() {
    let Some(dir) =
        support::vectors("an_unused_market_with_a_stale_oracle_does_not_fail_the_profile")
    else {
        return;
    };
    let f = fixture(&dir).await;
    // The quote market is always read; an authority without sub-accounts does not use it, so
    // its oracle being 1000 slots old is no reason to fail.
    f.server.set_slot(DUST_SLOT + 1000);
    let snap = f.snapshot(&Pubkey::new_unique()).await.expect("snapshot");
    assert!(snap.positions.is_empty());
}
