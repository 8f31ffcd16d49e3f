//! The older service's routes (`src/routes/legacy.rs`): every singular route does what its
//! plural route does, with the same answers, refusals, limits and `Idempotency-Key`, and
//! is documented as a deprecated alias of it; `/ws` never upgrades and points to the
//! notifier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use common::{KEY_A, KEY_B, Response, TestApp, order_body};
use domain::events::envelope::Payload;
use domain::ids::CourierKey;
use domain::position::Position;
use domain::topics::Topic;
use reqwest::Method;
use serde_json::{Value, json};

/// Every old route: `(method, old path, the plural path it stands for)`. `{id}` is an
/// order id, or a courier id under `/courier`.
const ROUTES: [(&str, &str, &str); 11] = [
    ("POST", "/order", "/orders"),
    ("GET", "/order/{id}", "/orders/{id}"),
    ("DELETE", "/order/{id}", "/orders/{id}"),
    ("GET", "/order/{id}/status", "/orders/{id}/status"),
    ("PATCH", "/order/{id}/status", "/orders/{id}/status"),
    ("GET", "/order/{id}/track", "/orders/{id}/track"),
    ("GET", "/order/{id}/delivery-time", "/orders/{id}/delivery-time"),
    ("POST", "/order/{id}/assign-courier", "/orders/{id}/assign-courier"),
    ("POST", "/order/{id}/notify", "/orders/{id}/notify"),
    ("GET", "/courier/{id}/location", "/couriers/{id}/location"),
    ("GET", "/courier/{id}/orders", "/couriers/{id}/orders"),
];

/// A route's path for order `order` and courier `courier`.
fn at(path: &str, order: &str, courier: &str) -> String {
    let id = if path.starts_with("/courier") { courier } else { order };
    path.replace("{id}", id)
}

/// The plural path of an old one: `/order…` → `/orders…`, `/courier…` → `/couriers…`.
fn plural(old: &str) -> String {
    match (old.strip_prefix("/order"), old.strip_prefix("/courier")) {
        (Some(rest), _) => format!("/orders{rest}"),
        (_, Some(rest)) => format!("/couriers{rest}"),
        _ => panic!("{old} is not an old route"),
    }
}

/// A valid body for a route that takes one.
fn body_for(method: &str, plural: &str) -> Option<Value> {
    match (method, plural) {
        ("POST", "/orders") => Some(order_body("L-ANY")),
        ("PATCH", _) => Some(json!({ "status": "in_transit" })),
        ("POST", path) if path.ends_with("/assign-courier") => Some(json!({ "courier_id": "c-other" })),
        ("POST", path) if path.ends_with("/notify") => Some(json!({ "message": "hello" })),
        _ => None,
    }
}

