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

/// Every route of the API but the token's refuses a caller without a valid token (none, one
/// it never issued, Basic credentials, an expired one) with 401 and its CDEK code, and the
/// refused calls change nothing. Each handler checks the token itself, so each is called.
#[tokio::test]
async fn every_api_route_refuses_a_caller_without_a_valid_token() {
    use reqwest::Method;
    use serde_json::json;

    let t = TestDouble::start().await;
    let token = t.token().await;
    let order = t.created_order(&token, "AUTH-1").await;
    let order = order["entity"]["uuid"].as_str().unwrap().to_owned();
    let (status, hook) =
        t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": "https://shop.example/hook/1"})).await;
    assert_eq!(status, StatusCode::OK, "{hook}");
    let hook = hook["entity"]["uuid"].as_str().unwrap().to_owned();
    let quote = json!({
        "tariff_code": 136,
        "from_location": {"code": 44},
        "to_location": {"code": 270},
        "packages": [{"weight": 1200, "length": 20, "width": 15, "height": 10}]
    });
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, "/orders".into(), Some(crate::helpers::order_body("AUTH-2"))),
        (Method::GET, "/orders?im_number=AUTH-1".into(), None),
        (Method::GET, format!("/orders/{order}"), None),
        (Method::DELETE, format!("/orders/{order}"), None),
        (Method::POST, format!("/orders/{order}/refusal"), Some(json!({}))),
        (
            Method::POST,
            "/webhooks".into(),
            Some(json!({"type": "DOWNLOAD_PHOTO", "url": "https://shop.example/hook/2"})),
        ),
        (Method::GET, "/webhooks".into(), None),
        (Method::GET, format!("/webhooks/{hook}"), None),
        (Method::DELETE, format!("/webhooks/{hook}"), None),
        (Method::POST, "/calculator/tariff".into(), Some(quote.clone())),
        (Method::POST, "/calculator/tarifflist".into(), Some(quote)),
    ];
    enum Caller<'a> {
        Nobody,
        Bearer(&'a str),
        Basic,
    }
    let call = |caller: Caller<'_>, method: &Method, path: &str, body: &Option<Value>| {
        let mut request = t.http.request(method.clone(), format!("{}{path}", t.base));
        request = match caller {
            Caller::Nobody => request,
            Caller::Bearer(token) => request.bearer_auth(token),
            Caller::Basic => request.basic_auth(TEST_CLIENT_ID, Some(TEST_CLIENT_SECRET)),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let refused = |(status, body): (StatusCode, Value), code: &str, what: String| {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(request_error_codes(&body), vec![code.to_owned()], "{what}");
    };
    for (method, path, body) in &routes {
        let what = |caller: &str| format!("{method} {path} {caller}");
        refused(call(Caller::Nobody, method, path, body).await, "unauthorized", what("without a token"));
        let foreign = call(Caller::Bearer("a.token.it-never-issued"), method, path, body).await;
        refused(foreign, "unauthorized", what("with a foreign token"));
        let basic = call(Caller::Basic, method, path, body).await;
        refused(basic, "v2_authorization_incorrect", what("with Basic credentials"));
    }
    assert_eq!(t.control_post("/tokens/expire", &json!({})).await.0, StatusCode::OK);
    for (method, path, body) in &routes {
        let expired = call(Caller::Bearer(&token), method, path, body).await;
        refused(expired, "v2_token_expired", format!("{method} {path} with an expired token"));
    }

    // Nothing changed: one order, neither cancelled nor refused; the one subscription.
    let fresh = t.token().await;
    assert_eq!(t.control_get("/orders").await.1.as_array().unwrap().len(), 1);
    let read = t.read_order(&fresh, &order).await;
    let requests: Vec<&str> =
        read["requests"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(requests, ["CREATE"], "{read}");
    let (_, hooks) = t.get(&fresh, "/webhooks").await;
    let hooks: Vec<&str> = hooks.as_array().unwrap().iter().map(|h| h["uuid"].as_str().unwrap()).collect();
    assert_eq!(hooks, [hook.as_str()]);
    t.stop().await;
}
