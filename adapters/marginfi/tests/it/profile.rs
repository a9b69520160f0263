//! Whole profiles through the real `RpcClient` against the loopback JSON-RPC server, with the
//! expected health computed here from marginfi's published formulas in an independent `I80F48`
//! emulation: a product is `floor(a × b / 2^48)`, a quotient `trunc(a × 2^48 / b)`, literals are
//! rounded to nearest, as the `fixed` crate the program uses defines them.

use std::sync::Arc;

use unimargin_marginfi::MarginfiFactory;
use unimargin_schema::{
    AccountId, ChainId, Decimal, FailureKind, Health, MarketId, PositionKind, ProtocolId,
};
use unimargin_sdk::{
    AdapterFactory, ChainClient, DeploymentSpec, ProtocolAdapter,
    alloy::primitives::I256,
    solana::{Pubkey, SolanaSettings, testkit::SolanaTestServer},
};

use crate::fixtures::*;

// ---- I80F48 emulation -------------------------------------------------------------------------

const ONE: i128 = 1 << 48;

pub(crate) fn int(n: i128) -> i128 {
    n << 48
}

/// floor(a × b / 2^48)
pub(crate) fn mul(a: i128, b: i128) -> i128 {
    i128::try_from(
        (I256::try_from(a).expect("in range") * I256::try_from(b).expect("in range")).asr(48),
    )
    .expect("in range")
}

/// trunc(a × 2^48 / b)
pub(crate) fn div(a: i128, b: i128) -> i128 {
    i128::try_from(
        (I256::try_from(a).expect("in range") << 48) / I256::try_from(b).expect("in range"),
    )
    .expect("in range")
}

/// A decimal literal num / den rounded to the nearest I80F48.
pub(crate) fn lit(num: i128, den: i128) -> i128 {
    ((num << 48) + den / 2) / den
}

/// The program's price with confidence interval for a Pyth price (`get_price_of_type`):
/// conf × 2.12, rejected above 10 % of the price, capped at 5 %.
pub(crate) fn pyth_price_conf(price: i64, conf: u64, expo_neg: u32) -> (i128, i128) {
    let scale = int(10i128.pow(expo_neg));
    let p = div(int(i128::from(price)), scale);
    let c = mul(div(int(i128::from(conf)), scale), lit(212, 100));
    let max = div(mul(p, int(429_496_730)), int(i128::from(u32::MAX)));
    assert!(c <= max, "fixture confidence within the 10 % default");
    (p, c.min(mul(p, lit(5, 100))))
}

/// `calc_value`: amount × weight × price / 10^decimals.
pub(crate) fn value(amount: i128, weight: i128, price: i128, decimals: u32) -> i128 {
    div(mul(mul(amount, weight), price), int(10i128.pow(decimals)))
}

fn to_dec(bits: i128) -> Decimal {
    unimargin_sdk::solana::fixed::i80f48_to_decimal(bits, unimargin_sdk::units::Rounding::Down)
        .expect("in range")
        .value
        .normalize()
}

// ---- the market -------------------------------------------------------------------------------

const NOW: i64 = 1_750_000_000;
const SLOT: u64 = 350_000_000;