/// What a request carries besides its method and path.
#[derive(Default, Clone)]
struct Call<'a> {
    key: Option<&'a str>,
    json: Option<Value>,
    /// A raw body and its content type, instead of `json`.
    raw: Option<(&'static str, String)>,
    headers: Vec<(&'static str, String)>,
}

impl<'a> Call<'a> {
    fn key(key: &'a str) -> Self {
        Self { key: Some(key), ..Self::default() }
    }

    fn json(self, json: Option<Value>) -> Self {
        Self { json, ..self }
    }
}

async fn send(app: &TestApp, method: &str, path: &str, what: &Call<'_>) -> Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, format!("{}{path}", app.base));
    if let Some(key) = what.key {
        request = request.bearer_auth(key);
    }
    for (name, value) in &what.headers {
        request = request.header(*name, value);
    }
    if let Some(json) = &what.json {
        request = request.json(json);
    }
    if let Some((content_type, body)) = &what.raw {
        request = request.header("Content-Type", *content_type).body(body.clone());
    }
    Response::from(request.send().await.unwrap()).await
}

/// Sends the same request to the old path and to the plural one; both must be refused
/// with `status` and `code`, with the same body and `Allow`.
async fn refused_alike(app: &TestApp, method: &str, old: &str, new: &str, what: &Call<'_>, status: u16, code: &str) {
    let by_old = send(app, method, old, what).await;
    let by_new = send(app, method, new, what).await;
    let context = format!("{method} {old} (as {method} {new})");
    assert_eq!(
        (by_old.status, by_old.body["error"]["code"].as_str()),
        (status, Some(code)),
        "{context}: {}",
        by_old.body
    );
    assert!(by_old.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{context}: {}", by_old.body);
    assert_eq!((by_old.status, &by_old.body), (by_new.status, &by_new.body), "{context}");
    assert_eq!(by_old.headers.get("allow"), by_new.headers.get("allow"), "{context}");
}

/// The JSON's shape: each value replaced by its type (arrays keep their length), so the
/// answers about two orders with the same history compare.
fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

fn position(lat: f64, seconds_ago: i64) -> Position {
    Position {
        point: domain::geo::Coordinates::parse(lat, 37.58).unwrap(),
        recorded_at: Utc::now() - chrono::Duration::seconds(seconds_ago),
        accuracy_m: 5.0,
        speed_mps: Some(8.0),
        heading_deg: Some(45.0),
    }
}

/// Two orders go through the same life, one by the old routes and one by the plural
/// ones: every step answers alike, and reads by either path give the same answer.
#[tokio::test(flavor = "multi_thread")]
async fn every_old_route_does_what_its_plural_route_does() {
    let app = TestApp::spawn("legacy-same").await;
    let key = |value: &str| Call { headers: vec![("Idempotency-Key", value.to_owned())], ..Call::key(KEY_A) };

    // Create, with an Idempotency-Key each.
    let old = send(&app, "POST", "/order", &key("old-1").json(Some(order_body("OLD-1")))).await;
    let new = send(&app, "POST", "/orders", &key("new-1").json(Some(order_body("NEW-1")))).await;
    assert_eq!((old.status, new.status), (201, 201), "{} / {}", old.body, new.body);
    assert_eq!(shape(&old.body), shape(&new.body));
    let a = old.body["id"].as_str().unwrap().to_owned();
    let b = new.body["id"].as_str().unwrap().to_owned();
    assert_eq!(old.headers["location"], format!("/orders/{a}").as_str(), "the order's address is the plural one");
    assert!(old.body["tracking"]["url"].as_str().unwrap().ends_with(old.body["tracking"]["token"].as_str().unwrap()));

    // The same key is the same key on both paths: a retry by either replays the answer.
    for path in ["/order", "/orders"] {
        let again = send(&app, "POST", path, &key("old-1").json(Some(order_body("OLD-1")))).await;
        assert_eq!((again.status, &again.body), (201, &old.body), "retry by {path}");
        assert_eq!(again.headers["idempotent-replayed"], "true", "retry by {path}");
    }
    refused_alike(
        &app,
        "POST",
        "/order",
        "/orders",
        &key("old-1").json(Some(order_body("OLD-2"))),
        422,
        "idempotency_key_reused",
    )
    .await;
    let listed = app.get("/orders", KEY_A).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2, "retries created nothing: {}", listed.body);

    // Reads of the order created by the old route, by either path.
    for route in ["/order/{id}", "/order/{id}/status", "/order/{id}/track"] {
        let by_old = app.get(&at(route, &a, ""), KEY_A).await;
        let by_new = app.get(&at(&plural(route), &a, ""), KEY_A).await;
        assert_eq!((by_old.status, &by_old.body), (200, &by_new.body), "GET {route}");
    }
    assert_eq!(app.get(&format!("/order/{a}"), KEY_A).await.body["store_order_number"], "OLD-1");
    // The estimate is computed at each call: the same answer but for its times.
    let by_old = app.get(&format!("/order/{a}/delivery-time"), KEY_A).await;
    let by_new = app.get(&format!("/orders/{a}/delivery-time"), KEY_A).await;
    assert_eq!((by_old.status, shape(&by_old.body)), (200, shape(&by_new.body)));
    assert_eq!(
        (&by_old.body["order_id"], &by_old.body["status"], &by_old.body["eta"]["source"]),
        (&by_new.body["order_id"], &by_new.body["status"], &by_new.body["eta"]["source"])
    );
    assert_eq!(by_old.body["eta"]["source"], "estimate");

    // Changes: order a by the old routes, order b by the plural ones.
    let old = app.post(&format!("/order/{a}/assign-courier"), KEY_A, &json!({ "courier_id": "c-old" })).await;
    let new = app.post(&format!("/orders/{b}/assign-courier"), KEY_A, &json!({ "courier_id": "c-new" })).await;
    assert_eq!((old.status, shape(&old.body)), (new.status, shape(&new.body)), "{}", old.body);
    assert_eq!(
        (old.body["status"].as_str(), old.body["courier_id"].as_str()),
        (Some("courier_assigned"), Some("c-old"))
    );
    let old = app.patch(&format!("/order/{a}/status"), KEY_A, &json!({ "status": "picked_up" })).await;
    let new = app.patch(&format!("/orders/{b}/status"), KEY_A, &json!({ "status": "picked_up" })).await;
    assert_eq!((old.status, shape(&old.body)), (new.status, shape(&new.body)), "{}", old.body);
    assert_eq!((old.body["status"].as_str(), old.body["version"].as_i64()), (Some("picked_up"), Some(3)));

    // The couriers report; the courier routes answer alike by either path.
    let store = app.store().await;
    for courier in ["shop-a/c-old", "shop-a/c-new"] {
        let batch = [position(55.7000, 60), position(55.7010, 40)];
        store.record_positions(&CourierKey::parse(courier).unwrap(), &batch).await.unwrap();
    }
    for route in ["/courier/{id}/location", "/courier/{id}/orders", "/courier/{id}/orders?active_only=false"] {
        let by_old = app.get(&at(route, "", "c-old"), KEY_A).await;
        let by_new = app.get(&at(&plural(route), "", "c-old"), KEY_A).await;
        assert_eq!((by_old.status, &by_old.body), (200, &by_new.body), "GET {route}");
    }
    assert_eq!(app.get("/courier/c-old/location", KEY_A).await.body["lat"], 55.7010);
    assert_eq!(app.get("/courier/c-old/orders", KEY_A).await.body["items"][0]["id"], a.as_str());
    let by_old = app.get(&format!("/order/{a}/track"), KEY_A).await;
    assert_eq!(by_old.body, app.get(&format!("/orders/{a}/track"), KEY_A).await.body);
    assert_eq!(by_old.body["courier_position"]["lat"], 55.7010, "{}", by_old.body);

    let old = app.post(&format!("/order/{a}/notify"), KEY_A, &json!({ "message": "Ring twice" })).await;
    let new = app.post(&format!("/orders/{b}/notify"), KEY_A, &json!({ "message": "Ring twice" })).await;
    assert_eq!((old.status, shape(&old.body)), (202, shape(&new.body)), "{}", old.body);
    let sent = common::events(&app.config.kafka, Topic::CustomerNotifications, 2, Duration::from_secs(20)).await;
    let notified: BTreeSet<String> = sent
        .iter()
        .map(|event| match &event.payload {
            Some(Payload::CustomerNotification(n)) if n.message == "Ring twice" => n.order_id.clone(),
            other => panic!("not the notification sent: {other:?}"),
        })
        .collect();
    assert_eq!(notified, BTreeSet::from([a.clone(), b.clone()]));

    // Both orders went through the same steps.
    let (old, new) = (app.get(&format!("/order/{a}"), KEY_A).await, app.get(&format!("/orders/{b}"), KEY_A).await);
    assert_eq!(shape(&old.body), shape(&new.body));
    let steps = |order: &Value| -> Vec<Value> {
        order["timeline"].as_array().unwrap().iter().map(|entry| entry["status"].clone()).collect()
    };
    assert_eq!((&old.body["version"], steps(&old.body)), (&new.body["version"], steps(&new.body)));

    // Cancel, before pickup, with a reason.
    let c = app.post("/order", KEY_A, &order_body("OLD-3")).await.body["id"].as_str().unwrap().to_owned();
    let d = app.create("NEW-3").await["id"].as_str().unwrap().to_owned();
    let old = app.delete(&format!("/order/{c}?reason=changed%20mind"), KEY_A).await;
    let new = app.delete(&format!("/orders/{d}?reason=changed%20mind"), KEY_A).await;
    assert_eq!((old.status, shape(&old.body)), (200, shape(&new.body)), "{}", old.body);
    assert_eq!(
        (old.body["status"].as_str(), old.body["timeline"][1]["note"].as_str()),
        (Some("cancelled"), Some("changed mind"))
    );
    let by_old = app.get(&format!("/order/{c}"), KEY_A).await;
    assert_eq!((by_old.status, &by_old.body), (200, &app.get(&format!("/orders/{c}"), KEY_A).await.body));
    assert_eq!(by_old.body["status"], "cancelled");

    // Ops can see who still calls the old routes: they are counted under their own pattern.
    let gets = ["method=\"GET\"", "route=\"/order/{id}\"", "status=\"200\""];
    assert_eq!(app.metric("ordertrack_http_requests_total", &gets).await, 4.0);
    let creates = ["method=\"POST\"", "route=\"/order\"", "status=\"201\""];
    assert_eq!(app.metric("ordertrack_http_requests_total", &creates).await, 3.0);
    app.stop().await;
}

/// Every old route refuses what its plural route refuses, with the same status, code and
/// message, and a refused call changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn every_old_route_refuses_exactly_as_its_plural_route() {
    let app = TestApp::spawn("legacy-refusals").await;
    let id = app.create_picked_up("R-1", "c-r").await["id"].as_str().unwrap().to_owned();
    let before = app.get(&format!("/orders/{id}"), KEY_A).await.body;

    for (method, old, new) in ROUTES {
        let (old, new) = (at(old, &id, "c-r"), at(new, &id, "c-r"));
        let body = body_for(method, new.as_str());
        let anonymous = Call::default().json(body.clone());
        refused_alike(&app, method, &old, &new, &anonymous, 401, "missing_api_key").await;
        let wrong = Call::key("not-a-key-of-anyone-1234").json(body.clone());
        refused_alike(&app, method, &old, &new, &wrong, 401, "invalid_api_key").await;
        let unbearered = Call { headers: vec![("Authorization", KEY_A.to_owned())], ..anonymous.clone() };
        refused_alike(&app, method, &old, &new, &unbearered, 401, "malformed_authorization").await;
        // Another store: the order is unknown to it, and so is its courier.
        let store_b = Call::key(KEY_B).json(body);
        if new.starts_with("/orders/") {
            refused_alike(&app, method, &old, &new, &store_b, 404, "order_not_found").await;
        } else if new.ends_with("/location") {
            refused_alike(&app, method, &old, &new, &store_b, 404, "courier_location_unknown").await;
        }
    }
    let listed = app.get("/courier/c-r/orders?active_only=false", KEY_B).await;
    assert_eq!(
        (listed.status, &listed.body),
        (200, &app.get("/couriers/c-r/orders?active_only=false", KEY_B).await.body)
    );
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(0), "{}", listed.body);

    // Bad input: the same 4xx and code by either path.
    let a = Call::key(KEY_A);
    let mut bad_order = order_body("R-2");
    bad_order["pickup"]["lat"] = json!(91.0);
    let huge = Call { raw: Some(("application/json", format!("\"{}\"", "x".repeat(100 * 1024)))), ..a.clone() };
    let cases: Vec<(&str, String, Call<'_>, u16, &str)> = vec![
        ("POST", "/order".into(), a.clone().json(Some(bad_order)), 400, "validation_failed"),
        (
            "POST",
            "/order".into(),
            Call { raw: Some(("application/json", "{".into())), ..a.clone() },
            400,
            "malformed_body",
        ),
        (
            "POST",
            "/order".into(),
            Call { raw: Some(("text/plain", "hi".into())), ..a.clone() },
            415,
            "unsupported_media_type",
        ),
        ("POST", "/order".into(), huge.clone(), 413, "body_too_large"),
        (
            "POST",
            "/order".into(),
            Call { headers: vec![("Idempotency-Key", "k".repeat(201))], ..a.clone().json(Some(order_body("R-3"))) },
            400,
            "invalid_idempotency_key",
        ),
        (
            "PATCH",
            format!("/order/{id}/status"),
            a.clone().json(Some(json!({ "status": "teleported" }))),
            400,
            "validation_failed",
        ),
        (
            "PATCH",
            format!("/order/{id}/status"),
            a.clone().json(Some(json!({ "status": "created" }))),
            409,
            "illegal_transition",
        ),
        ("PATCH", format!("/order/{id}/status"), huge, 413, "body_too_large"),
        ("DELETE", format!("/order/{id}"), a.clone(), 409, "too_late_to_cancel"),
        (
            "POST",
            format!("/order/{id}/assign-courier"),
            a.clone().json(Some(json!({ "courier_id": "no spaces" }))),
            400,
            "validation_failed",
        ),
        (
            "POST",
            format!("/order/{id}/notify"),
            a.clone().json(Some(json!({ "message": "  " }))),
            400,
            "validation_failed",
        ),
        ("GET", "/courier/bad%20id/location".into(), a.clone(), 400, "invalid_courier_id"),
        ("GET", "/courier/bad%20id/orders".into(), a.clone(), 400, "invalid_courier_id"),
        ("GET", "/courier/c-r/orders?active_only=maybe".into(), a.clone(), 400, "invalid_query"),
        ("GET", "/courier/c-unknown/location".into(), a.clone(), 404, "courier_location_unknown"),
    ];
    for (method, old, what, status, code) in cases {
        refused_alike(&app, method, &old, &plural(&old), &what, status, code).await;
    }
    // A path id that is not an order id, on every order route.
    for (method, old, new) in ROUTES.into_iter().filter(|(_, old, _)| old.starts_with("/order/")) {
        let what = a.clone().json(body_for(method, new));
        refused_alike(
            &app,
            method,
            &at(old, "not-a-uuid", ""),
            &at(new, "not-a-uuid", ""),
            &what,
            400,
            "invalid_order_id",
        )
        .await;
    }

    // Nothing moved: the order, the store's orders, the topics.
    assert_eq!(app.get(&format!("/order/{id}"), KEY_A).await.body, before);
    assert_eq!(app.get("/orders", KEY_A).await.body["items"].as_array().unwrap().len(), 1);
    common::assert_event_count(&app.config.kafka, Topic::OrderUpdated, 2).await; // assigned, picked up
    common::assert_event_count(&app.config.kafka, Topic::CustomerNotifications, 0).await;
    app.stop().await;
}

