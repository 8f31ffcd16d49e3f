//! The tracker against real Postgres, Redis and Kafka: filters end to end, auth,
//! malformed batches, latest positions, ETA, geofences (also on sparse tracks), a
//! courier with two orders, restarts, and the WebSocket ingest with a real client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{OPS_KEY, TestTracker, commands, courier_token, eta_of, order, point, status_of};
use domain::events::{self as pb, envelope::Payload};
use domain::topics::Topic;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

const DESTINATION: (f64, f64) = (55.7500, 37.6000);
const PICKUP: (f64, f64) = (55.7000, 37.6000);
/// About 111 m of latitude.
const DEG_PER_111_M: f64 = 0.001;

fn order_id(n: u8) -> String {
    format!("0190a6b2-0000-7000-8000-0000000000{n:02}")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_filter_drops_its_points_and_counts_them() {
    let tracker = TestTracker::spawn("filters").await;
    let now = chrono::Utc::now();
    let ago = |seconds: i64| now - chrono::Duration::seconds(seconds);
    let point = |lat: f64, lon: f64, seconds: i64| common::point_at(lat, lon, ago(seconds));
    let mut vague = point(55.7001, 37.6, 25);
    vague["accuracy_m"] = json!(500.0);
    let batch = vec![
        point(55.7000, 37.6, 30),    // 0 accepted
        point(95.0, 37.6, 29),       // 1 out of range
        vague,                       // 2 poor accuracy
        point(55.7002, 37.6, -3600), // 3 in the future
        point(55.7003, 37.6, 3600),  // 4 too old
        point(55.7000, 37.6, 30),    // 5 exact duplicate of 0
        point(55.8000, 37.6, 20),    // 6 impossible jump (11 km in 10 s)
        point(55.70001, 37.6, 30),   // 7 same time, other place: out of order
        point(55.7010, 37.6, 10),    // 8 accepted
    ];
    let outcome = tracker.post("c-1", &batch).await;
    assert_eq!(outcome["accepted"], 2, "{outcome}");
    let dropped: Vec<(u64, &str)> = outcome["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["index"].as_u64().unwrap(), d["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        dropped,
        [
            (1, "out_of_range"),
            (2, "poor_accuracy"),
            (3, "in_future"),
            (4, "too_old"),
            (5, "duplicate"),
            (6, "impossible_jump"),
            (7, "out_of_order")
        ]
    );
    // Thinning: 0.5 s after the last point and 1 m away.
    let close = common::point_at(55.70101, 37.6, ago(10) + chrono::Duration::milliseconds(500));
    let again = tracker.post("c-1", &[close]).await;
    assert_eq!(again["dropped"][0]["reason"], "thinned", "{again}");
    // A later batch with a point older than the last accepted one.
    assert_eq!(tracker.post("c-1", &[point(55.7005, 37.6, 20)]).await["dropped"][0]["reason"], "out_of_order");

    for (reason, count) in [
        ("accepted", 2.0),
        ("out_of_range", 1.0),
        ("poor_accuracy", 1.0),
        ("in_future", 1.0),
        ("too_old", 1.0),
        ("duplicate", 1.0),
        ("impossible_jump", 1.0),
        ("out_of_order", 2.0),
        ("thinned", 1.0),
    ] {
        assert_eq!(
            tracker.metric("ordertrack_tracker_points_total", &[&format!("outcome=\"{reason}\"")]).await,
            count,
            "{reason}"
        );
    }
    let published = common::read_all(&tracker.config.kafka, Topic::CourierLocations, Duration::from_secs(5)).await;
    assert_eq!(published.len(), 1, "one message per batch with accepted points");
    let Some(Payload::CourierLocations(locations)) = &published[0].payload else { panic!() };
    assert_eq!(locations.courier_id, "c-1");
    let lats: Vec<f64> = locations.positions.iter().map(|p| p.lat).collect();
    assert_eq!(lats, [55.7000, 55.7010]);
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_must_belong_to_the_courier_and_malformed_batches_publish_nothing() {
    let tracker = TestTracker::spawn("auth").await;
    let batch = json!({ "points": [point(55.7, 37.6, 5)] });
    let (status, body) = tracker.post_as("c-2", "c-1", &batch).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("token_for_another_courier")));
    let url = format!("{}/couriers/c-1/locations", tracker.base);
    let anonymous = tracker.client.post(&url).json(&batch).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged =
        tracker.client.post(&url).bearer_auth(format!("{}x", courier_token("c-1"))).json(&batch).send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let expired = domain::token::sign(
        common::TOKEN_SECRET.as_bytes(),
        domain::token::Purpose::Courier,
        "c-1",
        chrono::Utc::now() - chrono::Duration::seconds(1),
    );
    let response = tracker.client.post(&url).bearer_auth(expired).json(&batch).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "token_expired");
    let ticket = domain::token::sign(
        common::TOKEN_SECRET.as_bytes(),
        domain::token::Purpose::LiveTicket,
        "c-1",
        chrono::Utc::now() + chrono::Duration::hours(1),
    );
    let response = tracker.client.post(&url).bearer_auth(ticket).json(&batch).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "token_wrong_purpose");

    let too_many: Vec<Value> = (0..51).map(|i| point(55.7 + f64::from(i) * 0.0001, 37.6, 60 - i64::from(i))).collect();
    for (body, code) in [
        (json!({ "points": [] }), "empty_batch"),
        (json!({ "points": too_many }), "batch_too_large"),
        (
            json!({ "points": [{ "lat": "north", "lon": 37.6, "recorded_at": "2026-11-21T12:00:00Z", "accuracy_m": 5 }] }),
            "malformed_body",
        ),
        (json!({ "points": [{ "lat": 55.7, "lon": 37.6, "accuracy_m": 5 }] }), "validation_failed"),
        (
            json!({ "points": [{ "lat": 55.7, "lon": 37.6, "recorded_at": "yesterday", "accuracy_m": 5 }] }),
            "malformed_body",
        ),
        (json!({ "positions": [] }), "malformed_body"),
    ] {
        let (status, answer) = tracker.post_as("c-1", "c-1", &body).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some(code)), "{body} → {answer}");
    }
    let (status, answer) = tracker.post_as("bad id", "bad id", &batch).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_courier_id")));
    assert!(common::read_all(&tracker.config.kafka, Topic::CourierLocations, Duration::from_secs(3)).await.is_empty());
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_missing_required_field_is_validation_failed_with_its_whole_path() {
    let tracker = TestTracker::spawn("required").await;
    let mut full = point(55.7, 37.6, 5);
    full["speed_mps"] = json!(5.0);
    full["heading_deg"] = json!(90.0);
    let mut required = Vec::new();
    for (field, without) in test_support::bodies::without_each_field(&json!({ "points": [full] })) {
        let (status, answer) = tracker.post_as("c-req", "c-req", &without).await;
        if status == 200 {
            continue; // optional
        }
        let error = &answer["error"];
        assert_eq!(
            (status, error["code"].as_str(), error["field"].as_str(), error["reason"].as_str()),
            (400, Some("validation_failed"), Some(field.as_str()), Some("required")),
            "without {field}: {answer}"
        );
        required.push(field);
    }
    required.sort();
    assert_eq!(required, ["points", "points[0].accuracy_m", "points[0].lat", "points[0].lon", "points[0].recorded_at"]);
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn latest_positions_answer_who_is_near_a_point() {
    let tracker = TestTracker::spawn("nearby").await;
    tracker.post("near", &[point(55.7505, 37.6, 20), point(55.7510, 37.6, 10)]).await; // latest: ~110 m north
    tracker.post("middle", &[point(55.7550, 37.6, 10)]).await; // ~560 m
    tracker.post("far", &[point(55.8000, 37.6, 10)]).await; // ~5.6 km
    let url = format!("{}/couriers/nearby?lat=55.75&lon=37.6&radius_m=1000", tracker.base);
    let found: Value = tracker.client.get(&url).bearer_auth(OPS_KEY).send().await.unwrap().json().await.unwrap();
    let couriers: Vec<&str> =
        found["couriers"].as_array().unwrap().iter().map(|c| c["courier_id"].as_str().unwrap()).collect();
    assert_eq!(couriers, ["near", "middle"]);
    assert_eq!(found["couriers"][0]["lat"], 55.7510, "the latest position");
    assert!((found["couriers"][0]["distance_m"].as_f64().unwrap() - 111.0).abs() < 5.0);
    assert_eq!(tracker.client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(tracker.client.get(&url).bearer_auth("wrong-key-0123456789").send().await.unwrap().status(), 401);
    let bad = tracker
        .client
        .get(format!("{}/couriers/nearby?lat=95&lon=37.6&radius_m=10", tracker.base))
        .bearer_auth(OPS_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_courier_moves_only_the_orders_of_its_own_store() {
    // Couriers belong to stores: "c-same" of the test store and "c-same" of a rival store
    // are two couriers. Each one's positions reach its own store's order only.
    let tracker = TestTracker::spawn("per_store").await;
    let (ours, theirs) = (order_id(9), order_id(10));
    tracker.order_event(order(&ours, pb::OrderStatus::InTransit, "c-same", PICKUP, DESTINATION, 4)).await;
    let rival = pb::Order {
        store_id: "rival".into(),
        ..order(&theirs, pb::OrderStatus::InTransit, "c-same", PICKUP, DESTINATION, 4)
    };
    tracker.order_event(rival).await;
    tracker.wait_known(&ours, 4).await;
    tracker.wait_known(&theirs, 4).await;
    let arrived = |all: &[pb::OrderCommand]| -> Vec<String> {
        all.iter().filter(|c| status_of(c) == Some(pb::OrderStatus::Arriving)).map(|c| c.order_id.clone()).collect()
    };
    // The rival's courier reaches the destination both orders share.
    tracker
        .post_for(
            "rival",
            "c-same",
            &[point(DESTINATION.0 - 3.0 * DEG_PER_111_M, 37.6, 40), point(DESTINATION.0, 37.6, 30)],
        )
        .await;
    test_support::eventually("the rival's order arrives", Duration::from_secs(30), || async {
        let all = commands(&tracker.config.kafka, 100, Duration::from_secs(2)).await;
        (!arrived(&all).is_empty()).then_some(())
    })
    .await;
    let all = commands(&tracker.config.kafka, 100, Duration::from_secs(3)).await;
    assert_eq!(arrived(&all), std::slice::from_ref(&theirs), "{all:#?}");
    assert!(all.iter().all(|c| c.order_id == theirs), "nothing of the rival's courier reached our order: {all:#?}");
    // Ops see both couriers near the destination, each with its store.
    tracker
        .post("c-same", &[point(DESTINATION.0 - 3.0 * DEG_PER_111_M, 37.6, 20), point(DESTINATION.0, 37.6, 10)])
        .await;
    let url = format!("{}/couriers/nearby?lat={}&lon=37.6&radius_m=1000", tracker.base, DESTINATION.0);
    let found: Value = tracker.client.get(&url).bearer_auth(OPS_KEY).send().await.unwrap().json().await.unwrap();
    let mut seen: Vec<(&str, &str)> = found["couriers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["store_id"].as_str().unwrap(), c["courier_id"].as_str().unwrap()))
        .collect();
    seen.sort();
    assert_eq!(seen, [("rival", "c-same"), (test_support::events::STORE, "c-same")]);
    // Our courier now arrives at our order, once.
    let all = test_support::eventually("our order arrives", Duration::from_secs(30), || async {
        let all = commands(&tracker.config.kafka, 100, Duration::from_secs(2)).await;
        (arrived(&all).len() >= 2).then_some(all)
    })
    .await;
    let mut both = arrived(&all);
    both.sort();
    let mut expected = vec![ours.clone(), theirs.clone()];
    expected.sort();
    assert_eq!(both, expected);
    tracker.stop().await;
}

/// A path north along the 37.6° meridian: `count` points `step_m` apart, `every_s` apart in time.
fn path_north(start_lat: f64, count: usize, step_m: f64, every_s: i64) -> Vec<Value> {
    let first = every_s * (count as i64 - 1) + 5;
    (0..count).map(|i| point(start_lat + i as f64 * step_m / 111_000.0, 37.6, first - every_s * i as i64)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eta_falls_as_the_courier_approaches() {
    let tracker = TestTracker::spawn("eta").await;
    tracker.order_event(order(&order_id(1), pb::OrderStatus::PickedUp, "c-eta", PICKUP, DESTINATION, 3)).await;
    tracker.wait_known(&order_id(1), 3).await;
    // 4.5 km south of the destination, 200 m north every 20 s (10 m/s), for 15 points.
    let path = path_north(DESTINATION.0 - 4500.0 / 111_000.0, 15, 200.0, 20);
    for batch in path.chunks(5) {
        tracker.post("c-eta", batch).await;
    }
    let etas: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> =
        test_support::eventually("ETA commands", Duration::from_secs(30), || async {
            let all = commands(&tracker.config.kafka, 100, Duration::from_secs(2)).await;
            let etas: Vec<_> = all.iter().filter_map(eta_of).collect();
            (etas.len() >= 2).then_some(etas)
        })
        .await;
    // An accurate ETA barely moves as the courier drives at the expected pace, so only
    // material changes are sent; what they say about the time still to go must fall.
    let to_go: Vec<i64> = etas.iter().map(|(expected, at)| (*expected - *at).num_seconds()).collect();
    assert!(to_go.windows(2).all(|w| w[1] < w[0]), "the time to go falls: {to_go:?}");
    // Last point 1.7 km away at the learned ~10 m/s with a 1.35 detour: about 4 minutes.
    let last = *to_go.last().unwrap();
    assert!((150..=320).contains(&last), "{to_go:?}");
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sparse_track_that_jumps_over_the_geofence_arrives_exactly_once() {
    let tracker = TestTracker::spawn("sparse").await;
    let id = order_id(2);
    tracker.order_event(order(&id, pb::OrderStatus::InTransit, "c-sparse", PICKUP, DESTINATION, 4)).await;
    tracker.wait_known(&id, 4).await;
    // 1 km south, then 1 km north of the destination: both far outside its 150 m fence.
    tracker.post("c-sparse", &[point(DESTINATION.0 - 9.0 * DEG_PER_111_M, 37.6, 60)]).await;
    tracker.post("c-sparse", &[point(DESTINATION.0 + 9.0 * DEG_PER_111_M, 37.6, 30)]).await;
    // More points around the destination later on do not arrive again.
    tracker.post("c-sparse", &[point(DESTINATION.0 + 0.5 * DEG_PER_111_M, 37.6, 10)]).await;
    tracker.post("c-sparse", &[point(DESTINATION.0, 37.6, 2)]).await;
    let arrivals =
        |all: &[pb::OrderCommand]| all.iter().filter(|c| status_of(c) == Some(pb::OrderStatus::Arriving)).count();
    let all = test_support::eventually("an arriving command", Duration::from_secs(30), || async {
        let all = commands(&tracker.config.kafka, 100, Duration::from_secs(2)).await;
        (arrivals(&all) >= 1).then_some(all)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = commands(&tracker.config.kafka, all.len() + 100, Duration::from_secs(3)).await;
    assert_eq!(arrivals(&all), 1, "{all:#?}");
    let arriving = all.iter().find(|c| status_of(c) == Some(pb::OrderStatus::Arriving)).unwrap();
    assert_eq!(arriving.command_id, format!("{id}:arriving"), "the id says what it is, so it is applied once");
    assert_eq!(arriving.order_id, id);
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pickup_then_leaving_the_pickup_point() {
    let tracker = TestTracker::spawn("pickup").await;
    let id = order_id(3);
    tracker.order_event(order(&id, pb::OrderStatus::CourierAssigned, "c-pick", PICKUP, DESTINATION, 2)).await;
    tracker.wait_known(&id, 2).await;
    tracker
        .post(
            "c-pick",
            &[
                point(PICKUP.0 - 5.0 * DEG_PER_111_M, 37.6, 90),
                point(PICKUP.0, 37.6, 60),
                point(PICKUP.0 + 5.0 * DEG_PER_111_M, 37.6, 30),
            ],
        )
        .await;
    let all = test_support::eventually("pickup and in transit", Duration::from_secs(30), || async {
        let all = commands(&tracker.config.kafka, 100, Duration::from_secs(2)).await;
        let statuses: Vec<_> = all.iter().filter_map(status_of).collect();
        (statuses.len() >= 2).then_some(statuses)
    })
    .await;
    assert_eq!(all, [pb::OrderStatus::PickedUp, pb::OrderStatus::InTransit]);
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_courier_with_two_orders_gets_an_eta_for_each_and_arrives_at_one() {
    let tracker = TestTracker::spawn("two_orders").await;
    let (near, far) = (order_id(4), order_id(5));
    tracker.order_event(order(&near, pb::OrderStatus::InTransit, "c-two", PICKUP, DESTINATION, 4)).await;
    tracker.order_event(order(&far, pb::OrderStatus::InTransit, "c-two", PICKUP, (55.7500, 37.7000), 4)).await;
    tracker.wait_known(&near, 4).await;
    tracker.wait_known(&far, 4).await;
    tracker
        .post("c-two", &[point(DESTINATION.0 - 3.0 * DEG_PER_111_M, 37.6, 40), point(DESTINATION.0, 37.6, 10)])
        .await;
    let all = test_support::eventually("commands for both orders", Duration::from_secs(30), || async {
        let all = commands(&tracker.config.kafka, 100, Duration::from_secs(2)).await;
        let eta_for = |id: &str| all.iter().any(|c| c.order_id == id && eta_of(c).is_some());
        let arrived = all.iter().any(|c| status_of(c) == Some(pb::OrderStatus::Arriving));
        (eta_for(&near) && eta_for(&far) && arrived).then_some(all)
    })
    .await;
    let arrived: Vec<&str> =
        all.iter().filter(|c| status_of(c) == Some(pb::OrderStatus::Arriving)).map(|c| c.order_id.as_str()).collect();
    assert_eq!(arrived, [near.as_str()]);
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_tracker_still_knows_its_couriers_orders() {
    let config = common::config("restart").await;
    let first = TestTracker::spawn_with(config.clone()).await;
    let id = order_id(6);
    first.order_event(order(&id, pb::OrderStatus::InTransit, "c-restart", PICKUP, DESTINATION, 4)).await;
    first.wait_known(&id, 4).await;
    first.post("c-restart", &[point(DESTINATION.0 - 20.0 * DEG_PER_111_M, 37.6, 50)]).await;
    test_support::eventually("the first tracker sends an ETA", Duration::from_secs(30), || async {
        let all = commands(&config.kafka, 100, Duration::from_secs(2)).await;
        all.iter().any(|c| c.order_id == id).then_some(())
    })
    .await;
    first.stop().await;

    // The order's event was consumed (and committed) by the first tracker: the second
    // can only know the order from the tracker's own store.
    let second = TestTracker::spawn_with(config.clone()).await;
    second.post("c-restart", &[point(DESTINATION.0 - 0.5 * DEG_PER_111_M, 37.6, 5)]).await;
    test_support::eventually("the second tracker sends arriving", Duration::from_secs(30), || async {
        let all = commands(&config.kafka, 100, Duration::from_secs(2)).await;
        all.iter().any(|c| c.order_id == id && status_of(c) == Some(pb::OrderStatus::Arriving)).then_some(())
    })
    .await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_websocket_ingest_answers_each_batch() {
    let tracker = TestTracker::spawn("ws").await;
    let ws_base = tracker.base.replacen("http://", "ws://", 1);
    let url = format!("{ws_base}/couriers/c-ws/ws?token={}", courier_token("c-ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let batch = json!({ "points": [point(55.7, 37.6, 20), point(95.0, 37.6, 10)] });
    socket.send(tokio_tungstenite::tungstenite::Message::text(batch.to_string())).await.unwrap();
    let answer = loop {
        match socket.next().await.unwrap().unwrap() {
            tokio_tungstenite::tungstenite::Message::Text(text) => break serde_json::from_str::<Value>(&text).unwrap(),
            _ => continue,
        }
    };
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["dropped"][0]["reason"], "out_of_range");
    socket.send(tokio_tungstenite::tungstenite::Message::text("not json")).await.unwrap();
    let error = loop {
        match socket.next().await.unwrap().unwrap() {
            tokio_tungstenite::tungstenite::Message::Text(text) => break serde_json::from_str::<Value>(&text).unwrap(),
            _ => continue,
        }
    };
    assert_eq!(error["error"]["code"], "malformed_body", "the connection stays open: {error}");
    socket.close(None).await.unwrap();

    let wrong = format!("{ws_base}/couriers/c-ws/ws?token={}", courier_token("c-other"));
    let refused = tokio_tungstenite::connect_async(wrong.as_str()).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");
    tracker.stop().await;
}

/// With the broker down, a courier app that keeps sending (or retrying) must get an answer
/// for every batch, 503 `broker_unavailable`, instead of its batches queueing behind each
/// other for a delivery timeout each. Nothing refused is stored: once the broker is back,
/// the same batch is accepted.
#[tokio::test(flavor = "multi_thread")]
async fn with_the_broker_down_every_batch_is_answered_503_instead_of_queueing() {
    const DELIVERY_TIMEOUT_MS: u64 = 2000;
    const BATCHES: i64 = 8;
    let mut broker = test_support::PrivateBroker::start().await;
    let mut config = common::config("tracker_broker_down").await;
    config.kafka = broker.configure(config.kafka);
    config.kafka.delivery_timeout_ms = DELIVERY_TIMEOUT_MS;
    test_support::create_system_topics(&config.kafka).await;
    let tracker = TestTracker::spawn_with(config).await;
    broker.kill();

    // Without the bound on the wait for a courier's turn, the last batch would be answered
    // only after BATCHES delivery timeouts; the client gives up after three.
    let client = reqwest::Client::builder().timeout(Duration::from_millis(3 * DELIVERY_TIMEOUT_MS)).build().unwrap();
    let batches: Vec<Value> = (0..BATCHES).map(|n| json!({ "points": [point(55.75, 37.6, 60 - n)] })).collect();
    let answers = futures::future::join_all(batches.iter().map(|body| {
        client
            .post(format!("{}/couriers/c-down/locations", tracker.base))
            .bearer_auth(courier_token("c-down"))
            .json(body)
            .send()
    }))
    .await;
    for answer in answers {
        let answer = answer.expect("every batch is answered while the broker is down");
        assert_eq!(answer.status(), 503);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "broker_unavailable", "{body}");
    }

    broker.resume().await;
    let retried = test_support::eventually("the retried batch is accepted", Duration::from_secs(60), || {
        let (tracker, body) = (&tracker, &batches[0]);
        async move {
            let (status, answer) = tracker.post_as("c-down", "c-down", body).await;
            (status == 200).then_some(answer)
        }
    })
    .await;
    assert_eq!(retried["accepted"], 1, "{retried}");
    tracker.stop().await;
}
