//! The security review of order-api (docs/security.md): every route refuses the wrong
//! caller with its documented status and code and changes nothing, and the review lists
//! exactly the routes the app has.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use common::{KEY_A, KEY_B, TICKET_SECRET, TestApp, order_body};
use domain::token::Purpose;
use domain::topics::Topic;
use reqwest::Method;
use serde_json::{Value, json};
use test_support::security_review;

/// Every storefront route as `(method, path, body)`, for order `id` and courier `courier`,
/// with the older service's singular aliases of them (`routes/legacy.rs`).
fn storefront_routes(id: &str, courier: &str) -> Vec<(Method, String, Option<Value>)> {
    let current = current_routes(id, courier);
    let singular = |path: &str| {
        let orders = path.strip_prefix("/orders").map(|rest| format!("/order{rest}"));
        orders.or_else(|| path.strip_prefix("/couriers").map(|rest| format!("/courier{rest}")))
    };
    let mut routes: Vec<_> = current
        .iter()
        .filter(|(method, path, _)| !(*method == Method::GET && path == "/orders")) // the same in both
        .map(|(method, path, body)| (method.clone(), singular(path).expect("an old alias"), body.clone()))
        .collect();
    routes.extend(current);
    routes
}

fn current_routes(id: &str, courier: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::POST, "/orders".into(), Some(order_body("S-NEW"))),
        (Method::GET, "/orders".into(), None),
        (Method::GET, format!("/orders/{id}"), None),
        (Method::DELETE, format!("/orders/{id}"), None),
        (Method::GET, format!("/orders/{id}/status"), None),
        (Method::PATCH, format!("/orders/{id}/status"), Some(json!({ "status": "picked_up" }))),
        (Method::GET, format!("/orders/{id}/track"), None),
        (Method::GET, format!("/orders/{id}/delivery-time"), None),
        (Method::POST, format!("/orders/{id}/assign-courier"), Some(json!({ "courier_id": "c-other" }))),
        (Method::POST, format!("/orders/{id}/notify"), Some(json!({ "message": "hello" }))),
        (Method::GET, format!("/couriers/{courier}/location"), None),
        (Method::GET, format!("/couriers/{courier}/orders"), None),
    ]
}

/// Sends `method path` with a raw `Authorization` header (or none).
async fn send(app: &TestApp, method: &Method, path: &str, authorization: Option<&str>, body: Option<&Value>) -> Value {
    let mut request = app.client.request(method.clone(), format!("{}{path}", app.base));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    json!({ "status": status, "code": body["error"]["code"], "message": body["error"]["message"] })
}