/// A method an old route does not take gets the plural route's 405 and `Allow`. `/order`
/// takes only `POST`: the old service listed orders at `GET /orders` too.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_method_on_an_old_route_gets_the_same_405() {
    let app = TestApp::spawn("legacy-405").await;
    let id = "0193a000-0000-7000-8000-000000000000";
    let a = Call::key(KEY_A);
    for (method, old, new) in [
        ("PUT", "/order/{id}", "/orders/{id}"),
        ("POST", "/order/{id}", "/orders/{id}"),
        ("TRACE", "/order/{id}/status", "/orders/{id}/status"),
        ("POST", "/order/{id}/track", "/orders/{id}/track"),
        ("DELETE", "/order/{id}/delivery-time", "/orders/{id}/delivery-time"),
        ("GET", "/order/{id}/assign-courier", "/orders/{id}/assign-courier"),
        ("GET", "/order/{id}/notify", "/orders/{id}/notify"),
        ("POST", "/courier/{id}/location", "/couriers/{id}/location"),
        ("DELETE", "/courier/{id}/orders", "/couriers/{id}/orders"),
    ] {
        let (old, new) = (at(old, id, "c-1"), at(new, id, "c-1"));
        refused_alike(&app, method, &old, &new, &a, 405, "method_not_allowed").await;
        let allow = send(&app, method, &old, &a).await.headers["allow"].to_str().unwrap().to_owned();
        assert!(!allow.is_empty() && !allow.contains(method), "{method} {old}: Allow {allow}");
    }
    for method in ["GET", "PUT", "DELETE"] {
        let answer = send(&app, method, "/order", &a).await;
        answer.expect_error(405, "method_not_allowed");
        assert_eq!(answer.headers["allow"], "POST", "{method} /order");
    }
    let answer = send(&app, "POST", "/ws", &a).await;
    answer.expect_error(405, "method_not_allowed");
    assert_eq!(answer.headers["allow"], "GET");
    app.stop().await;
}