fn sol_mint() -> Pubkey {
    pk("So11111111111111111111111111111111111111112")
}
fn usdc_mint() -> Pubkey {
    pk("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
}
fn sol_bank() -> Pubkey {
    Pubkey::new_from_array([0x51; 32])
}
fn usdc_bank() -> Pubkey {
    Pubkey::new_from_array([0x55; 32])
}
fn sol_feed() -> Pubkey {
    Pubkey::new_from_array([0xF1; 32])
}
fn usdc_feed() -> Pubkey {
    Pubkey::new_from_array([0xF2; 32])
}
fn alice() -> Pubkey {
    Pubkey::new_from_array([0xA1; 32])
}
fn bob() -> Pubkey {
    Pubkey::new_from_array([0xB0; 32])
}

fn sol_bank_spec() -> BankSpec {
    BankSpec {
        mint: sol_mint(),
        decimals: 9,
        asset_share_value: i80(5, 2),      // 1.25
        liability_share_value: i80(3, 1),  // 1.5
        asset_weight_init: i80(3, 2),      // 0.75
        asset_weight_maint: i80(7, 3),     // 0.875
        liability_weight_init: i80(5, 2),  // 1.25
        liability_weight_maint: i80(9, 3), // 1.125
        oracle: sol_feed(),
        oracle_max_age: 60,
        risk_tier: 0,
        total_asset_shares: int(1_000_000_000_000_000), // 10^6 SOL of shares: no init-limit effect
        total_asset_value_init_limit: 0,
    }
}

fn usdc_bank_spec() -> BankSpec {
    BankSpec {
        mint: usdc_mint(),
        decimals: 6,
        asset_share_value: i80(17, 4),    // 1.0625
        liability_share_value: i80(9, 3), // 1.125
        asset_weight_init: ONE,
        asset_weight_maint: ONE,
        liability_weight_init: i80(5, 2),  // 1.25
        liability_weight_maint: i80(9, 3), // 1.125
        oracle: usdc_feed(),
        oracle_max_age: 60,
        risk_tier: 0,
        total_asset_shares: int(1_000_000_000_000),
        total_asset_value_init_limit: 0,
    }
}

fn sol_price(publish_time: i64) -> PythSpec {
    PythSpec {
        feed_id: [0xEF; 32],
        price: 15_000_000_000, // 150.00000000
        conf: 7_500_000,       // 0.075
        exponent: -8,
        publish_time,
        ema_price: 14_950_000_000, // 149.5
        ema_conf: 10_000_000,      // 0.1
        posted_slot: SLOT - 3,
    }
}

fn usdc_price(publish_time: i64) -> PythSpec {
    PythSpec {
        feed_id: [0xEA; 32],
        price: 100_000_000, // 1.0
        conf: 50_000,       // 0.0005
        exponent: -8,
        publish_time,
        ema_price: 99_990_000, // 0.9999
        ema_conf: 60_000,      // 0.0006
        posted_slot: SLOT - 2,
    }
}

struct Env {
    server: SolanaTestServer,
    adapter: Arc<dyn ProtocolAdapter>,
    chain: ChainId,
}

async fn env() -> Env {
    let server = SolanaTestServer::start().await.expect("server");
    server.set_slot(SLOT);
    server.set_unix_timestamp(NOW);
    server.insert(sol_bank(), owned(program(), bank(&sol_bank_spec())));
    server.insert(usdc_bank(), owned(program(), bank(&usdc_bank_spec())));
    server.insert(
        sol_feed(),
        owned(pyth_receiver(), price_update(&sol_price(NOW - 5))),
    );
    server.insert(
        usdc_feed(),
        owned(pyth_receiver(), price_update(&usdc_price(NOW - 4))),
    );
    // Alice: two accounts. A1 deposits 8e9 SOL shares and borrows 800e6 USDC shares; A2 deposits
    // 1000e6 USDC shares.
    server.insert(
        Pubkey::new_from_array([0x01; 32]),
        owned(
            program(),
            marginfi_account(
                &alice(),
                &group(),
                &[
                    (sol_bank(), int(8_000_000_000), 0),
                    (usdc_bank(), 0, int(800_000_000)),
                ],
            ),
        ),
    );
    server.insert(
        Pubkey::new_from_array([0x02; 32]),
        owned(
            program(),
            marginfi_account(&alice(), &group(), &[(usdc_bank(), int(1_000_000_000), 0)]),
        ),
    );
    // Bob, near liquidation: 8e9 SOL shares against 1_030e6 USDC shares of debt.
    server.insert(
        Pubkey::new_from_array([0x03; 32]),
        owned(
            program(),
            marginfi_account(
                &bob(),
                &group(),
                &[
                    (sol_bank(), int(8_000_000_000), 0),
                    (usdc_bank(), 0, int(1_030_000_000)),
                ],
            ),
        ),
    );
    // Noise the filters must exclude: Alice in another group, and a non-account of the program.
    server.insert(
        Pubkey::new_from_array([0x04; 32]),
        owned(
            program(),
            marginfi_account(
                &alice(),
                &Pubkey::new_from_array([9; 32]),
                &[(sol_bank(), int(1), 0)],
            ),
        ),
    );
    let chain = ChainId::solana("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").expect("chain");
    let spec = DeploymentSpec {
        protocol: ProtocolId::new("marginfi").expect("id"),
        kind: Some("marginfi".into()),
        chain: chain.clone(),
        market: MarketId("main".into()),
        params: serde_json::json!({
            "program_id": program().to_string(),
            "group": group().to_string(),
            "symbols": {sol_mint().to_string(): "SOL", usdc_mint().to_string(): "USDC"},
            "risk_keys": {"USDC": "USD"},
        }),
    };
    let adapter = MarginfiFactory.build(&spec).expect("adapter");
    Env {
        server,
        adapter,
        chain,
    }
}

impl Env {
    async fn snapshot(
        &self,
        owner: &Pubkey,
    ) -> Result<unimargin_schema::ProtocolSnapshot, unimargin_sdk::AdapterError> {
        let client = self
            .server
            .client(self.chain.clone(), SolanaSettings::default())?;
        let reader = ChainClient::Solana(Arc::new(client)).pin().await?;
        let account = AccountId::new(self.chain.clone(), &owner.to_string()).expect("account");
        self.adapter.snapshot(&reader, &account).await
    }
}

#[tokio::test]
async fn several_accounts_deposit_and_borrow_match_hand_computed_health() {
    let env = env().await;
    let s = env.snapshot(&alice()).await.expect("snapshot");

    // Maintenance, account A1.
    //   SOL amount = 8e9 shares × 1.25 = 10e9 lamports (exact).
    //   SOL price 150, conf = 0.075 × 2.12 = 0.159 (< 5 % cap 7.5) → asset price 150 − 0.159.
    let (p_sol, c_sol) = pyth_price_conf(15_000_000_000, 7_500_000, 8);
    let sol_amount = mul(int(8_000_000_000), i80(5, 2));
    assert_eq!(sol_amount, int(10_000_000_000));
    let a1_assets = value(sol_amount, i80(7, 3), p_sol - c_sol, 9); // ≈ 10 × 149.841 × 0.875 = 1311.10875
    //   USDC debt = 800e6 shares × 1.125 = 900e6; price 1 + 0.0005 × 2.12 = 1.00106; weight 1.125.
    let (p_usdc, c_usdc) = pyth_price_conf(100_000_000, 50_000, 8);
    let usdc_debt = mul(int(800_000_000), i80(9, 3));
    let a1_liabs = value(usdc_debt, i80(9, 3), p_usdc + c_usdc, 6); // ≈ 900 × 1.00106 × 1.125 = 1013.57325
    let a1 = Pubkey::new_from_array([0x01; 32]);
    let f = &s.native_health.figures;
    assert_eq!(
        f[&format!("{a1}.maint.health_i80f48_bits")],
        (a1_assets - a1_liabs).to_string()
    );
    assert_eq!(
        f[&format!("{a1}.maint.assets_usd")],
        to_dec(a1_assets).to_string()
    );
    assert!(
        (to_dec(a1_assets) - Decimal::from_str_exact("1311.10875").expect("in range")).abs()
            < Decimal::new(1, 9)
    );
    assert!(
        (to_dec(a1_liabs) - Decimal::from_str_exact("1013.57325").expect("in range")).abs()
            < Decimal::new(1, 9)
    );

    // Initial, account A1: EMA prices 149.5 ± 0.1 × 2.12 and initial weights 0.75 / 1.25.
    let (e_sol, ec_sol) = pyth_price_conf(14_950_000_000, 10_000_000, 8);
    let (e_usdc, ec_usdc) = pyth_price_conf(99_990_000, 60_000, 8);
    let a1_init = value(sol_amount, i80(3, 2), e_sol - ec_sol, 9)
        - value(usdc_debt, i80(5, 2), e_usdc + ec_usdc, 6);
    assert_eq!(
        f[&format!("{a1}.init.health_i80f48_bits")],
        a1_init.to_string()
    );

    // Account A2: 1000e6 × 1.0625 = 1062.5 USDC at 1 − 0.00106, weight 1; no liabilities.
    let a2 = Pubkey::new_from_array([0x02; 32]);
    let a2_assets = value(mul(int(1_000_000_000), i80(17, 4)), ONE, p_usdc - c_usdc, 6);
    assert_eq!(
        f[&format!("{a2}.maint.health_i80f48_bits")],
        a2_assets.to_string()
    );

    // The snapshot's health is the weaker account's ratio: A1 (A2 has no debt).
    let ratio = Health::ratio(
        to_dec(a1_assets),
        unimargin_sdk::solana::fixed::i80f48_to_decimal(
            a1_liabs,
            unimargin_sdk::units::Rounding::Up,
        )
        .expect("in range")
        .value,
    );
    assert_eq!(s.native_health.reproduced, ratio);
    assert!(!s.native_health.liquidatable);

    // Positions: amounts exact, prices unbiased, weights as configured.
    assert_eq!(s.positions.len(), 3);
    let sol = s
        .positions
        .iter()
        .find(|p| p.asset.symbol == "SOL")
        .expect("SOL");
    assert_eq!(
        (sol.kind, sol.amount, sol.price.usd),
        (PositionKind::Supply, Decimal::from(10), Decimal::from(150))
    );
    assert_eq!(
        (sol.weights.initial, sol.weights.maintenance),
        (Decimal::new(75, 2), Decimal::new(875, 3))
    );
    assert_eq!(sol.price.age_seconds, Some(5));
    assert!(sol.counts_as_collateral);
    let debt = s
        .positions
        .iter()
        .find(|p| p.kind == PositionKind::Debt)
        .expect("debt");
    assert_eq!(
        (
            debt.asset.symbol.as_str(),
            debt.amount,
            debt.asset.risk_key.as_str()
        ),
        ("USDC", Decimal::from(900), "USD")
    );
    assert_eq!(debt.weights.maintenance, Decimal::new(1125, 3));
    let usdc = s
        .positions
        .iter()
        .find(|p| p.asset.symbol == "USDC" && p.kind == PositionKind::Supply)
        .expect("USDC supply");
    assert_eq!(usdc.amount, Decimal::new(10625, 1));
    // The other group's account is not read.
    assert!(
        !s.provenance
            .sources
            .iter()
            .any(|src| src.ends_with(&Pubkey::new_from_array([0x04; 32]).to_string()))
    );
    assert_eq!(
        s.provenance.read_point,
        unimargin_schema::ReadPoint::Slot {
            slot: SLOT,
            timestamp: Some(NOW as u64)
        }
    );
}

#[tokio::test]
async fn near_liquidation_and_liquidatable_accounts() {
    let env = env().await;
    let s = env.snapshot(&bob()).await.expect("snapshot");
    // Assets as A1 (1311.10875); debt 1_030e6 × 1.125 = 1158.75 USDC × 1.00106 × 1.125 = 1304.9854...
    let (p_sol, c_sol) = pyth_price_conf(15_000_000_000, 7_500_000, 8);
    let (p_usdc, c_usdc) = pyth_price_conf(100_000_000, 50_000, 8);
    let assets = value(int(10_000_000_000), i80(7, 3), p_sol - c_sol, 9);
    let liabs = value(
        mul(int(1_030_000_000), i80(9, 3)),
        i80(9, 3),
        p_usdc + c_usdc,
        6,
    );
    let health = assets - liabs;
    assert!(
        health > 0 && health < int(7),
        "about 6.12 USD above maintenance"
    );
    let Health::Finite(r) = s.native_health.reproduced else {
        panic!("finite health expected")
    };
    assert!(
        r > Decimal::ONE && r < Decimal::new(1005, 3),
        "near liquidation: {r}"
    );
    assert!(!s.native_health.liquidatable);

    // SOL drops to 149: 10 × (149 − 0.15794…) × 0.875 < 1304.99 → liquidatable.
    let mut lower = sol_price(NOW - 5);
    lower.price = 14_900_000_000;
    env.server
        .insert(sol_feed(), owned(pyth_receiver(), price_update(&lower)));
    let s = env.snapshot(&bob()).await.expect("snapshot");
    assert!(s.native_health.liquidatable);
    assert!(s.native_health.reproduced < Health::Finite(Decimal::ONE));
}

#[tokio::test]
async fn a_profile_costs_five_requests() {
    let env = env().await;
    env.snapshot(&alice()).await.expect("snapshot");
    // Pin: getSlot + Clock; adapter: owner's accounts, their banks, the banks' oracles.
    assert_eq!(
        env.server.requests(),
        [
            "getSlot",
            "getMultipleAccounts",
            "getProgramAccounts",
            "getMultipleAccounts",
            "getMultipleAccounts"
        ]
    );
}

#[tokio::test]
async fn a_stale_oracle_fails_closed_naming_the_feed() {
    let env = env().await;
    // Published 61 s before the slot's clock; the bank allows 60 s.
    env.server.insert(
        sol_feed(),
        owned(pyth_receiver(), price_update(&sol_price(NOW - 61))),
    );
    let err = env.snapshot(&alice()).await.expect_err("stale");
    assert_eq!(err.failure_kind(), FailureKind::StalePrice);
    assert!(err.to_string().contains(&sol_feed().to_string()), "{err}");
}

#[tokio::test]
async fn a_too_uncertain_price_fails_closed() {
    let env = env().await;
    let mut wide = sol_price(NOW - 5);
    wide.conf = 800_000_000; // 8 × 2.12 = 16.96 > 10 % of 150
    env.server
        .insert(sol_feed(), owned(pyth_receiver(), price_update(&wide)));
    let err = env.snapshot(&alice()).await.expect_err("uncertain");
    assert_eq!(err.failure_kind(), FailureKind::MissingPrice, "{err}");
}

#[tokio::test]
async fn wrong_owner_and_truncated_accounts_are_typed_errors() {
    let env = env().await;
    // A bank owned by another program (the localnet id the test vectors were re-owned to).
    env.server.insert(
        sol_bank(),
        owned(
            pk("2jGhuVUuy3umdzByFx8sNWUAaf5vaeuDm78RDPEnhrMr"),
            bank(&sol_bank_spec()),
        ),
    );
    let err = env.snapshot(&alice()).await.expect_err("wrong owner");
    assert_eq!(err.failure_kind(), FailureKind::MalformedReply);
    assert!(err.to_string().contains("is owned by 2jGhu"), "{err}");
    // A truncated bank.
    let mut short = bank(&sol_bank_spec());
    short.pop();
    env.server.insert(sol_bank(), owned(program(), short));
    let err = env.snapshot(&alice()).await.expect_err("truncated");
    assert!(
        err.to_string().contains("has 1863 bytes, expected 1864"),
        "{err}"
    );
    // A price account that is not a PriceUpdateV2.
    env.server
        .insert(sol_bank(), owned(program(), bank(&sol_bank_spec())));
    env.server.insert(
        sol_feed(),
        owned(pyth_receiver(), bank(&sol_bank_spec())[..134].to_vec()),
    );
    let err = env
        .snapshot(&alice())
        .await
        .expect_err("wrong discriminator");
    assert!(err.to_string().contains("is not a PriceUpdateV2"), "{err}");
    // A missing oracle.
    env.server.remove(&sol_feed());
    let err = env.snapshot(&alice()).await.expect_err("missing");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn an_owner_without_accounts_has_no_positions() {
    let env = env().await;
    let s = env
        .snapshot(&Pubkey::new_from_array([0xCC; 32]))
        .await
        .expect("snapshot");
    assert!(s.positions.is_empty());
    assert_eq!(s.native_health.reproduced, Health::Infinite);
    assert_eq!(
        env.server
            .requests()
            .iter()
            .filter(|m| *m == "getMultipleAccounts")
            .count(),
        1,
        "only the pin's Clock read"
    );
}
