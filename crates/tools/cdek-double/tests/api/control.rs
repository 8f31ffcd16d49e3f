//! The control API and the operational endpoints.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestDouble, order_body};

#[tokio::test]
async fn inspection_shows_orders_and_counts_calls() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let order = t.created_order(&token, "INS-1").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    t.advance(uuid, "RECEIVED_AT_SHIPMENT_WAREHOUSE").await;

    let (status, orders) = t.control_get("/orders").await;
    assert_eq!(status, StatusCode::OK);
    let listed = &orders[0];
    assert_eq!(listed["uuid"], uuid);
    assert_eq!(listed["number"], "INS-1");
    assert_eq!(listed["cdek_number"], order["entity"]["cdek_number"]);
    assert_eq!(listed["status"], "RECEIVED_AT_SHIPMENT_WAREHOUSE");
    assert_eq!(listed["statuses"][0]["code"], "RECEIVED_AT_SHIPMENT_WAREHOUSE");
    assert_eq!(listed["create_requests_for_number"], 1);

    t.post(&token, "/orders", &json!({})).await;
    let stats = t.control_get("/stats").await.1;
    assert_eq!(stats["tokens_issued"], 1);
    assert_eq!(stats["calls"]["POST /v2/orders"], 2, "rejected calls count too: {stats}");
    assert_eq!(stats["calls"]["POST /v2/oauth/token"], 1);
    assert!(stats["calls"]["GET /v2/orders/{uuid}"].as_u64().unwrap() >= 1);
    t.stop().await;
}

#[tokio::test]
async fn control_errors() {
    let t = TestDouble::start().await;
    let (status, _) =
        t.control_post("/orders/0b6f9a0e-9b1f-4c55-8f5e-3c1d2b0a9f88/status", &json!({"code": "DELIVERED"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let token = t.token().await;
    let uuid = t.create_order(&token, &order_body("CTL-1")).await;
    let (status, _) = t.control_post(&format!("/orders/{uuid}/status"), &json!({"reason_code": "11"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "code is required");
    let (status, _) =
        t.control_post(&format!("/orders/{uuid}/status"), &json!({"code": "DELIVERED", "date_time": "soon"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    t.stop().await;
}

#[tokio::test]
async fn health_and_unknown_endpoints() {
    let t = TestDouble::start().await;
    let root = t.base.trim_end_matches("/v2").to_owned();
    let response = t.http.get(format!("{root}/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let token = t.token().await;
    let (status, body) = t.get(&token, "/nothing/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["errors"].is_array());
    t.stop().await;
}