/// The old service's `/ws`: a WebSocket client's handshake is refused with a plain 410
/// that names the notifier's socket, and so is a plain GET; nothing is ever upgraded.
#[tokio::test(flavor = "multi_thread")]
async fn the_old_websocket_path_points_to_the_notifier_and_never_upgrades() {
    let app = TestApp::spawn("legacy-ws").await;
    let live_url = app.config.tracking.live_url.clone();
    let ws_base = app.base.replacen("http://", "ws://", 1);
    let expect_moved = |status: u16, link: Option<&str>, body: &Value| {
        assert_eq!(status, 410, "{body}");
        assert_eq!(body["error"]["code"], "websocket_moved", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&live_url) && message.contains("GET /track/{token}"), "{message}");
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "the standard error body: {body}");
        assert_eq!(link, Some(format!("<{live_url}>; rel=\"alternate\"").as_str()));
    };

    // An old client, and one that brings a ticket to the wrong host: neither is upgraded.
    for path in ["/ws", "/ws?ticket=abc"] {
        let error = tokio_tungstenite::connect_async(format!("{ws_base}{path}")).await.unwrap_err();
        let tokio_tungstenite::tungstenite::Error::Http(refusal) = error else {
            panic!("{path}: not refused with an HTTP answer: {error}");
        };
        let body: Value = serde_json::from_slice(refusal.body().as_deref().unwrap_or_default()).unwrap();
        let link = refusal.headers().get("link").map(|v| v.to_str().unwrap());
        expect_moved(refusal.status().as_u16(), link, &body);
        assert!(refusal.headers().get("upgrade").is_none(), "{:?}", refusal.headers());
        assert_eq!(refusal.headers()["connection"], "close", "the refused handshake ends the connection");
    }

    let plain = app.call(Method::GET, "/ws", None, None).await;
    expect_moved(plain.status, plain.headers.get("link").map(|v| v.to_str().unwrap()), &plain.body);
    assert_eq!(plain.headers["content-type"], "application/json");

    // The server is not left with a half-open socket: the same connection pool still works.
    assert_eq!(app.call(Method::GET, "/healthz", None, None).await.status, 200);
    app.stop().await;
}

