//! Profiles of a funded anvil account, the accepted account spellings, and every 4xx.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use serde_json::json;
use unimargin_schema::{Health, MarginProfile, ReadPoint};

use crate::harness::{
    ADDR, ANVIL, CREDIT, account, block_number, dec, funded_chain, get, offline_service, post_json,
    profile_request, send, service,
};

#[tokio::test]
async fn a_funded_account_gets_a_complete_profile_at_the_pinned_block() {
    let chain = funded_chain(10).await;
    let svc = service(&chain);
    let head = block_number(&chain).await;

    let answer = send(&svc.router, profile_request(&[&account()])).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let profile: MarginProfile = serde_json::from_value(answer.body).unwrap();

    assert!(profile.coverage.complete, "{:?}", profile.coverage.failures);
    assert_eq!(
        profile
            .accounts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [account()]
    );
    let [chain_coverage] = profile.coverage.chains.as_slice() else {
        panic!("one chain expected")
    };
    assert_eq!(chain_coverage.chain.to_string(), format!("eip155:{ANVIL}"));
    assert_eq!(chain_coverage.protocols, ["native/eth"]);
    let Some(ReadPoint::Block { number, .. }) = &chain_coverage.read_point else {
        panic!("a block read point")
    };
    assert_eq!(*number, head, "pinned to the head");
    assert_eq!(profile.protocols.len(), 1);
    assert_eq!(
        profile.protocols[0].block,
        chain_coverage.read_point.clone().unwrap(),
        "one read point per chain"
    );

    // 10 ETH × 2000 USD = 20 000 USD of collateral; no debt.
    let t = &profile.totals;
    let cases = [
        ("net_value_usd", t.net_value_usd, "20000"),
        ("collateral_usd", t.collateral_usd, "20000"),
        (
            "adjusted_collateral_usd",
            t.adjusted_collateral_usd,
            "17000",
        ), // 20 000 × 0.85
        ("initial_collateral_usd", t.initial_collateral_usd, "16000"), // 20 000 × 0.80
        ("debt_usd", t.debt_usd, "0"),
        ("maintenance_margin_usd", t.maintenance_margin_usd, "0"),
        ("free_collateral_usd", t.free_collateral_usd, "16000"), // 16 000 − 0
        // The stress grid allows less than the 16 000 of free collateral: equity 20 000 less the
        // worst scenario (ETH −52.5 %: 10 500) less the concentration add-on, and the smaller of
        // the two is served.
        (
            "stress_loss_usd",
            profile.risk.margin.stress_loss_usd,
            "10500",
        ),
        ("credit_capacity_usd", profile.credit_capacity_usd, CREDIT),
    ];
    for (name, got, want) in cases {
        assert_eq!(got, dec(want), "{name}");
    }
    assert_eq!(
        profile.credit_capacity_usd,
        dec("9500") - profile.risk.margin.maintenance_add_ons.total_usd
    );
    assert_eq!(profile.health, Some(Health::Infinite));
}

#[tokio::test]
async fn alias_and_lowercase_spellings_name_the_same_account() {
    let chain = funded_chain(1).await;
    let svc = service(&chain);
    let lower = ADDR.to_lowercase();
    let spellings = [
        format!("anvil:{ADDR}"),
        format!("ANVIL:{lower}"),
        format!("eip155:{ANVIL}:{lower}"),
        format!("eip155:{ANVIL}:0x{}", ADDR[2..].to_uppercase()),
    ];
    for spelling in &spellings {
        let answer = send(&svc.router, profile_request(&[spelling])).await;
        assert_eq!(answer.status, StatusCode::OK, "{spelling}: {}", answer.body);
        assert_eq!(answer.body["accounts"], json!([account()]), "{spelling}");
        let answer = send(
            &svc.router,
            get(&format!("/v1/accounts/{spelling}/profile")),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "GET {spelling}: {}",
            answer.body
        );
        assert_eq!(
            answer.body["accounts"],
            json!([account()]),
            "GET {spelling}"
        );
    }
    // Every spelling and the duplicate count once.
    let all: Vec<&str> = spellings.iter().map(String::as_str).collect();
    let answer = send(&svc.router, profile_request(&all)).await;
    assert_eq!(answer.body["accounts"], json!([account()]));
}

