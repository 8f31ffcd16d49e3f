//! Injected faults: error statuses in the `{"errors":[…],"warnings":[]}` shape, and delays.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestDouble;

#[tokio::test]
async fn the_next_n_calls_fail_with_the_status() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let (status, fault) = t.control_post("/faults", &json!({"status": 500, "requests": 2})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fault["fault"]["remaining"], 2);

    for path in ["/webhooks", "/orders/0b6f9a0e-9b1f-4c55-8f5e-3c1d2b0a9f88"] {
        let (status, body) = t.get(&token, path).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["errors"][0]["code"], "v2_internal_error");
        assert_eq!(body["warnings"], json!([]));
        assert!(body.get("requests").is_none());
    }
    // Control calls are never faulted, and the fault is used up.
    assert_eq!(t.control_get("/faults").await.1["fault"], json!(null));
    assert_eq!(t.get(&token, "/webhooks").await.0, StatusCode::OK);

    let stats = t.control_get("/stats").await.1;
    assert_eq!(stats["faults_injected"], 2);
    assert_eq!(stats["calls"]["GET /v2/webhooks"], 2);
    assert_eq!(stats["calls"]["GET /v2/orders/{uuid}"], 1);
    t.stop().await;
}

#[tokio::test]
async fn the_token_endpoint_can_fail_too() {
    let t = TestDouble::start().await;
    t.control_post("/faults", &json!({"status": 503})).await;
    let response = t
        .http
        .post(format!("{}/oauth/token", t.base))
        .query(&[
            ("grant_type", "client_credentials"),
            ("client_id", cdek_double::TEST_CLIENT_ID),
            ("client_secret", cdek_double::TEST_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "v2_internal_error");
    t.token().await;
    t.stop().await;
}

#[tokio::test]
async fn a_delay_fault_makes_clients_time_out() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    t.control_post("/faults", &json!({"timeout_ms": 20_000, "requests": 1})).await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let error = impatient.get(format!("{}/webhooks", t.base)).bearer_auth(&token).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(t.get(&token, "/webhooks").await.0, StatusCode::OK);
    t.stop().await;
}

#[tokio::test]
async fn faults_can_be_cleared() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    t.control_post("/faults", &json!({"status": 429, "requests": 5})).await;
    let (status, body) = t.get(&token, "/webhooks").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errors"][0]["code"], "v2_too_many_requests");
    let (status, body) = t.control_post("/faults", &json!({"clear": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["fault"], json!(null));
    assert_eq!(t.get(&token, "/webhooks").await.0, StatusCode::OK);

    let (status, _) = t.control_post("/faults", &json!({"requests": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a fault needs a status or a delay");
    t.stop().await;
}
