//! Bad input and bad callers get a clear 4xx with a machine-readable code, and nothing
//! is written or published.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{KEY_A, KEY_B, TestApp, order_body};
use domain::topics::Topic;
use serde_json::{Value, json};

/// Each case: a change to a valid body, the field the error must name and its reason.
fn invalid_bodies() -> Vec<(Value, &'static str, &'static str)> {
    let with = |pointer: &str, value: Value| {
        let mut body = order_body("X-1");
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    vec![
        (with("/store_order_number", json!("")), "store_order_number", "required"),
        (with("/store_order_number", json!("has space")), "store_order_number", "invalid_format"),
        (with("/customer/name", json!("  ")), "customer.name", "required"),
        (with("/customer/phone", json!("8 916 123")), "customer.phone", "invalid_format"),
        (with("/customer/email", json!("anna-at-example.com")), "customer.email", "invalid_format"),
        (with("/pickup/lat", json!(91.0)), "pickup.lat", "out_of_range"),
        (with("/destination/lon", json!(-180.5)), "destination.lon", "out_of_range"),
        (with("/destination/address", json!("x".repeat(501))), "destination.address", "too_long"),
        (with("/parcels", json!([])), "parcels", "required"),
        (with("/parcels/0/weight_grams", json!(0)), "parcels[0].weight_grams", "out_of_range"),
        (with("/parcels/0/height_cm", json!(5000)), "parcels[0].height_cm", "out_of_range"),
        (with("/delivery", json!({ "method": "drone" })), "delivery.method", "invalid_value"),
        (with("/delivery", json!({ "method": "cdek" })), "delivery.cdek_tariff_code", "required"),
        (
            with("/delivery", json!({ "method": "own_courier", "cdek_tariff_code": 136 })),
            "delivery.cdek_tariff_code",
            "not_allowed",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_fields_are_named_and_nothing_is_written() {
    let app = TestApp::spawn("invalid").await;
    for (body, field, reason) in invalid_bodies() {
        let response = app.post("/orders", KEY_A, &body).await;
        let error = response.expect_error(400, "validation_failed");
        assert_eq!(
            (error["field"].as_str(), error["reason"].as_str()),
            (Some(field), Some(reason)),
            "{}",
            response.body
        );
    }
    let many = json!({ "weight_grams": 1, "length_cm": 1, "width_cm": 1, "height_cm": 1 });
    let mut body = order_body("X-2");
    body["parcels"] = Value::Array(vec![many; 51]);
    assert_eq!(app.post("/orders", KEY_A, &body).await.expect_error(400, "validation_failed")["reason"], "too_many");

    assert_eq!(app.get("/orders", KEY_A).await.body["items"].as_array().unwrap().len(), 0);
    common::assert_event_count(&app.config.kafka, Topic::OrderCreated, 0).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bodies_are_refused_with_the_path() {
    let app = TestApp::spawn("malformed").await;
    let send = |body: &'static str, content_type: &'static str| {
        let request = app
            .client
            .post(format!("{}/orders", app.base))
            .bearer_auth(KEY_A)
            .header("Content-Type", content_type)
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send("{", "application/json").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_body")));
    let (status, body) = send("", "application/json").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_body")));
    let (status, body) = send("[]", "application/json").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_body")));
    let (status, body) = send("{} {}", "application/json").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_body")), "{body}");
    let (status, _) = send("{}", "text/plain").await;
    assert_eq!(status, 415);

    let mut wrong_type = order_body("M-1");
    wrong_type["pickup"]["lat"] = json!("north");
    let response = app.post("/orders", KEY_A, &wrong_type).await;
    assert_eq!(response.expect_error(400, "malformed_body")["field"], "pickup.lat");
    let mut unknown = order_body("M-2");
    unknown["customer"]["age"] = json!(30);
    assert_eq!(app.post("/orders", KEY_A, &unknown).await.expect_error(400, "malformed_body")["field"], "customer.age");

    let mut huge = order_body("M-3");
    huge["customer"]["name"] = json!("x".repeat(70 * 1024));
    app.post("/orders", KEY_A, &huge).await.expect_error(413, "body_too_large");

    assert_eq!(app.get("/orders", KEY_A).await.body["items"].as_array().unwrap().len(), 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_missing_required_field_is_validation_failed_with_its_whole_path() {
    let app = TestApp::spawn("input_required").await;
    let id = app.create("R-0").await["id"].as_str().unwrap().to_owned();
    let routes = [
        (reqwest::Method::POST, "/orders".to_owned(), order_body("R-1")),
        (
            reqwest::Method::PATCH,
            format!("/orders/{id}/status"),
            json!({ "status": "picked_up", "note": "n", "expected_version": 1 }),
        ),
        (
            reqwest::Method::POST,
            format!("/orders/{id}/assign-courier"),
            json!({ "courier_id": "c-1", "expected_version": 1 }),
        ),
        (reqwest::Method::POST, format!("/orders/{id}/notify"), json!({ "message": "hello" })),
    ];
    let mut required = Vec::new();
    for (method, path, body) in routes {
        for (field, without) in test_support::bodies::without_each_field(&body) {
            let answer = app.call(method.clone(), &path, Some(KEY_A), Some(&without)).await;
            if answer.status != 400 {
                continue; // an optional field: the route took the body without it
            }
            let error = &answer.body["error"];
            assert_eq!(
                (error["code"].as_str(), error["field"].as_str(), error["reason"].as_str()),
                (Some("validation_failed"), Some(field.as_str()), Some("required")),
                "{method} {path} without {field}: {}",
                answer.body
            );
            required.push(format!("{method} {field}"));
        }
    }
    required.sort();
    let mut expected = [
        "POST customer",
        "POST customer.email",
        "POST customer.name",
        "POST customer.phone",
        "POST delivery",
        "POST delivery.method",
        "POST destination",
        "POST destination.address",
        "POST destination.lat",
        "POST destination.lon",
        "POST parcels[0].height_cm",
        "POST parcels[0].length_cm",
        "POST parcels[0].weight_grams",
        "POST parcels[0].width_cm",
        "POST pickup",
        "POST pickup.address",
        "POST pickup.lat",
        "POST pickup.lon",
        "POST store_order_number",
        "PATCH status",
        "POST courier_id",
        "POST message",
        "POST parcels",
    ];
    expected.sort_unstable();
    assert_eq!(required, expected, "every required field, and only those, answered `required`");
    // No order was created by a body missing a field.
    let listed = app.get("/orders", KEY_A).await;
    let numbers: Vec<&str> =
        listed.body["items"].as_array().unwrap().iter().filter_map(|o| o["store_order_number"].as_str()).collect();
    assert_eq!(numbers, ["R-0"], "{}", listed.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn callers_without_a_valid_key_are_refused() {
    let app = TestApp::spawn("auth").await;
    let id = app.create("K-1").await["id"].as_str().unwrap().to_owned();
    let anonymous = app.call(reqwest::Method::GET, &format!("/orders/{id}"), None, None).await;
    anonymous.expect_error(401, "missing_api_key");
    app.get(&format!("/orders/{id}"), "not-a-key-of-anyone-1234").await.expect_error(401, "invalid_api_key");
    let basic =
        app.client.get(format!("{}/orders/{id}", app.base)).header("Authorization", "Basic YTpi").send().await.unwrap();
    assert_eq!(basic.status(), 401);
    app.post("/orders", "wrong", &order_body("K-2")).await.expect_error(401, "invalid_api_key");

    // Another store's order: 404 as if it did not exist (ids do not leak), and nothing changes.
    app.get(&format!("/orders/{id}"), KEY_B).await.expect_error(404, "order_not_found");
    app.get(&format!("/orders/{id}"), KEY_B).await.expect_error(404, "order_not_found"); // also when cached
    app.patch(&format!("/orders/{id}/status"), KEY_B, &json!({ "status": "cancelled" }))
        .await
        .expect_error(404, "order_not_found");
    app.delete(&format!("/orders/{id}"), KEY_B).await.expect_error(404, "order_not_found");
    app.get(&format!("/orders/{id}/track"), KEY_B).await.expect_error(404, "order_not_found");
    assert_eq!(app.get(&format!("/orders/{id}"), KEY_A).await.body["version"], 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_orders_paths_and_methods_get_json_errors() {
    let app = TestApp::spawn("unknown").await;
    app.get("/orders/0190a6b2-0000-7000-8000-000000000000", KEY_A).await.expect_error(404, "order_not_found");
    app.get("/orders/not-a-uuid", KEY_A).await.expect_error(400, "invalid_order_id");
    app.get("/nowhere", KEY_A).await.expect_error(404, "route_not_found");
    app.call(reqwest::Method::PUT, "/orders", Some(KEY_A), Some(&json!({})))
        .await
        .expect_error(405, "method_not_allowed");
    app.call(reqwest::Method::GET, "/orders/0190a6b2-0000-7000-8000-000000000000/notify", Some(KEY_A), None)
        .await
        .expect_error(405, "method_not_allowed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_store_order_number_twice_is_a_conflict() {
    let app = TestApp::spawn("duplicate").await;
    app.create("D-1").await;
    app.post("/orders", KEY_A, &order_body("D-1")).await.expect_error(409, "duplicate_store_order_number");
    let other_store = app.post("/orders", KEY_B, &order_body("D-1")).await;
    assert_eq!(other_store.status, 201, "numbers are unique per store");
    common::assert_event_count(&app.config.kafka, Topic::OrderCreated, 2).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_lists_every_route() {
    let app = TestApp::spawn("openapi").await;
    let document = app.call(reqwest::Method::GET, "/openapi.json", None, None).await;
    assert_eq!(document.status, 200);
    assert!(document.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document.body["paths"].as_object().unwrap();
    for path in [
        "/orders",
        "/orders/{id}",
        "/orders/{id}/status",
        "/orders/{id}/track",
        "/orders/{id}/delivery-time",
        "/orders/{id}/assign-courier",
        "/orders/{id}/notify",
        "/couriers/{id}/location",
        "/couriers/{id}/orders",
        "/track/{token}",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert_eq!(paths["/orders/{id}"].as_object().unwrap().len(), 2, "get and delete");
    let ui = app.client.get(format!("{}/docs/", app.base)).send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
    app.stop().await;
}
