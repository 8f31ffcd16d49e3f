//! The other direction of schemathesis: every error code the served `/openapi.json`
//! documents for an operation is produced here by a request of its own (a recipe)
//! against a real order-api (real PostgreSQL, Redis and Kafka), and every answer must be
//! that code, with the documented status and exactly the `ErrorBody` shape. A documented
//! code without a recipe fails the test, and so does any answer with a code the document
//! does not give for that operation and status (`test_support::contract`).
//!
//! PostgreSQL is reached through a proxy that the test cuts to produce each operation's
//! 503 `service_unavailable`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Deps, KEY_A, KEY_B, TestApp, cdek_order_body, order_body};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use test_support::TcpProxy;
use test_support::contract::Contract;

/// Operations that take the storefront key, with a path (of `order`, a real order of
/// store A) that reaches the key check.
fn secured(order: &str) -> Vec<(&'static str, Method, String)> {
    vec![
        ("POST /orders", Method::POST, "/orders".into()),
        ("GET /orders", Method::GET, "/orders".into()),
        ("GET /orders/{id}", Method::GET, format!("/orders/{order}")),
        ("DELETE /orders/{id}", Method::DELETE, format!("/orders/{order}")),
        ("GET /orders/{id}/status", Method::GET, format!("/orders/{order}/status")),
        ("PATCH /orders/{id}/status", Method::PATCH, format!("/orders/{order}/status")),
        ("GET /orders/{id}/track", Method::GET, format!("/orders/{order}/track")),
        ("GET /orders/{id}/delivery-time", Method::GET, format!("/orders/{order}/delivery-time")),
        ("POST /orders/{id}/assign-courier", Method::POST, format!("/orders/{order}/assign-courier")),
        ("POST /orders/{id}/notify", Method::POST, format!("/orders/{order}/notify")),
        ("GET /couriers/{id}/location", Method::GET, "/couriers/c-1/location".into()),
        ("GET /couriers/{id}/orders", Method::GET, "/couriers/c-1/orders".into()),
    ]
}

