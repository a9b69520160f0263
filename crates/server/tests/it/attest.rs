//! Signed profiles: the attestation's numbers, its signature recomputed from the typed-data JSON
//! alone, the verifier endpoint (valid, replayed, tampered, expired) and the Solidity verifier on
//! anvil called with a signature the server produced.

use std::{str::FromStr, sync::Arc, time::Duration};

use alloy::{
    dyn_abi::TypedData,
    primitives::{Address, B256, Bytes, I256, U256, keccak256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use axum::{Router, http::StatusCode};
use serde_json::{Value, json};
use unimargin_cache::MemoryCache;
use unimargin_cache::testkit::RedisServer;
use unimargin_sdk::{evm::EvmSettings, testkit::TestChain};
use unimargin_server::{
    AppState, AttestationSettings, Attestor, ServerSettings, Tenancy,
    attest::parse_message,
    auth::{RedisStore, TenantStore},
    router_with,
};

use crate::harness::{
    ANVIL, CREDIT, account, dec, funded_chain, get, native_profiler, post_json, profile_request,
    send,
};

#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod contract {
    alloy::sol!(
        #[sol(rpc)]
        UnimarginAttestationVerifier,
        "contracts/out/UnimarginAttestationVerifier.json"
    );
}
use contract::UnimarginAttestationVerifier::{self, ProfileAttestation};

/// anvil's well-known first dev key: a fixed key, so the expected signer is known in advance.
const KEY: &str = "0xac0974bec39a17e36ba4a6b4d8ff944ceae784d7b6f2ffb2cb7d99ae15dcf1b0";

/// [`CREDIT`] × 1e18, as the attestation carries it.
fn credit_e18() -> String {
    let credit: rust_decimal::Decimal = CREDIT.parse().unwrap();
    (credit * rust_decimal::Decimal::from(1_000_000_000_000_000_000u64))
        .normalize()
        .to_string()
}

fn e18(units: u64) -> U256 {
    U256::from(units) * U256::from(10u64).pow(U256::from(18u64))
}

/// The test service over `chain`, signing with `attestor`.
fn signing_service(chain: &TestChain, attestor: Option<Attestor>) -> Router {
    signing_service_with(chain, attestor, Tenancy::open())
}

/// [`signing_service`] with `tenancy` (whose store keeps the spent nonces).
fn signing_service_with(chain: &TestChain, attestor: Option<Attestor>, tenancy: Tenancy) -> Router {
    let (profiler, _) = native_profiler(
        chain.client(EvmSettings::default()),
        Arc::new(MemoryCache::default()),
    );
    router_with(
        AppState {
            profiler: Arc::new(profiler),
            settings: ServerSettings::default(),
            attestor: attestor.map(Arc::new),
        },
        tenancy,
    )
}

fn attestor(ttl_secs: u64) -> Attestor {
    Attestor::from_hex_key(
        KEY,
        AttestationSettings {
            ttl: Duration::from_secs(ttl_secs),
        },
    )
    .unwrap()
}

async fn signed_profile(router: &Router) -> Value {
    let answer = send(
        router,
        get(&format!("/v1/accounts/{}/profile?signed=true", account())),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

async fn verify(router: &Router, attestation: &Value) -> Value {
    let answer = send(
        router,
        post_json("/v1/attestations/verify", attestation.to_string()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn a_signed_profile_attests_its_numbers_and_recovers_to_the_published_signer() {
    let chain = funded_chain(10).await;
    let router = signing_service(&chain, Some(attestor(60)));
    let expected_signer = PrivateKeySigner::from_str(KEY).unwrap().address();

    let published = send(&router, get("/v1/attestations/signer")).await;
    assert_eq!(published.status, StatusCode::OK);
    assert_eq!(published.body["address"], expected_signer.to_checksum(None));
    assert_eq!(published.body["ttl_secs"], 60);

    let body = signed_profile(&router).await;
    // The profile's own fields are still at the top level.
    assert_eq!(body["accounts"], json!([account()]));
    assert_eq!(
        dec(body["credit_capacity_usd"].as_str().unwrap()),
        dec(CREDIT)
    ); // the stress-tested credit (see CREDIT)
    let att = &body["attestation"];
    assert_eq!(att["signer"], expected_signer.to_checksum(None));

    // Expected values, computed here from the inputs rather than taken from the server.
    let head = chain
        .provider()
        .get_block_by_number(Default::default())
        .await
        .unwrap()
        .unwrap();
    let (number, hash) = (head.header.number, head.header.hash);
    let read_points = format!("eip155:{ANVIL} block {number} {hash}"); // one chain, one line
    let m = &att["typed_data"]["message"];
    let cases = [
        (
            "ownerSetHash",
            m["ownerSetHash"].clone(),
            json!(B256::ZERO.to_string()),
        ), // a list, no owner set
        (
            "accountsHash",
            m["accountsHash"].clone(),
            json!(keccak256(account().as_bytes()).to_string()),
        ),
        (
            "readPointsHash",
            m["readPointsHash"].clone(),
            json!(keccak256(read_points.as_bytes()).to_string()),
        ),
        ("health", m["health"].clone(), json!(U256::MAX.to_string())), // no debt: infinite
        (
            "netValueUsd",
            m["netValueUsd"].clone(),
            json!(e18(20_000).to_string()),
        ), // 10 ETH × 2000 USD
        (
            "maintenanceRequirementUsd",
            m["maintenanceRequirementUsd"].clone(),
            json!("0"),
        ), // no debt
        (
            "initialRequirementUsd",
            m["initialRequirementUsd"].clone(),
            json!("0"),
        ),
        (
            "creditCapacityUsd",
            m["creditCapacityUsd"].clone(),
            json!(credit_e18()),
        ), // the stress-tested credit
        (
            "coverageComplete",
            m["coverageComplete"].clone(),
            json!(true),
        ),
        (
            "methodology",
            m["methodology"].clone(),
            json!(keccak256(body["methodology"].as_str().unwrap()).to_string()),
        ),
    ];
    for (field, got, want) in cases {
        assert_eq!(got, want, "{field}");
    }
    let (issued, expires) = (
        m["issuedAt"].as_u64().unwrap(),
        m["expiresAt"].as_u64().unwrap(),
    );
    assert_eq!(expires - issued, 60, "TTL");

    // The digest recomputed by alloy's dynamic EIP-712 encoder from the JSON alone (types,
    // domain, message), as any third party would, recovers to the published signer.
    let typed: TypedData = serde_json::from_value(att["typed_data"].clone()).unwrap();
    let digest = typed.eip712_signing_hash().unwrap();
    let sig =
        unimargin_server::attest::parse_signature(att["signature"].as_str().unwrap()).unwrap();
    assert_eq!(
        sig.recover_address_from_prehash(&digest).unwrap(),
        expected_signer
    );
}

#[tokio::test]
async fn a_signed_owner_set_profile_names_the_set_and_verifies() {
    let chain = funded_chain(10).await;
    let router = signing_service(&chain, Some(attestor(60)));
    let created = send(
        &router,
        post_json(
            "/v1/owners",
            json!({ "name": "desk", "accounts": [account()] }).to_string(),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let answer = send(
        &router,
        get(&format!("/v1/owners/{id}/profile?signed=true")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let att = &answer.body["attestation"];
    let m = &att["typed_data"]["message"];
    // The set's id is attested, beside the same accounts hash a plain list would get.
    assert_eq!(
        m["ownerSetHash"],
        json!(keccak256(id.as_bytes()).to_string())
    );
    assert_eq!(
        m["accountsHash"],
        json!(keccak256(account().as_bytes()).to_string())
    );
    assert_eq!(
        m["creditCapacityUsd"],
        json!(credit_e18()),
        "the stress-tested credit"
    );
    assert_eq!(verify(&router, att).await["valid"], json!(true));

    // Unsigned by default; a bad flag is a 400.
    let plain = send(&router, get(&format!("/v1/owners/{id}/profile"))).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.body.get("attestation").is_none());
    let bad = send(&router, get(&format!("/v1/owners/{id}/profile?signed=1"))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

#[tokio::test]
async fn the_verifier_accepts_once_and_rejects_replayed_tampered_and_expired() {
    let chain = funded_chain(3).await;
    let router = signing_service(&chain, Some(attestor(60)));
    let att = signed_profile(&router).await["attestation"].clone();

    // Tampered first: a rejection must not burn the nonce of the genuine attestation.
    let mut tampered = att.clone();
    tampered["typed_data"]["message"]["creditCapacityUsd"] = json!(e18(1_000_000).to_string());
    assert_eq!(
        verify(&router, &tampered).await,
        json!({"valid": false, "reason": "bad_signature", "signer": att["signer"]})
    );
    let mut forged_signer = att.clone();
    forged_signer["signature"] = json!(format!("0x{}", "11".repeat(65)));
    assert_eq!(verify(&router, &forged_signer).await["valid"], false);
    let mut malformed = att.clone();
    malformed["typed_data"]["message"]["health"] = json!("not a number");
    assert_eq!(verify(&router, &malformed).await["reason"], "malformed");

    assert_eq!(
        verify(&router, &att).await,
        json!({"valid": true, "signer": att["signer"]})
    );
    assert_eq!(verify(&router, &att).await["reason"], "replayed");

    // Not JSON of the right shape: the API's 400, not a verdict.
    let answer = send(
        &router,
        post_json("/v1/attestations/verify", r#"{"signature": "0x"}"#),
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

/// Two replicas with the same signing key over one Redis: an attestation verified by one is a
/// replay on the other; and a Redis that stops answering makes verification a 503, never a
/// verdict that could accept a replay.
#[tokio::test]
async fn replicas_share_spent_nonces_through_redis() {
    let chain = funded_chain(10).await;
    let mut redis = RedisServer::start();
    let replica = |chain: &TestChain| {
        let store: Arc<dyn TenantStore> =
            Arc::new(RedisStore::connect(&redis.url(), "n:", Duration::from_millis(500)).unwrap());
        signing_service_with(
            chain,
            Some(attestor(60)),
            Tenancy {
                store,
                ..Tenancy::open()
            },
        )
    };
    let (one, two) = (replica(&chain), replica(&chain));
    let att = signed_profile(&one).await["attestation"].clone();
    let fresh = signed_profile(&two).await["attestation"].clone();
    assert_eq!(verify(&two, &att).await["valid"], json!(true));
    let again = verify(&one, &att).await;
    assert_eq!(
        (again["valid"].clone(), again["reason"].clone()),
        (json!(false), json!("replayed"))
    );
    redis.stop();
    let answer = send(
        &one,
        post_json("/v1/attestations/verify", fresh.to_string()),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    assert_eq!(answer.body["error"]["code"], "store_unavailable");
}

#[tokio::test]
async fn an_attestation_expires_after_its_ttl() {
    let chain = funded_chain(1).await;
    let router = signing_service(&chain, Some(attestor(1)));
    let att = signed_profile(&router).await["attestation"].clone();
    let expires = att["typed_data"]["message"]["expiresAt"].as_u64().unwrap();
    // Wait until the clock has reached `expiresAt` (at most TTL + 1 s).
    while (chrono::Utc::now().timestamp() as u64) < expires {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(verify(&router, &att).await["reason"], "expired");
}

#[tokio::test]
async fn without_a_key_signed_profiles_are_refused_and_the_signer_is_not_found() {
    let chain = funded_chain(1).await;
    let router = signing_service(&chain, None);
    let answer = send(
        &router,
        get(&format!("/v1/accounts/{}/profile?signed=true", account())),
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{}",
        answer.body
    );
    assert!(
        answer.message().contains("signing key"),
        "{}",
        answer.message()
    );
    let answer = send(&router, get("/v1/attestations/signer")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    // Unsigned is unaffected; a bad flag is a 400, never a silently unsigned answer.
    let answer = send(&router, profile_request(&[&account()])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.get("attestation").is_none());
    let answer = send(
        &router,
        get(&format!("/v1/accounts/{}/profile?signed=yes", account())),
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn a_bad_configured_key_is_an_error_not_a_random_signer() {
    let settings = AttestationSettings::default();
    assert!(Attestor::from_hex_key("0x1234", settings).is_err());
    assert!(Attestor::from_hex_key("not hex at all", settings).is_err());
}

/// The message as the contract's struct, from the JSON the server answered.
fn on_chain(att: &Value) -> (ProfileAttestation, Bytes) {
    let message = serde_json::from_value(att["typed_data"]["message"].clone()).unwrap();
    let m = parse_message(&message).unwrap();
    let sig =
        Bytes::from(alloy::primitives::hex::decode(att["signature"].as_str().unwrap()).unwrap());
    let m = ProfileAttestation {
        ownerSetHash: m.ownerSetHash,
        accountsHash: m.accountsHash,
        readPointsHash: m.readPointsHash,
        health: m.health,
        netValueUsd: m.netValueUsd,
        maintenanceRequirementUsd: m.maintenanceRequirementUsd,
        initialRequirementUsd: m.initialRequirementUsd,
        creditCapacityUsd: m.creditCapacityUsd,
        coverageComplete: m.coverageComplete,
        methodology: m.methodology,
        issuedAt: m.issuedAt,
        expiresAt: m.expiresAt,
        nonce: m.nonce,
    };
    (m, sig)
}

#[tokio::test]
async fn the_solidity_verifier_accepts_the_servers_signature_and_rejects_tampered_and_expired() {
    let chain = funded_chain(10).await;
    let router = signing_service(&chain, Some(attestor(60)));
    let signer = PrivateKeySigner::from_str(KEY).unwrap().address();
    let (provider, from) = chain.deployer().unwrap();
    let verifier = UnimarginAttestationVerifier::deploy_builder(provider.clone(), signer)
        .from(from)
        .deploy()
        .await
        .unwrap();
    let verifier = UnimarginAttestationVerifier::new(verifier, provider.clone());

    let att = signed_profile(&router).await["attestation"].clone();
    let (message, sig) = on_chain(&att);

    // The contract's digest equals the one the server signed.
    let typed: TypedData = serde_json::from_value(att["typed_data"].clone()).unwrap();
    assert_eq!(
        verifier.digest(message.clone()).call().await.unwrap(),
        typed.eip712_signing_hash().unwrap()
    );
    assert!(
        verifier
            .verify(message.clone(), sig.clone())
            .call()
            .await
            .unwrap(),
        "valid"
    );
    assert_eq!(
        verifier
            .recover(message.clone(), sig.clone())
            .call()
            .await
            .unwrap(),
        signer
    );

    // Tampered: one field changed (health down to 0.5).
    let mut tampered = message.clone();
    tampered.health = U256::from(5u64) * U256::from(10u64).pow(U256::from(17u64));
    assert!(
        !verifier.verify(tampered, sig.clone()).call().await.unwrap(),
        "tampered"
    );
    let mut richer = message.clone();
    richer.netValueUsd = I256::try_from(e18(1_000_000)).unwrap();
    assert!(
        !verifier.verify(richer, sig.clone()).call().await.unwrap(),
        "tampered net value"
    );
    // Signed by someone else.
    let other =
        UnimarginAttestationVerifier::deploy_builder(provider.clone(), Address::repeat_byte(7))
            .from(from)
            .deploy()
            .await
            .unwrap();
    let other = UnimarginAttestationVerifier::new(other, provider.clone());
    assert!(
        !other
            .verify(message.clone(), sig.clone())
            .call()
            .await
            .unwrap(),
        "other signer"
    );

    // Consumed once on chain; the replay reverts.
    let consume = verifier
        .verifyAndConsume(message.clone(), sig.clone())
        .from(from);
    unimargin_sdk::testkit::send(consume, "first verifyAndConsume")
        .await
        .unwrap();
    let replay = verifier
        .verifyAndConsume(message.clone(), sig.clone())
        .from(from);
    assert!(
        unimargin_sdk::testkit::send(replay, "replayed verifyAndConsume")
            .await
            .is_err(),
        "replay reverts"
    );

    // Expired: the chain's clock moves past `expiresAt` (60 s TTL).
    chain.advance_time(120).await.unwrap();
    chain.mine().await.unwrap();
    assert!(
        !verifier.verify(message, sig).call().await.unwrap(),
        "expired"
    );
}
