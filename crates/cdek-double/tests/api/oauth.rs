//! OAuth client credentials and the bearer check.

use std::time::Duration;

use cdek_double::{DoubleConfig, TEST_CLIENT_ID, TEST_CLIENT_SECRET};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestDouble, fast_config, request_error_codes};

fn is_base64url(part: &str) -> bool {
    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn assert_token_body(body: &Value) {
    let token = body["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    assert!(parts.iter().all(|part| is_base64url(part)), "{token}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "location:all order:all payment:all");
    assert!(uuid::Uuid::parse_str(body["jti"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn token_with_query_parameters() {
    let t = TestDouble::start().await;
    let response = t
        .http
        .post(format!("{}/oauth/token", t.base))
        .query(&[
            ("grant_type", "client_credentials"),
            ("client_id", TEST_CLIENT_ID),
            ("client_secret", TEST_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_token_body(&body);
    let token = body["access_token"].as_str().unwrap();
    let (status, _) = t.get(token, "/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    t.stop().await;
}

#[tokio::test]
async fn token_with_a_form_body() {
    let t = TestDouble::start().await;
    let response = t
        .http
        .post(format!("{}/oauth/token", t.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", TEST_CLIENT_ID),
            ("client_secret", TEST_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_token_body(&body);
    let (status, _) = t.get(body["access_token"].as_str().unwrap(), "/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    t.stop().await;
}

#[tokio::test]
async fn bad_credentials_are_invalid_client() {
    let t = TestDouble::start().await;
    for params in [
        vec![("grant_type", "client_credentials"), ("client_id", TEST_CLIENT_ID), ("client_secret", "wrong")],
        vec![("grant_type", "client_credentials"), ("client_id", "someone"), ("client_secret", TEST_CLIENT_SECRET)],
        vec![("grant_type", "client_credentials")],
    ] {
        let response = t.http.post(format!("{}/oauth/token", t.base)).form(&params).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert!(body["error_description"].is_string());
        assert!(body.get("access_token").is_none());
    }
    let stats = t.control_get("/stats").await.1;
    assert_eq!(stats["tokens_issued"], 0);
    t.stop().await;
}

#[tokio::test]
async fn other_grants_are_refused() {
    let t = TestDouble::start().await;
    let response = t
        .http
        .post(format!("{}/oauth/token", t.base))
        .form(&[("grant_type", "password"), ("client_id", TEST_CLIENT_ID), ("client_secret", TEST_CLIENT_SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    t.stop().await;
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthorized() {
    let t = TestDouble::start().await;
    let response = t.http.get(format!("{}/webhooks", t.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["requests"][0]["type"], "AUTH");
    assert_eq!(request_error_codes(&body), vec!["unauthorized"]);

    let (status, body) = t.get("not-a-token-we-issued", "/orders/6f1c1a4e-2a51-4f5e-9d0c-6f1c1a4e2a51").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(request_error_codes(&body), vec!["unauthorized"]);

    let response = t
        .http
        .get(format!("{}/webhooks", t.base))
        .basic_auth(TEST_CLIENT_ID, Some(TEST_CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(request_error_codes(&body), vec!["v2_authorization_incorrect"]);

    // Nothing was registered by the unauthorised attempt.
    let response =
        t.http.post(format!("{}/orders", t.base)).json(&crate::helpers::order_body("X-1")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(t.control_get("/orders").await.1, serde_json::json!([]));
    t.stop().await;
}

#[tokio::test]
async fn expired_tokens_get_v2_token_expired_and_a_new_token_works() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    assert_eq!(t.get(&token, "/webhooks").await.0, StatusCode::OK);

    let (status, body) = t.control_post("/tokens/expire", &serde_json::json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["expired"], 1);

    let (status, body) = t.get(&token, "/webhooks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(request_error_codes(&body), vec!["v2_token_expired"]);

    let fresh = t.token().await;
    assert_eq!(t.get(&fresh, "/webhooks").await.0, StatusCode::OK);
    t.stop().await;
}

#[tokio::test]
async fn tokens_expire_after_their_ttl() {
    let t = TestDouble::start_with(DoubleConfig { token_ttl: Duration::ZERO, ..fast_config() }).await;
    let token = t.token().await;
    let (status, body) = t.get(&token, "/webhooks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(request_error_codes(&body), vec!["v2_token_expired"]);
    t.stop().await;
}

#[tokio::test]
async fn custom_credentials_replace_the_test_account() {
    let config = DoubleConfig { client_id: "shop".into(), client_secret: "s3cret".into(), ..fast_config() };
    let t = TestDouble::start_with(config).await;
    let response = t
        .http
        .post(format!("{}/oauth/token", t.base))
        .query(&[("grant_type", "client_credentials"), ("client_id", "shop"), ("client_secret", "s3cret")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = t
        .http
        .post(format!("{}/oauth/token", t.base))
        .query(&[
            ("grant_type", "client_credentials"),
            ("client_id", TEST_CLIENT_ID),
            ("client_secret", TEST_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    t.stop().await;
}