/// (request, expected status, expected code, fragments the message must contain)
type Case = (Request<Body>, StatusCode, &'static str, Vec<String>);

#[tokio::test]
async fn invalid_requests_get_precise_json_errors() {
    let svc = offline_service();
    let wrong_case = format!("eip155:{ANVIL}:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
    let fifty_one: Vec<String> = (0..51)
        .map(|i| format!("eip155:{ANVIL}:0x{i:040x}"))
        .collect();
    let fifty_one: Vec<&str> = fifty_one.iter().map(String::as_str).collect();
    let huge = json!({ "accounts": ["x".repeat(70 * 1024)] }).to_string();
    let cases: Vec<Case> = vec![
        // The message names the account and the expected spelling.
        (
            profile_request(&[&wrong_case]),
            StatusCode::BAD_REQUEST,
            "invalid_account",
            vec![wrong_case.clone(), ADDR.into()],
        ),
        (
            profile_request(&["eip155:1:0x123"]),
            StatusCode::BAD_REQUEST,
            "invalid_account",
            vec!["0x123".into()],
        ),
        (
            profile_request(&["not-an-account"]),
            StatusCode::BAD_REQUEST,
            "invalid_account",
            vec!["not-an-account".into()],
        ),
        (
            profile_request(&[&format!("eip155:999999:{ADDR}")]),
            StatusCode::BAD_REQUEST,
            "unknown_chain",
            vec!["eip155:999999".into(), format!("eip155:{ANVIL} (anvil)")],
        ),
        (
            profile_request(&[&format!("mars:{ADDR}")]),
            StatusCode::BAD_REQUEST,
            "unknown_chain",
            vec!["mars".into()],
        ),
        (
            profile_request(&[]),
            StatusCode::BAD_REQUEST,
            "no_accounts",
            vec![],
        ),
        (
            profile_request(&fifty_one),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_accounts",
            vec!["51".into(), "at most 50".into()],
        ),
        (
            post_json("/v1/profiles", "{}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            vec!["accounts".into()],
        ),
        (
            post_json("/v1/profiles", r#"{"accounts":"x"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            vec![],
        ),
        (
            post_json("/v1/profiles", "not json"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            vec![],
        ),
        (
            post_json(
                "/v1/profiles",
                json!({"accounts": [account()], "extra": 1}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            vec!["extra".into()],
        ),
        (
            Request::post("/v1/profiles")
                .body(Body::from(r#"{"accounts":[]}"#))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            vec!["application/json".into()],
        ),
        (
            Request::post("/v1/profiles")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            vec![],
        ),
        (
            post_json("/v1/profiles", huge),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            vec!["65536".into()],
        ),
        (
            get("/v1/accounts/garbage/profile"),
            StatusCode::BAD_REQUEST,
            "invalid_account",
            vec!["garbage".into()],
        ),
        (
            get(&format!("/v1/accounts/{wrong_case}/profile")),
            StatusCode::BAD_REQUEST,
            "invalid_account",
            vec![ADDR.into()],
        ),
        (
            get("/v1/nothing"),
            StatusCode::NOT_FOUND,
            "not_found",
            vec!["/v1/nothing".into()],
        ),
        (
            get("/v1/profiles"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            vec!["GET".into()],
        ),
    ];
    for (req, status, code, fragments) in cases {
        let what = format!(
            "{} {}",
            req.method(),
            req.uri().to_string().chars().take(80).collect::<String>()
        );
        let answer = send(&svc.router, req).await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{what}: {}",
            answer.body
        );
        for fragment in fragments {
            assert!(
                answer.message().contains(&fragment),
                "{what}: `{}` lacks `{fragment}`",
                answer.message()
            );
        }
        assert!(
            answer.body.get("profile").is_none(),
            "{what}: 4xx carries no profile"
        );
    }
    assert_eq!(svc.calls(), 0, "no request above may reach an adapter");
}

#[tokio::test]
async fn error_details_request_ids_and_allow_headers() {
    let svc = offline_service();
    // A client-chosen request id is kept and quoted.
    let req = Request::get("/nope")
        .header("x-request-id", "venue-42")
        .body(Body::empty())
        .unwrap();
    let answer = send(&svc.router, req).await;
    assert_eq!(answer.headers["x-request-id"], "venue-42");
    assert_eq!(answer.body["error"]["request_id"], "venue-42");

    // Without one, the service makes one up.
    let answer = send(&svc.router, get("/nope")).await;
    assert!(
        !answer.body["error"]["request_id"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    // A 405 says what is allowed.
    let answer = send(
        &svc.router,
        Request::delete("/v1/protocols")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    let allow = answer
        .headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(allow.contains("GET"), "allow: {allow:?}");

    // Structured details next to the message.
    let answer = send(
        &svc.router,
        profile_request(&[&format!(
            "eip155:{ANVIL}:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
        )]),
    )
    .await;
    assert_eq!(
        answer.body["error"]["account"],
        format!("eip155:{ANVIL}:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
    );
    let many: Vec<String> = (0..51)
        .map(|i| format!("eip155:{ANVIL}:0x{i:040x}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        send(&svc.router, profile_request(&many)).await.body["error"]["limit"],
        50
    );
}

#[tokio::test]
async fn protocols_health_and_readiness() {
    let svc = offline_service();
    let answer = send(&svc.router, get("/v1/protocols")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({"protocols": [{
            "protocol": "native", "kind": "native-balance", "market": "eth",
            "chain": format!("eip155:{ANVIL}"), "chain_alias": "anvil"
        }]})
    );
    let answer = send(&svc.router, get("/healthz")).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    // The only chain's node is down: nothing can be profiled, so the replica is unavailable.
    let answer = send(&svc.router, get("/readyz")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body["status"], "unavailable");
    assert_eq!(
        answer.body["cache"],
        json!({"backend": "memory", "degraded": false})
    );
    assert_eq!(
        answer.body["key_store"],
        json!({"backend": "memory", "reachable": true, "auth_required": false})
    );
    let chain = &answer.body["chains"][0];
    assert_eq!(
        (
            &chain["chain"],
            &chain["alias"],
            &chain["protocols"],
            &chain["reachable"]
        ),
        (
            &json!(format!("eip155:{ANVIL}")),
            &json!("anvil"),
            &json!(1),
            &json!(false)
        )
    );
    assert!(
        !chain["error"].as_str().unwrap().contains("127.0.0.1:1"),
        "no RPC URL in the answer: {chain}"
    );
}
