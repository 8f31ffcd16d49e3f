//! What schemathesis found (scripts/schemathesis, docs/bad-input.md), kept as tests:
//! whole numbers written with a fraction part, and a 405's `Allow` header.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{KEY_A, TestApp, cdek_order_body};
use serde_json::json;

/// JSON Schema's `integer` (and JSON itself) has `5.0` equal to `5`: integer fields were a
/// 400 `malformed_body` when a client's JSON library wrote them so.
#[tokio::test(flavor = "multi_thread")]
async fn integers_written_as_whole_decimals_are_taken() {
    let app = TestApp::spawn("st-whole").await;
    let mut body = cdek_order_body("W-1");
    body["parcels"] = json!([{ "weight_grams": 1200.0, "length_cm": 3e1, "width_cm": 20, "height_cm": 10.0 }]);
    body["delivery"]["cdek_tariff_code"] = json!(136.0);
    let created = app.post("/orders", KEY_A, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["parcels"][0],
        json!({ "weight_grams": 1200, "length_cm": 30, "width_cm": 20, "height_cm": 10 })
    );
    assert_eq!(created.body["delivery"]["cdek_tariff_code"], 136);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let moved = app
        .patch(&format!("/orders/{id}/status"), KEY_A, &json!({ "status": "cancelled", "expected_version": 1.0 }))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["status"], "cancelled");

    // Not whole, or beyond i64: still refused, naming the field, and nothing changes.
    let mut half = cdek_order_body("W-2");
    half["parcels"][0]["weight_grams"] = json!(1200.5);
    let refused = app.post("/orders", KEY_A, &half).await;
    assert_eq!(refused.expect_error(400, "malformed_body")["field"], "parcels[0].weight_grams");
    let mut huge = cdek_order_body("W-3");
    huge["delivery"]["cdek_tariff_code"] = json!(1e19);
    app.post("/orders", KEY_A, &huge).await.expect_error(400, "malformed_body");
    let list = app.get("/orders", KEY_A).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "{}", list.body);
    app.stop().await;
}

/// RFC 9110: a 405 lists the methods the path takes in `Allow`.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_method_gets_405_with_the_allowed_ones() {
    let app = TestApp::spawn("st-allow").await;
    for (method, path, allow) in [
        (reqwest::Method::PUT, "/orders", "GET, POST"),
        (reqwest::Method::TRACE, "/orders/0/status", "GET, PATCH"),
        (reqwest::Method::GET, "/orders/0/notify", "POST"),
        (reqwest::Method::POST, "/track/abc", "GET"),
    ] {
        let response = app.call(method.clone(), path, Some(KEY_A), None).await;
        response.expect_error(405, "method_not_allowed");
        assert_eq!(response.headers["allow"], allow, "{method} {path}");
    }
    app.stop().await;
}
