//! The security review of courier-tracker (docs/security.md): both courier routes take
//! only a genuine, unexpired courier token for the courier of the path, `/couriers/nearby`
//! only an ops key; refusals have their documented status and code and store or publish
//! nothing; and the review lists exactly the routes the tracker has.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use common::{OPS_KEY, TOKEN_SECRET, TestTracker, courier_token, point};
use domain::token::{self, Purpose};
use domain::topics::Topic;
use serde_json::{Value, json};
use test_support::security_review;

/// `(Authorization header, status, code)` of every wrong credential for courier `c-1`.
fn wrong_courier_credentials() -> Vec<(Option<String>, u16, &'static str)> {
    let secret = TOKEN_SECRET.as_bytes();
    let hour = Utc::now() + chrono::Duration::hours(1);
    let genuine = courier_token("c-1");
    let expired = token::sign(secret, Purpose::Courier, "c-1", Utc::now() - chrono::Duration::seconds(1));
    let forged = token::sign(b"not-the-courier-token-secret-0123456789", Purpose::Courier, "c-1", hour);
    let ticket = token::sign(secret, Purpose::LiveTicket, "c-1", hour);
    let (payload, signature) = genuine.split_once('.').unwrap();
    // The payload of c-2's token with c-1's signature: a changed subject breaks the signature.
    let other_payload = courier_token("c-2").split_once('.').unwrap().0.to_owned();
    vec![
        (None, 401, "missing_courier_token"),
        (Some(format!("Bearer {payload}")), 401, "token_malformed"),
        (Some(format!("Bearer {OPS_KEY}")), 401, "token_malformed"),
        (Some("Bearer key-of-shop-a-0123456789".into()), 401, "token_malformed"),
        (Some(format!("Bearer {other_payload}.{signature}")), 401, "token_forged"),
        // A token of the time before couriers belonged to stores: genuine, but whose?
        (Some(format!("Bearer {}", token::sign(secret, Purpose::Courier, "c-1", hour))), 401, "token_without_store"),
        (Some(format!("Bearer {forged}")), 401, "token_forged"),
        (Some(format!("Bearer {ticket}")), 401, "token_wrong_purpose"),
        // A real ticket, signed with the notifier's ticket secret (not the courier secret).
        (
            Some(format!(
                "Bearer {}",
                domain::ticket::sign(b"the-notifier-ticket-secret-0123456789", domain::ids::OrderId::new(), hour)
            )),
            401,
            "token_wrong_purpose",
        ),
        (Some(format!("Bearer {expired}")), 401, "token_expired"),
        (Some(format!("Bearer {}", courier_token("c-2"))), 403, "token_for_another_courier"),
    ]
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_courier_routes_refuse_every_wrong_token_and_store_nothing() {
    let tracker = TestTracker::spawn("sec-courier").await;
    let batch = json!({ "points": [point(55.75, 37.61, 5)] });
    for (authorization, status, code) in wrong_courier_credentials() {
        let mut post = tracker.client.post(format!("{}/couriers/c-1/locations", tracker.base)).json(&batch);
        // The WebSocket upgrade is refused before it happens, with the same answer.
        // A connection of its own: the server closes one it refused an upgrade on.
        let mut ws = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
            .get(format!("{}/couriers/c-1/ws", tracker.base))
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        if let Some(value) = &authorization {
            post = post.header("Authorization", value);
            ws = ws.header("Authorization", value);
        }
        for (route, (got, body)) in [
            ("POST locations", answer(post.send().await.unwrap()).await),
            ("GET ws", answer(ws.send().await.unwrap()).await),
        ] {
            assert_eq!(
                (got, body["error"]["code"].as_str()),
                (status, Some(code)),
                "{route} with {authorization:?}: {body}"
            );
        }
    }
    // Browsers put the token in the query; the same refusals apply there.
    let expired =
        token::sign(TOKEN_SECRET.as_bytes(), Purpose::Courier, "c-1", Utc::now() - chrono::Duration::hours(1));
    let url = format!("{}/couriers/c-1/locations?token={expired}", tracker.base);
    let (status, body) = answer(tracker.client.post(url).json(&batch).send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_expired")), "{body}");

    // Nothing was stored or published: the courier is nowhere, no position went out.
    let nearby = format!("{}/couriers/nearby?lat=55.75&lon=37.61&radius_m=5000", tracker.base);
    let (status, body) = answer(tracker.client.get(&nearby).bearer_auth(OPS_KEY).send().await.unwrap()).await;
    assert_eq!((status, body["couriers"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    let published = common::read_all(&tracker.config.kafka, Topic::CourierLocations, Duration::from_secs(3)).await;
    assert!(published.is_empty(), "refused batches were published: {published:?}");

    // The genuine token still works (the refusals did not lock the courier out).
    tracker.post("c-1", &[point(55.75, 37.61, 5)]).await;
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nearby_takes_only_an_ops_key() {
    let tracker = TestTracker::spawn("sec-nearby").await;
    let url = format!("{}/couriers/nearby?lat=55.75&lon=37.61&radius_m=5000", tracker.base);
    for (authorization, code) in [
        (None, "missing_api_key"),
        (Some(format!("Bearer {}", courier_token("c-1"))), "invalid_api_key"),
        (Some("Bearer key-of-shop-a-0123456789".to_owned()), "invalid_api_key"),
        (Some(format!("Bearer {OPS_KEY}x")), "invalid_api_key"),
    ] {
        let mut request = tracker.client.get(&url);
        if let Some(value) = &authorization {
            request = request.header("Authorization", value);
        }
        let (status, body) = answer(request.send().await.unwrap()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some(code)), "{authorization:?}: {body}");
    }
    let (status, _) = answer(tracker.client.get(&url).bearer_auth(OPS_KEY).send().await.unwrap()).await;
    assert_eq!(status, 200);
    tracker.stop().await;
}

#[test]
fn the_review_lists_exactly_the_routes_of_the_tracker() {
    use utoipa::OpenApi;
    let documented = security_review::documented("courier-tracker");
    let document = serde_json::to_value(courier_tracker::ApiDoc::openapi()).unwrap();
    let operations = security_review::openapi_operations(&document);
    // The WebSocket route is documented as WS (a GET upgrade).
    let operations: BTreeSet<(String, String)> = operations
        .into_iter()
        .map(|(method, path)| if path.ends_with("/ws") { ("WS".to_owned(), path) } else { (method, path) })
        .collect();
    let missing: Vec<_> = operations.difference(&documented).collect();
    assert!(missing.is_empty(), "OpenAPI operations not in docs/security.md (courier-tracker): {missing:?}");

    let registered = security_review::registered_paths(&["crates/services/courier-tracker/src"]);
    let paths: BTreeSet<String> = operations.iter().map(|(_, path)| path.clone()).chain(registered).collect();
    security_review::assert_same("courier-tracker", &paths, &security_review::documented_paths("courier-tracker"));
}
