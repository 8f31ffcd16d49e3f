//! What schemathesis found (scripts/schemathesis, docs/bad-input.md), kept as tests: a
//! point near a pole, a 405's `Allow` header and a malformed WebSocket handshake.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{OPS_KEY, TestTracker, courier_token, point};
use serde_json::Value;

/// Redis GEO sets refuse latitudes beyond ±85.05°: a search centred on a pole was a 503,
/// and a courier reporting from there could not be found.
#[tokio::test]
async fn couriers_and_searches_near_the_poles_work() {
    let tracker = TestTracker::spawn("st-poles").await;
    tracker.post("polar-1", &[point(89.5, 10.0, 5)]).await;

    let nearby = |lat: f64, radius: u32| {
        let url = format!("{}/couriers/nearby?lat={lat}&lon=10&radius_m={radius}", tracker.base);
        let request = tracker.client.get(url).bearer_auth(OPS_KEY);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = nearby(-90.0, 1).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["couriers"], serde_json::json!([]));
    let (status, body) = nearby(90.0, 50_000).await;
    assert_eq!(status, 200, "{body}");
    let found: Vec<&str> =
        body["couriers"].as_array().unwrap().iter().filter_map(|c| c["courier_id"].as_str()).collect();
    assert_eq!(found, ["polar-1"], "{body}");
    tracker.stop().await;
}

#[tokio::test]
async fn a_wrong_method_gets_405_with_the_allowed_ones() {
    let tracker = TestTracker::spawn("st-allow").await;
    let response = tracker.client.get(format!("{}/couriers/c-1/locations", tracker.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let response = tracker.client.delete(format!("{}/couriers/nearby", tracker.base)).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    tracker.stop().await;
}

/// RFC 6455: version 13 and a key of 16 bytes in base64, or 400 `not_a_websocket`.
#[tokio::test]
async fn a_malformed_websocket_handshake_is_refused() {
    let tracker = TestTracker::spawn("st-handshake").await;
    // A connection that asked for an upgrade is not kept alive: one connection per handshake.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let handshake = |version: &str, key: &str| {
        client
            .get(format!("{}/couriers/c-1/ws", tracker.base))
            .bearer_auth(courier_token("c-1"))
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", version)
            .header("Sec-WebSocket-Key", key)
            .send()
    };
    for (version, key) in [("13", "not base64"), ("13", "AAAAAAAAAAAAAAAAAAAAAA"), ("8", "dGhlIHNhbXBsZSBub25jZQ==")] {
        let response = handshake(version, key).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{version} {key}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_a_websocket");
    }
    let response = handshake("13", "dGhlIHNhbXBsZSBub25jZQ==").await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
    drop(response);
    tracker.stop().await;
}
