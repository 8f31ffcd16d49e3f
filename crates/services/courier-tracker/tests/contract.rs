//! The other direction of schemathesis: every error code the tracker's served
//! `/openapi.json` documents for an operation is produced here by a request of its own (a
//! recipe) against a real courier-tracker, and every answer must be that code, with the
//! documented status and exactly the `ErrorBody` shape. A documented code without a
//! recipe fails the test, and so does any answer with a code the document does not give
//! for that operation and status (`test_support::contract`).
//!
//! The 503s: the tracker's broker is a private one the test kills (`broker_unavailable`
//! of a batch), and Redis is reached through a proxy the test cuts (`redis_unavailable`
//! of `/couriers/nearby`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use chrono::Utc;
use common::{OPS_KEY, TOKEN_SECRET, TestTracker, courier_token, courier_token_of, point};
use domain::token::{self, Purpose};
use serde_json::json;
use test_support::contract::Contract;
use test_support::{PrivateBroker, TcpProxy};

const LOCATIONS: &str = "POST /couriers/{id}/locations";
const WS: &str = "GET /couriers/{id}/ws";
const NEARBY: &str = "GET /couriers/nearby";

/// `(Authorization header, code)` of each wrong courier credential for courier `c-1`.
fn wrong_courier_credentials() -> Vec<(Option<String>, &'static str)> {
    let secret = TOKEN_SECRET.as_bytes();
    let hour = Utc::now() + chrono::Duration::hours(1);
    let subject = format!("{}/c-1", test_support::events::STORE);
    let bearer = |token: String| Some(format!("Bearer {token}"));
    vec![
        (None, "missing_courier_token"),
        (bearer("not-a-token".into()), "token_malformed"),
        (
            bearer(token::sign(b"not-the-courier-token-secret-0123456789", Purpose::Courier, &subject, hour)),
            "token_forged",
        ),
        (bearer(token::sign(secret, Purpose::LiveTicket, &subject, hour)), "token_wrong_purpose"),
        (
            bearer(token::sign(secret, Purpose::Courier, &subject, Utc::now() - chrono::Duration::seconds(1))),
            "token_expired",
        ),
        (bearer(token::sign(secret, Purpose::Courier, "c-1", hour)), "token_without_store"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_error_is_produced_and_every_answer_is_documented() {
    let mut broker = PrivateBroker::start().await;
    let mut config = common::config("tracker_contract").await;
    config.kafka = broker.configure(config.kafka);
    config.kafka.delivery_timeout_ms = 2000;
    test_support::create_system_topics(&config.kafka).await;
    let redis = TcpProxy::start(&test_support::address_of(&test_support::redis_url())).await;
    config.redis.url = platform::Secret::new(test_support::with_address(&test_support::redis_url(), &redis.address()));
    let tracker = TestTracker::spawn_with(config).await;
    let mut contract = Contract::fetch(&tracker.base).await;
    let client = &tracker.client;
    let url = |path: &str| format!("{}{path}", tracker.base);
    let batch = json!({ "points": [point(55.75, 37.61, 5)] });
    let post = |courier: &str| client.post(url(&format!("/couriers/{courier}/locations")));
    let open = |courier: &str| client.get(url(&format!("/couriers/{courier}/ws")));

    // Credentials of both courier routes.
    for (header, code) in wrong_courier_credentials() {
        let with = |request: reqwest::RequestBuilder| match &header {
            Some(header) => request.header("Authorization", header),
            None => request,
        };
        contract.expect(LOCATIONS, (401, code), with(post("c-1").json(&batch))).await;
        contract.expect(WS, (401, code), with(open("c-1"))).await;
    }
    let other = courier_token("c-2");
    contract.expect(LOCATIONS, (403, "token_for_another_courier"), post("c-1").bearer_auth(&other).json(&batch)).await;
    contract.expect(WS, (403, "token_for_another_courier"), open("c-1").bearer_auth(&other)).await;
    let long = "c".repeat(65);
    let long_token = courier_token_of(test_support::events::STORE, &long);
    contract.expect(LOCATIONS, (400, "invalid_courier_id"), post(&long).bearer_auth(&long_token).json(&batch)).await;
    contract.expect(WS, (400, "invalid_courier_id"), open(&long).bearer_auth(&long_token)).await;
    // A genuine token, but no WebSocket handshake.
    contract.expect(WS, (400, "not_a_websocket"), open("c-1").bearer_auth(courier_token("c-1"))).await;

    // Batches.
    let as_c1 = || post("c-1").bearer_auth(courier_token("c-1"));
    let huge = json!({ "points": [], "padding": "x".repeat(300 * 1024) });
    contract.expect(LOCATIONS, (413, "body_too_large"), as_c1().json(&huge)).await;
    let text = as_c1().header("Content-Type", "text/plain").body("55.75,37.61");
    contract.expect(LOCATIONS, (415, "unsupported_media_type"), text).await;
    let not_json = as_c1().header("Content-Type", "application/json").body("{not json");
    contract.expect(LOCATIONS, (400, "malformed_body"), not_json).await;
    let no_time = json!({ "points": [{ "lat": 55.75, "lon": 37.61, "accuracy_m": 5.0 }] });
    contract.expect(LOCATIONS, (400, "validation_failed"), as_c1().json(&no_time)).await;
    contract.expect(LOCATIONS, (400, "empty_batch"), as_c1().json(&json!({ "points": [] }))).await;
    let too_many: Vec<_> = (0..51).map(|n| point(55.75, 37.61, 60 - n)).collect();
    contract.expect(LOCATIONS, (400, "batch_too_large"), as_c1().json(&json!({ "points": too_many }))).await;

    // `/couriers/nearby`.
    let nearby = |query: &str| client.get(url(&format!("/couriers/nearby?{query}")));
    let here = "lat=55.75&lon=37.61&radius_m=5000";
    contract.expect(NEARBY, (401, "missing_api_key"), nearby(here)).await;
    contract.expect(NEARBY, (401, "invalid_api_key"), nearby(here).bearer_auth("not-an-ops-key")).await;
    let no_radius = nearby("lat=55.75&lon=37.61").bearer_auth(OPS_KEY);
    contract.expect(NEARBY, (400, "invalid_query"), no_radius).await;
    let zero_radius = nearby("lat=55.75&lon=37.61&radius_m=0").bearer_auth(OPS_KEY);
    contract.expect(NEARBY, (400, "validation_failed"), zero_radius).await;

    // Redis down: the latest positions cannot be read.
    redis.cut().await;
    contract.expect(NEARBY, (503, "redis_unavailable"), nearby(here).bearer_auth(OPS_KEY)).await;
    redis.restore();

    // The broker down: a batch cannot be published.
    broker.kill();
    contract.expect(LOCATIONS, (503, "broker_unavailable"), as_c1().json(&batch)).await;

    let exercised = contract.exercised();
    contract.finish();
    assert!(exercised > 20, "only {exercised} documented codes were produced");
    tracker.stop().await;
}