/// What store A can see of its order, and what was published: must not move.
async fn snapshot(app: &TestApp, id: &str) -> Value {
    let order = app.get(&format!("/orders/{id}"), KEY_A).await;
    assert_eq!(order.status, 200, "{}", order.body);
    let listed = app.get("/orders", KEY_A).await.body["items"].as_array().unwrap().len();
    json!({ "version": order.body["version"], "status": order.body["status"],
        "courier": order.body["courier_id"], "orders_of_a": listed })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_storefront_route_refuses_callers_without_a_storefront_key_and_changes_nothing() {
    let app = TestApp::spawn("sec-keys").await;
    let order = app.create_picked_up("S-1", "c-sec").await;
    let id = order["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app, &id).await;

    // Credentials of other kinds, all genuine for what they are.
    let courier_token = domain::token::sign(
        b"a-courier-token-secret-0123456789abcdef",
        Purpose::Courier,
        "c-sec",
        Utc::now() + Duration::hours(1),
    );
    let ticket = domain::ticket::sign(TICKET_SECRET.as_bytes(), id.parse().unwrap(), Utc::now() + Duration::hours(1));
    let tracking_token = order["tracking"]["token"].as_str().map(str::to_owned);
    let mut wrong: Vec<(Option<String>, u16, &str)> = vec![
        (None, 401, "missing_api_key"),
        (Some("Basic YTpi".into()), 401, "malformed_authorization"),
        (Some("Bearer ".into()), 401, "malformed_authorization"),
        (Some(KEY_A.to_owned()), 401, "malformed_authorization"), // the key without "Bearer "
        (Some("Bearer not-a-key-of-anyone-1234".into()), 401, "invalid_api_key"),
        (Some(format!("Bearer {KEY_A}x")), 401, "invalid_api_key"),
        (Some(format!("Bearer {courier_token}")), 401, "invalid_api_key"),
        (Some(format!("Bearer {ticket}")), 401, "invalid_api_key"),
        (Some(format!("Bearer {TICKET_SECRET}")), 401, "invalid_api_key"),
    ];
    if let Some(token) = tracking_token {
        wrong.push((Some(format!("Bearer {token}")), 401, "invalid_api_key"));
    }
    for (method, path, body) in storefront_routes(&id, "c-sec") {
        for (authorization, status, code) in &wrong {
            let answer = send(&app, &method, &path, authorization.as_deref(), body.as_ref()).await;
            assert_eq!(
                (answer["status"].as_u64(), answer["code"].as_str()),
                (Some(u64::from(*status)), Some(*code)),
                "{method} {path} with {authorization:?}: {answer}"
            );
            assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
        }
    }
    assert_eq!(snapshot(&app, &id).await, before, "a refused call changed something");
    // Only the order's own events: created, assigned, picked up; no notification.
    common::assert_event_count(&app.config.kafka, Topic::OrderUpdated, 2).await;
    common::assert_event_count(&app.config.kafka, Topic::CustomerNotifications, 0).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bearer_scheme_is_case_insensitive() {
    // RFC 9110 §11.1: the authentication scheme's name is case-insensitive.
    let app = TestApp::spawn("sec-scheme").await;
    let order = app.create("S-CASE").await;
    let id = order["id"].as_str().unwrap().to_owned();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let authorization = format!("{scheme} {KEY_A}");
        let answer = send(&app, &Method::GET, &format!("/orders/{id}"), Some(&authorization), None).await;
        assert_eq!(answer["status"].as_u64(), Some(200), "{authorization}: {answer}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_stores_order_is_answered_exactly_like_one_that_does_not_exist() {
    let app = TestApp::spawn("sec-store").await;
    let order = app.create_picked_up("S-2", "c-sec2").await;
    let id = order["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app, &id).await;
    let unknown = uuid_like_but_unknown(&id);

    for (method, path, body) in storefront_routes(&id, "c-sec2") {
        let for_b = send(&app, &method, &path, Some(&format!("Bearer {KEY_B}")), body.as_ref()).await;
        if path.starts_with(&format!("/orders/{id}")) || path.starts_with(&format!("/order/{id}")) {
            // The same status, code and message (with the id swapped) as an id nobody has.
            let made_up = path.replace(&id, &unknown);
            let for_nobody = send(&app, &method, &made_up, Some(&format!("Bearer {KEY_B}")), body.as_ref()).await;
            assert_eq!(for_b["code"], "order_not_found", "{method} {path}: {for_b}");
            assert_eq!(for_b["status"], 404, "{method} {path}: {for_b}");
            let swapped = for_b["message"].as_str().unwrap().replace(&id, &unknown);
            assert_eq!(
                (for_b["status"].clone(), for_b["code"].clone(), Value::String(swapped)),
                (for_nobody["status"].clone(), for_nobody["code"].clone(), for_nobody["message"].clone()),
                "{method} {path} tells another store's order from a made-up one"
            );
        }
    }
    // The courier routes: store B sees nothing of the courier carrying store A's order.
    app.get("/couriers/c-sec2/location", KEY_B).await.expect_error(404, "courier_location_unknown");
    let listed = app.get("/couriers/c-sec2/orders?active_only=false", KEY_B).await;
    assert_eq!((listed.status, listed.body["items"].as_array().map(Vec::len)), (200, Some(0)), "{}", listed.body);
    let listed = app.get("/orders", KEY_B).await;
    assert!(listed.body["items"].as_array().unwrap().iter().all(|o| o["id"] != id.as_str()), "{}", listed.body);

    // Store B's own POST /orders worked (it is B's order); A's order did not move.
    let mut after = snapshot(&app, &id).await;
    after["orders_of_a"] = before["orders_of_a"].clone();
    assert_eq!(after, before, "store B changed store A's order");
    common::assert_event_count(&app.config.kafka, Topic::CustomerNotifications, 0).await;
    app.stop().await;
}

/// A valid order id no order has: the same id with its last hex digit changed.
fn uuid_like_but_unknown(id: &str) -> String {
    let last = if id.ends_with('0') { '1' } else { '0' };
    format!("{}{last}", &id[..id.len() - 1])
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tracking_route_takes_only_a_tracking_token_and_its_ticket_expires() {
    let app = TestApp::spawn("sec-track").await;
    let order = app.create("S-3").await;
    let id = order["id"].as_str().unwrap().to_owned();
    let ticket = domain::ticket::sign(TICKET_SECRET.as_bytes(), id.parse().unwrap(), Utc::now() + Duration::hours(1));
    let courier_token =
        domain::token::sign(b"another-secret-0123456789abcdef0123", Purpose::Courier, "c-1", Utc::now());
    for wrong in [KEY_A.to_owned(), ticket, courier_token, id.clone(), "A".repeat(43)] {
        let answer = app.call(Method::GET, &format!("/track/{wrong}"), None, None).await;
        answer.expect_error(404, "tracking_link_not_found");
        // A storefront key in the header does not open it either.
        app.call(Method::GET, &format!("/track/{wrong}"), Some(KEY_A), None)
            .await
            .expect_error(404, "tracking_link_not_found");
    }

    // The ticket handed out opens the order's socket until its expiry, and not after.
    let token = order["tracking"]["token"].as_str().unwrap();
    let public = app.call(Method::GET, &format!("/track/{token}"), None, None).await;
    assert_eq!(public.status, 200, "{}", public.body);
    let ticket = public.body["live"]["ticket"].as_str().unwrap();
    let expires_at: chrono::DateTime<Utc> = public.body["live"]["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires_at <= Utc::now() + Duration::seconds(60), "the configured TTL is 60 s: {expires_at}");
    let secret = TICKET_SECRET.as_bytes();
    assert_eq!(domain::ticket::verify(secret, ticket, Utc::now()).unwrap().0.to_string(), id);
    let later = expires_at + Duration::seconds(1);
    assert_eq!(domain::ticket::verify(secret, ticket, later), Err(domain::token::TokenError::Expired));
    assert_eq!(app.get(&format!("/orders/{id}"), KEY_A).await.body["version"], 1);
    app.stop().await;
}

#[test]
fn the_review_lists_exactly_the_routes_of_order_api() {
    use utoipa::OpenApi;
    let documented = security_review::documented("order-api");
    let document = serde_json::to_value(order_api::ApiDoc::openapi()).unwrap();
    let operations = security_review::openapi_operations(&document);
    let missing: Vec<_> = operations.difference(&documented).collect();
    assert!(missing.is_empty(), "OpenAPI operations not in docs/security.md (order-api): {missing:?}");

    let registered = security_review::registered_paths(&["crates/services/order-api/src"]);
    let paths: BTreeSet<String> = operations.iter().map(|(_, path)| path.clone()).chain(registered).collect();
    security_review::assert_same("order-api", &paths, &security_review::documented_paths("order-api"));
}
