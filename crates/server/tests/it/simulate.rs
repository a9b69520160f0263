//! `POST /v1/profiles/simulate`: what-if on a live profile read from anvil, its diff checked by
//! hand, and every way a request is refused.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{account, dec, funded_chain, offline_service, post_json, send, service};

fn at() -> Value {
    json!({ "protocol": "native", "market": "eth" })
}

fn simulate(body: &Value) -> axum::http::Request<axum::body::Body> {
    post_json("/v1/profiles/simulate", body.to_string())
}

#[tokio::test]
async fn borrowing_against_the_live_balance_lowers_equity_and_health_by_hand_computed_amounts() {
    let chain = funded_chain(10).await;
    let svc = service(&chain);
    let body = json!({
        "accounts": [account()],
        "changes": [{ "type": "borrow", "at": at(), "symbol": "eth", "amount": "2" }],
    });
    let answer = send(&svc.router, simulate(&body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let sim = &answer.body;
    // 10 ETH × 2000 USD, then 2 ETH of debt at the same price leave the profile as proceeds.
    let equity = &sim["diff"]["equity_usd"];
    assert_eq!(dec(equity["before"].as_str().unwrap()), dec("20000"));
    assert_eq!(dec(equity["after"].as_str().unwrap()), dec("16000"));
    assert_eq!(dec(equity["delta"].as_str().unwrap()), dec("-4000"));
    assert_eq!(sim["before"]["health"], json!("infinity"));
    assert!(sim["after"]["health"].is_string() && sim["after"]["health"] != json!("infinity"));
    // The market's own health is recomputed: 10 × 2000 × 0.85 adjusted ÷ 2 × 2000 × 1 = 4.25.
    let market = &sim["diff"]["markets"][0];
    assert_eq!(market["after"], json!("4.25"), "{market}");
    assert_eq!(market["liquidatable_after"], json!(false));
    let native = &sim["after"]["protocols"][0]["native_health"];
    assert!(
        native["metric"].as_str().unwrap().ends_with(".simulated"),
        "{native}"
    );
    // The base profile is the live one: nothing was executed on the chain.
    assert_eq!(sim["before"]["accounts"], json!([account()]));
}

#[tokio::test]
async fn changes_that_cannot_apply_are_422_naming_the_change() {
    let chain = funded_chain(10).await;
    let svc = service(&chain);
    let cases = [
        // More than is held, as the second change.
        (
            json!([
                { "type": "deposit", "at": at(), "symbol": "ETH", "amount": "1" },
                { "type": "withdraw", "at": at(), "symbol": "ETH", "amount": "12" },
            ]),
            1,
        ),
        (
            json!([{ "type": "withdraw", "at": { "protocol": "aave-v3", "market": "core" }, "symbol": "ETH", "amount": "1" }]),
            0,
        ),
        (
            json!([{ "type": "repay", "at": at(), "symbol": "ETH", "amount": "1" }]),
            0,
        ),
        (
            json!([{ "type": "deposit", "at": at(), "symbol": "ETH", "amount": "-1" }]),
            0,
        ),
        // Nothing in the profile prices USDC.
        (
            json!([{ "type": "borrow", "at": at(), "symbol": "USDC", "amount": "100" }]),
            0,
        ),
    ];
    for (changes, index) in cases {
        let body = json!({ "accounts": [account()], "changes": changes });
        let answer = send(&svc.router, simulate(&body)).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{changes}: {}",
            answer.body
        );
        assert_eq!(answer.body["error"]["code"], "invalid_change");
        assert_eq!(answer.body["error"]["change"], index, "{changes}");
    }
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused_before_any_read() {
    let svc = offline_service();
    let change = json!({ "type": "deposit", "at": at(), "symbol": "ETH", "amount": "1" });
    let too_many: Vec<Value> = std::iter::repeat_n(change.clone(), 101).collect();
    let cases = [
        (
            json!({ "accounts": [account()], "changes": too_many }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_changes",
        ),
        (
            json!({ "accounts": [account()], "changes": [] }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({ "accounts": [account()], "owner_set": "os_0", "changes": [change] }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({ "accounts": [], "changes": [change] }),
            StatusCode::BAD_REQUEST,
            "no_accounts",
        ),
        (
            json!({ "accounts": ["eip155:1:0x123"], "changes": [change] }),
            StatusCode::BAD_REQUEST,
            "invalid_account",
        ),
        (
            json!({ "accounts": [account()], "changes": [{ "type": "teleport" }] }),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({ "owner_set": "os_0123456789abcdef", "changes": [change] }),
            StatusCode::NOT_FOUND,
            "unknown_owner_set",
        ),
    ];
    for (body, status, code) in cases {
        let answer = send(&svc.router, simulate(&body)).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], code, "{body}");
    }
    assert_eq!(svc.calls(), 0, "nothing was read for a refused request");
}

#[tokio::test]
async fn an_incomplete_base_profile_is_not_simulated() {
    // The node is unreachable: the base profile is incomplete, so the answer is the profile
    // routes' 502 with the partial profile, not a simulation.
    let svc = offline_service();
    let body = json!({
        "accounts": [account()],
        "changes": [{ "type": "deposit", "at": at(), "symbol": "ETH", "amount": "1" }],
    });
    let answer = send(&svc.router, simulate(&body)).await;
    assert!(
        answer.status == StatusCode::BAD_GATEWAY || answer.status == StatusCode::GATEWAY_TIMEOUT,
        "{}",
        answer.body
    );
    assert_eq!(answer.body["profile"]["coverage"]["complete"], json!(false));
    assert!(answer.body.get("diff").is_none());
}

#[tokio::test]
async fn an_owner_sets_profile_can_be_simulated_by_its_id() {
    let chain = funded_chain(10).await;
    let svc = service(&chain);
    let created = send(
        &svc.router,
        post_json(
            "/v1/owners",
            json!({ "name": "desk", "accounts": [account()] }).to_string(),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let body = json!({
        "owner_set": created.body["id"],
        "changes": [{ "type": "withdraw", "at": at(), "symbol": "ETH", "amount": "4" }],
    });
    let answer = send(&svc.router, simulate(&body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        dec(answer.body["diff"]["equity_usd"]["delta"].as_str().unwrap()),
        dec("-8000")
    );
}