/// The served document lists every old route as a deprecated copy of its plural operation
/// with an operationId of its own, and `/ws` with its 410.
#[tokio::test(flavor = "multi_thread")]
async fn the_old_routes_are_documented_as_deprecated_aliases() {
    let app = TestApp::spawn("legacy-doc").await;
    let document = app.call(Method::GET, "/openapi.json", None, None).await.body;

    let mut deprecated = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(operation_ids.insert(id.to_owned()), "operationId {id} twice");
            if operation["deprecated"] == true {
                deprecated.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut expected: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(method, old, _)| ((*method).to_owned(), (*old).to_owned())).collect();
    expected.insert(("GET".to_owned(), "/ws".to_owned()));
    assert_eq!(deprecated, expected, "the deprecated operations are exactly the old routes");
    assert_eq!(operations, 13 + 11 + 1, "13 current operations, 11 aliases and /ws");

    for (method, old, new) in ROUTES {
        let lower = method.to_lowercase();
        let mut alias = document["paths"][old][&lower].clone();
        let mut plural = document["paths"][new][&lower].clone();
        let description = alias["description"].as_str().unwrap();
        assert!(description.starts_with(&format!("Deprecated: use `{method} {new}` instead.")), "{description}");
        assert!(alias["operationId"].as_str().unwrap().starts_with("legacy_"), "{alias}");
        assert_eq!(alias["tags"], json!(["legacy"]));
        assert!(plural["deprecated"].is_null(), "{method} {new} is current");
        for field in ["operationId", "deprecated", "summary", "description", "tags"] {
            alias.as_object_mut().unwrap().remove(field);
            plural.as_object_mut().unwrap().remove(field);
        }
        assert_eq!(alias, plural, "{method} {old} documents what {method} {new} does");
    }

    let websocket = &document["paths"]["/ws"]["get"];
    assert_eq!(websocket["operationId"], "legacy_websocket");
    let gone = &websocket["responses"]["410"];
    assert_eq!(gone["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody");
    assert_eq!(gone["x-error-codes"], json!(["websocket_moved"]));
    assert!(gone["headers"]["Link"].is_object(), "{gone}");
    app.stop().await;
}