/// A valid body for each operation that takes one.
fn valid_body(operation: &str, number: &str) -> Option<Value> {
    match operation {
        "POST /orders" => Some(order_body(number)),
        "PATCH /orders/{id}/status" => Some(json!({ "status": "picked_up" })),
        "POST /orders/{id}/assign-courier" => Some(json!({ "courier_id": "c-1" })),
        "POST /orders/{id}/notify" => Some(json!({ "message": "At the door in 5 minutes" })),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_error_is_produced_and_every_answer_is_documented() {
    let mut deps = Deps::fresh("contract").await;
    let database_url = deps.postgres.url.expose().to_owned();
    let postgres = TcpProxy::start(&test_support::address_of(&database_url)).await;
    deps.postgres = test_support::postgres_config(&test_support::with_address(&database_url, &postgres.address()));
    let app = TestApp::spawn_with(common::config(&deps)).await;
    let mut contract = Contract::fetch(&app.base).await;
    // The older service's singular routes are the same operations: every recipe of a
    // plural operation is sent to its alias too, and must be answered alike.
    for (alias, of) in [
        ("POST /order", "POST /orders"),
        ("GET /order/{id}", "GET /orders/{id}"),
        ("DELETE /order/{id}", "DELETE /orders/{id}"),
        ("GET /order/{id}/status", "GET /orders/{id}/status"),
        ("PATCH /order/{id}/status", "PATCH /orders/{id}/status"),
        ("GET /order/{id}/track", "GET /orders/{id}/track"),
        ("GET /order/{id}/delivery-time", "GET /orders/{id}/delivery-time"),
        ("POST /order/{id}/assign-courier", "POST /orders/{id}/assign-courier"),
        ("POST /order/{id}/notify", "POST /orders/{id}/notify"),
        ("GET /courier/{id}/location", "GET /couriers/{id}/location"),
        ("GET /courier/{id}/orders", "GET /couriers/{id}/orders"),
    ] {
        let prefix = if of.contains("/couriers") { ("/couriers", "/courier") } else { ("/orders", "/order") };
        contract.alias(alias, of, prefix);
    }
    let url = |path: &str| format!("{}{path}", app.base);
    let client = &app.client;
    let call = |method: Method, path: &str, key: &str| client.request(method, url(path)).bearer_auth(key);

    // The orders the recipes need: one of each state that refuses something.
    let created = app.create("C-1").await["id"].as_str().unwrap().to_owned();
    let cdek = app.post("/orders", KEY_A, &cdek_order_body("C-2")).await.body["id"].as_str().unwrap().to_owned();
    let picked_up = app.create_picked_up("C-3", "c-3").await["id"].as_str().unwrap().to_owned();
    let delivered = app.create_picked_up("C-4", "c-4").await["id"].as_str().unwrap().to_owned();
    let done = app.patch(&format!("/orders/{delivered}/status"), KEY_A, &json!({ "status": "delivered" })).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let missing = domain::ids::OrderId::new().to_string();
    let too_long_courier = "c".repeat(65);

    // 401: each secured operation, without a key, with a malformed header, with a wrong key.
    for (operation, method, path) in secured(&created) {
        let bare = || {
            let request = client.request(method.clone(), url(&path));
            match valid_body(operation, "C-401") {
                Some(body) => request.json(&body),
                None => request,
            }
        };
        contract.expect(operation, (401, "missing_api_key"), bare()).await;
        let malformed = bare().header("Authorization", format!("Basic {KEY_A}"));
        contract.expect(operation, (401, "malformed_authorization"), malformed).await;
        contract.expect(operation, (401, "invalid_api_key"), bare().bearer_auth("not-a-key-of-any-store")).await;
    }

    // Bodies: too large (the test config allows 64 KiB), not JSON, not the JSON taken, a
    // field out of its rules.
    for (operation, method, path, invalid) in [
        ("POST /orders", Method::POST, "/orders".to_owned(), {
            let mut body = order_body("C-5");
            body["destination"]["lat"] = json!(123.0);
            body
        }),
        ("PATCH /orders/{id}/status", Method::PATCH, format!("/orders/{created}/status"), json!({ "status": "lost" })),
        (
            "POST /orders/{id}/assign-courier",
            Method::POST,
            format!("/orders/{created}/assign-courier"),
            json!({ "courier_id": "no spaces allowed" }),
        ),
        ("POST /orders/{id}/notify", Method::POST, format!("/orders/{created}/notify"), json!({ "message": "   " })),
    ] {
        let request = || call(method.clone(), &path, KEY_A);
        let huge = json!({ "padding": "x".repeat(70 * 1024) });
        contract.expect(operation, (413, "body_too_large"), request().json(&huge)).await;
        let text = request().header("Content-Type", "text/plain").body("status=picked_up");
        contract.expect(operation, (415, "unsupported_media_type"), text).await;
        let not_json = request().header("Content-Type", "application/json").body("{not json");
        contract.expect(operation, (400, "malformed_body"), not_json).await;
        contract.expect(operation, (400, "validation_failed"), request().json(&invalid)).await;
    }

    // Path ids that are not ids.
    for (operation, method, path) in secured("not-a-uuid") {
        if path.contains("not-a-uuid") {
            let mut request = call(method, &path, KEY_A);
            if let Some(body) = valid_body(operation, "C-6") {
                request = request.json(&body);
            }
            contract.expect(operation, (400, "invalid_order_id"), request).await;
        }
    }
    for operation in ["location", "orders"] {
        let request = call(Method::GET, &format!("/couriers/{too_long_courier}/{operation}"), KEY_A);
        contract.expect(&format!("GET /couriers/{{id}}/{operation}"), (400, "invalid_courier_id"), request).await;
    }

    // Unknown orders, and another store's order, which looks exactly like one.
    for (operation, method, path) in secured(&missing) {
        if path.contains(&missing) {
            let mut request = call(method, &path, KEY_A);
            if let Some(body) = valid_body(operation, "C-7") {
                request = request.json(&body);
            }
            contract.expect(operation, (404, "order_not_found"), request).await;
        }
    }
    contract
        .expect("GET /orders/{id}", (404, "order_not_found"), call(Method::GET, &format!("/orders/{created}"), KEY_B))
        .await;

    // The older service's WebSocket: never upgraded, pointed to the notifier.
    contract.expect("GET /ws", (410, "websocket_moved"), client.get(url("/ws"))).await;

    // Queries.
    contract.expect("GET /orders", (400, "invalid_query"), call(Method::GET, "/orders?colour=red", KEY_A)).await;
    contract.expect("GET /orders", (400, "validation_failed"), call(Method::GET, "/orders?status=lost", KEY_A)).await;
    let bad_reason = format!("/orders/{created}?reason=a%01b");
    contract.expect("DELETE /orders/{id}", (400, "validation_failed"), call(Method::DELETE, &bad_reason, KEY_A)).await;
    let unknown_query = format!("/orders/{created}?why=1");
    contract.expect("DELETE /orders/{id}", (400, "invalid_query"), call(Method::DELETE, &unknown_query, KEY_A)).await;
    let not_bool = call(Method::GET, "/couriers/c-1/orders?active_only=maybe", KEY_A);
    contract.expect("GET /couriers/{id}/orders", (400, "invalid_query"), not_bool).await;
    let nobody = call(Method::GET, "/couriers/nobody/location", KEY_A);
    contract.expect("GET /couriers/{id}/location", (404, "courier_location_unknown"), nobody).await;

    // Creating: idempotency keys and store order numbers.
    let create = || call(Method::POST, "/orders", KEY_A);
    let bad_key = create().header("Idempotency-Key", "has a space").json(&order_body("C-8"));
    contract.expect("POST /orders", (400, "invalid_idempotency_key"), bad_key).await;
    let duplicate = create().json(&order_body("C-1"));
    contract.expect("POST /orders", (409, "duplicate_store_order_number"), duplicate).await;
    let first = create().header("Idempotency-Key", "contract-key-1").json(&order_body("C-9")).send().await.unwrap();
    assert_eq!(first.status(), 201);
    let reused = create().header("Idempotency-Key", "contract-key-1").json(&order_body("C-10"));
    contract.expect("POST /orders", (422, "idempotency_key_reused"), reused).await;
    // A saved answer sealed under a key the service no longer has cannot be replayed.
    let saved = create().header("Idempotency-Key", "contract-key-2").json(&order_body("C-11")).send().await.unwrap();
    assert_eq!(saved.status(), 201);
    let mut rotated = common::config(&deps);
    rotated.orders.saved_response_key = platform::Secret::new("another-saved-response-key-0123456789abcd");
    let rotated = TestApp::spawn_with(rotated).await;
    let replay = client
        .post(format!("{}/orders", rotated.base))
        .bearer_auth(KEY_A)
        .header("Idempotency-Key", "contract-key-2")
        .json(&order_body("C-11"));
    contract.expect("POST /orders", (409, "idempotency_response_unavailable"), replay).await;
    rotated.stop().await;

    // The status machine.
    let patch = |id: &str, body: Value| call(Method::PATCH, &format!("/orders/{id}/status"), KEY_A).json(&body);
    let operation = "PATCH /orders/{id}/status";
    contract.expect(operation, (409, "illegal_transition"), patch(&picked_up, json!({ "status": "created" }))).await;
    let carrier = patch(&created, json!({ "status": "handed_to_carrier" }));
    contract.expect(operation, (409, "not_for_delivery_method"), carrier).await;
    contract.expect(operation, (409, "order_final"), patch(&delivered, json!({ "status": "in_transit" }))).await;
    contract.expect(operation, (409, "too_late_to_cancel"), patch(&picked_up, json!({ "status": "cancelled" }))).await;
    let assigned = patch(&created, json!({ "status": "courier_assigned" }));
    contract.expect(operation, (409, "use_assign_courier"), assigned).await;
    let stale = patch(&created, json!({ "status": "cancelled", "expected_version": 99 }));
    contract.expect(operation, (409, "version_conflict"), stale).await;

    let assign = |id: &str, body: Value| call(Method::POST, &format!("/orders/{id}/assign-courier"), KEY_A).json(&body);
    let operation = "POST /orders/{id}/assign-courier";
    contract.expect(operation, (409, "not_for_delivery_method"), assign(&cdek, json!({ "courier_id": "c-1" }))).await;
    contract.expect(operation, (409, "order_final"), assign(&delivered, json!({ "courier_id": "c-1" }))).await;
    let stale = assign(&created, json!({ "courier_id": "c-1", "expected_version": 99 }));
    contract.expect(operation, (409, "version_conflict"), stale).await;

    let cancel = |id: &str| call(Method::DELETE, &format!("/orders/{id}"), KEY_A);
    contract.expect("DELETE /orders/{id}", (409, "order_final"), cancel(&delivered)).await;
    contract.expect("DELETE /orders/{id}", (409, "too_late_to_cancel"), cancel(&picked_up)).await;

    // The public tracking link.
    let unknown_link = client.get(url(&format!("/track/{}", "A".repeat(43))));
    contract.expect("GET /track/{token}", (404, "tracking_link_not_found"), unknown_link).await;
    let expiring = app.create("C-12").await["tracking"]["token"].as_str().unwrap().to_owned();
    let mut conn = platform::postgres::connect_once(&database_url).await.unwrap();
    diesel::sql_query(
        "UPDATE orders SET tracking_expires_at = now() - interval '1 minute' WHERE store_order_number = 'C-12'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    contract
        .expect("GET /track/{token}", (410, "tracking_link_expired"), client.get(url(&format!("/track/{expiring}"))))
        .await;

    // PostgreSQL down: every operation answers 503 `service_unavailable` (GET /orders/{id}
    // of an order never read, so not cached in Redis).
    postgres.cut().await;
    let unread = domain::ids::OrderId::new().to_string();
    for (operation, method, path) in secured(&unread) {
        let mut request = call(method, &path, KEY_A);
        if let Some(body) = valid_body(operation, "C-13") {
            request = request.json(&body);
        }
        contract.expect(operation, (503, "service_unavailable"), request).await;
    }
    let link = client.get(url(&format!("/track/{expiring}")));
    contract.expect("GET /track/{token}", (503, "service_unavailable"), link).await;
    postgres.restore();

    let exercised = contract.exercised();
    contract.finish();
    assert!(exercised > 80, "only {exercised} documented codes were produced");
    app.stop().await;
}
