//! The notifier against the real broker with real WebSocket clients: what a customer's
//! tracking page and an ops dashboard receive, who is refused, and how it holds up with
//! slow clients, reassignments, restarts and several instances.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Client, ORIGIN, TestNotifier, order_id, ticket};
use domain::events::{self as pb, envelope::Payload};
use domain::topics::Topic;
use platform::kafka::KafkaConfig;
use serde_json::json;
use test_support::events::{STORE, order, publish, publish_order, publish_positions};

const PICKUP: (f64, f64) = (55.7558, 37.6173);
const HOME: (f64, f64) = (55.7700, 37.6400);

fn notification(order: &str, text: &str) -> Payload {
    Payload::CustomerNotification(pb::CustomerNotification {
        notification_id: uuid::Uuid::new_v4().to_string(),
        order_id: order.to_owned(),
        message: text.to_owned(),
        actor: pb::Actor::Storefront as i32,
    })
}

/// Publishes a notification to `order` as a sentinel and returns the latitudes of the
/// positions its socket received before it (anything else before it is a failure).
async fn positions_until_sentinel(kafka: &KafkaConfig, client: &mut Client, order: &str) -> Vec<f64> {
    publish(kafka, Topic::CustomerNotifications, order, notification(order, "sentinel")).await;
    let mut positions = Vec::new();
    loop {
        let message = client.next_json().await;
        match message["type"].as_str() {
            Some("position") => positions.push(message["lat"].as_f64().unwrap()),
            Some("notification") => return positions,
            _ => panic!("unexpected {message}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_gets_the_status_eta_courier_positions_and_messages_of_their_order() {
    let kafka = common::kafka("notifier_push").await;
    let notifier = TestNotifier::start(common::config(&kafka)).await;
    let id = order_id();
    let other = order_id();
    let mut created = order(&id, pb::OrderStatus::Created, "", PICKUP, HOME, 1);
    publish_order(&kafka, &created, &[]).await;
    publish_order(&kafka, &order(&other, pb::OrderStatus::Created, "", PICKUP, HOME, 1), &[]).await;

    let mut client = notifier.customer(&id).await;
    let hello = client.next_json().await;
    assert_eq!((hello["type"].as_str(), hello["order_id"].as_str()), (Some("hello"), Some(id.as_str())), "{hello}");

    // Assigned: the status change comes with its timeline entry and the version.
    created.status = pb::OrderStatus::CourierAssigned as i32;
    created.courier_id = "c-push".into();
    created.version = 2;
    publish_order(&kafka, &created, &["status", "courier_id"]).await;
    let update = client.next_of("update").await;
    assert_eq!(update["version"], 2, "{update}");
    assert_eq!(update["status"], "courier_assigned");
    assert_eq!(update["timeline_entry"]["status"], "courier_assigned");
    assert_eq!(update["courier_assigned"], true);
    assert!(update.get("courier_id").is_none(), "customers never see who: {update}");

    // The courier's positions, the last one of the batch with the whole trail.
    publish_positions(&kafka, STORE, "c-push", &[(55.7560, 37.6180), (55.7570, 37.6200)]).await;
    let position = client.next_of("position").await;
    assert_eq!((position["lat"].as_f64(), position["lon"].as_f64()), (Some(55.7570), Some(37.6200)), "{position}");
    assert_eq!(position["trail"].as_array().map(Vec::len), Some(2));
    assert_eq!(position["version"], 2);

    // An ETA change.
    let now = chrono::Utc::now();
    let ts = |minutes: i64| Some(domain::convert::timestamp(now + chrono::Duration::minutes(minutes)));
    created.eta = Some(pb::Eta {
        expected_at: ts(20),
        earliest: ts(15),
        latest: ts(25),
        source: pb::EtaSource::Tracker as i32,
        computed_at: ts(0),
    });
    created.version = 3;
    publish_order(&kafka, &created, &["eta"]).await;
    let eta = client.next_of("update").await;
    assert_eq!((eta["version"].as_i64(), eta["changed"][0].as_str()), (Some(3), Some("eta")), "{eta}");
    assert_eq!(eta["eta"]["source"], "tracker");
    assert!(eta["timeline_entry"].is_null());

    // A message for the customer; another order's message and changes do not come.
    publish(&kafka, Topic::CustomerNotifications, &other, notification(&other, "not yours")).await;
    publish_order(&kafka, &order(&other, pb::OrderStatus::Cancelled, "", PICKUP, HOME, 2), &["status"]).await;
    publish(&kafka, Topic::CustomerNotifications, &id, notification(&id, "at the door in 5 minutes")).await;
    let message = client.next_json().await;
    assert_eq!(message["type"], "notification", "{message}");
    assert_eq!(message["message"], "at the door in 5 minutes");
    assert_eq!(message["from"], "storefront");
    assert!(client.try_next_json(Duration::from_millis(500)).await.is_none());
    notifier.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_forged_expired_and_other_order_tickets_and_foreign_origins_are_refused_with_a_close_code() {
    let kafka = common::kafka("notifier_refuse").await;
    let notifier = TestNotifier::start(common::config(&kafka)).await;
    let id = order_id();
    let forged = domain::ticket::sign(
        b"some-other-secret-of-the-same-length-0123",
        id.parse().unwrap(),
        chrono::Utc::now() + chrono::Duration::minutes(2),
    );
    let expired = domain::ticket::sign(
        common::TICKET_SECRET.as_bytes(),
        id.parse().unwrap(),
        chrono::Utc::now() - chrono::Duration::seconds(1),
    );
    let cases = [
        (format!("ws://127.0.0.1:{}/ws", notifier.port), ORIGIN, 4001, "ticket_missing"),
        (notifier.customer_url(&forged, Some(&id)), ORIGIN, 4003, "ticket_invalid"),
        (notifier.customer_url("not-a-ticket", Some(&id)), ORIGIN, 4003, "ticket_invalid"),
        (notifier.customer_url(&expired, Some(&id)), ORIGIN, 4002, "ticket_expired"),
        (notifier.customer_url(&ticket(&id), Some(&order_id())), ORIGIN, 4004, "ticket_wrong_order"),
        (notifier.customer_url(&ticket(&id), Some(&id)), "https://evil.example", 4005, "origin_not_allowed"),
    ];
    for (url, origin, code, reason) in cases {
        let mut client = Client::connect(&url, Some(origin), None).await;
        let error = client.next_json().await;
        assert_eq!(error["code"], reason, "{url}");
        assert_eq!(client.closed().await, (code, reason.to_owned()), "{url}");
    }
    // A courier token is signed with another purpose and is no ticket, even under the same secret.
    let courier_token = domain::token::sign(
        common::TICKET_SECRET.as_bytes(),
        domain::token::Purpose::Courier,
        &id,
        chrono::Utc::now() + chrono::Duration::minutes(2),
    );
    let mut client = Client::connect(&notifier.customer_url(&courier_token, None), Some(ORIGIN), None).await;
    assert_eq!(client.closed().await.0, 4003);

    // Ops: a wrong key in the header, a wrong key in the message, no key in time.
    let ops_url = format!("ws://127.0.0.1:{}/ws/ops", notifier.port);
    let mut client = Client::connect(&ops_url, None, Some("not-the-ops-key-0000")).await;
    assert_eq!(client.closed().await, (4007, "ops_key_invalid".to_owned()));
    let mut client = Client::connect(&ops_url, Some(ORIGIN), None).await;
    client.send(json!({"type": "subscribe", "key": "not-the-ops-key-0000", "scope": "all"})).await;
    assert_eq!(client.closed().await, (4007, "ops_key_invalid".to_owned()));
    let mut client = Client::connect(&ops_url, Some(ORIGIN), None).await;
    assert_eq!(client.closed().await, (4006, "ops_key_missing".to_owned()));
    // A valid key with a malformed scope hears what is wrong with the scope, stays open,
    // and subscribes when it sends a good one.
    let mut client = Client::connect(&ops_url, Some(ORIGIN), None).await;
    let bad = json!({"type": "subscribe", "key": common::OPS_KEY, "scope": {"area": {"min_lat": "north"}}});
    client.send(bad).await;
    let error = client.next_json().await;
    assert_eq!((error["type"].as_str(), error["code"].as_str()), (Some("error"), Some("bad_scope")), "{error}");
    client.send(json!({"type": "subscribe", "scope": "all"})).await;
    assert_eq!(client.next_json().await["type"], "subscribed");
    assert!(notifier.metric("ordertrack_notifier_sockets_closed_total", &["ticket_invalid"]).await >= 3.0);

    // A good ticket from an allowed origin, and from a client that is not a browser.
    for origin in [Some(ORIGIN), None] {
        let mut client = Client::connect(&notifier.customer_url(&ticket(&id), Some(&id)), origin, None).await;
        assert_eq!(client.next_json().await["type"], "hello");
    }
    notifier.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_client_does_not_delay_a_fast_one_and_is_dropped_past_its_queue_limit() {
    let kafka = common::kafka("notifier_slow").await;
    let mut config = common::config(&kafka);
    config.ws.queue_limit = 16;
    let notifier = TestNotifier::start(config).await;
    let id = order_id();
    let mut slow = notifier.customer(&id).await;
    let mut fast = notifier.customer(&id).await;
    assert_eq!(fast.next_json().await["type"], "hello");

    // 12 MB of messages: more than the socket buffers hold, so the slow client (which
    // reads nothing) backs up into its queue, while the fast one gets every message.
    let text = "x".repeat(60_000);
    let total = 200;
    let mut received = 0;
    let producer = platform::kafka::producer(&kafka, "test").unwrap();
    let topic = kafka.topic(Topic::CustomerNotifications);
    let events: Vec<Vec<u8>> =
        (0..total).map(|n| test_support::events::encode(notification(&id, &format!("{n} {text}")))).collect();
    // Ten at a time: the fast client reads each ten before the next are sent, so it
    // never has more than ten waiting; the slow one piles up everything.
    for chunk in events.chunks(10) {
        let sends = chunk.iter().map(|event| platform::kafka::publish(&producer, &topic, &id, event));
        assert!(futures::future::join_all(sends).await.iter().all(Result::is_ok));
        for _ in chunk {
            let message = fast.next_of("notification").await;
            let text = message["message"].as_str().unwrap();
            assert!(text.starts_with(&format!("{} ", received)), "in order, none missing: got {}", &text[..8]);
            received += 1;
        }
    }
    assert_eq!(received, total);

    // The slow client gets what was already on its way, then the close code.
    let (code, reason) = slow.closed().await;
    assert_eq!((code, reason.as_str()), (4008, "too_slow"));
    assert!(notifier.metric("ordertrack_notifier_sockets_closed_total", &["too_slow"]).await >= 1.0);
    notifier.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_reassignment_positions_follow_the_new_courier() {
    let kafka = common::kafka("notifier_reassign").await;
    let notifier = TestNotifier::start(common::config(&kafka)).await;
    let id = order_id();
    let mut assigned = order(&id, pb::OrderStatus::CourierAssigned, "c-first", PICKUP, HOME, 2);
    publish_order(&kafka, &assigned, &["status", "courier_id"]).await;
    let mut client = notifier.customer(&id).await;
    // The hello may come before or after the notifier read the assignment.
    let hello = client.next_json().await;
    if hello["version"] != 2 {
        assert_eq!(client.next_of("update").await["version"], 2);
    }
    publish_positions(&kafka, STORE, "c-first", &[(55.7601, 37.6201)]).await;
    assert_eq!(client.next_of("position").await["lat"], 55.7601);

    assigned.courier_id = "c-second".into();
    assigned.version = 3;
    publish_order(&kafka, &assigned, &["courier_id"]).await;
    let update = client.next_of("update").await;
    assert_eq!((update["version"].as_i64(), update["changed"][0].as_str()), (Some(3), Some("courier_id")));

    publish_positions(&kafka, STORE, "c-first", &[(55.7602, 37.6202)]).await;
    publish_positions(&kafka, STORE, "c-second", &[(55.7603, 37.6203)]).await;
    notifier.wait_positions_read(3.0).await;
    // Each live event's delay from its Kafka timestamp is measured.
    let delays = notifier.metric("ordertrack_notifier_event_delay_seconds_count", &["courier_locations"]).await;
    assert_eq!(delays, 3.0);
    let positions = positions_until_sentinel(&kafka, &mut client, &id).await;
    assert_eq!(positions, [55.7603], "only the new courier's position");
    notifier.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_courier_reaches_only_the_orders_of_its_own_store() {
    // Couriers belong to stores: the rival store's "c-same" is not ours, though the ids match.
    let kafka = common::kafka("notifier_per_store").await;
    let notifier = TestNotifier::start(common::config(&kafka)).await;
    let (ours, theirs) = (order_id(), order_id());
    publish_order(&kafka, &order(&ours, pb::OrderStatus::CourierAssigned, "c-same", PICKUP, HOME, 2), &["status"])
        .await;
    let rival = pb::Order {
        store_id: "rival".into(),
        ..order(&theirs, pb::OrderStatus::CourierAssigned, "c-same", PICKUP, HOME, 2)
    };
    publish_order(&kafka, &rival, &["status"]).await;
    let mut clients = Vec::new();
    for id in [&ours, &theirs] {
        let mut client = notifier.customer(id).await;
        if client.next_json().await["version"] != 2 {
            assert_eq!(client.next_of("update").await["version"], 2);
        }
        clients.push(client);
    }
    publish_positions(&kafka, "rival", "c-same", &[(55.6100, 37.6100)]).await;
    publish_positions(&kafka, STORE, "c-same", &[(55.7603, 37.6203)]).await;
    notifier.wait_positions_read(2.0).await;
    for (client, (id, lat)) in clients.iter_mut().zip([(&ours, 55.7603), (&theirs, 55.6100)]) {
        let positions = positions_until_sentinel(&kafka, client, id).await;
        assert_eq!(positions, [lat], "order {id} sees its own store's courier only");
    }
    // Ops see both couriers, each with its store and its own store's order.
    let mut ops =
        notifier.ops(json!({"area": {"min_lat": 55.5, "min_lon": 37.3, "max_lat": 56.0, "max_lon": 37.9}})).await;
    let snapshot = ops.next_json().await;
    let mut couriers: Vec<(String, String, serde_json::Value)> = snapshot["couriers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["store_id"].as_str().unwrap().to_owned(),
                c["courier_id"].as_str().unwrap().to_owned(),
                c["orders"].clone(),
            )
        })
        .collect();
    couriers.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        couriers,
        [
            ("rival".to_owned(), "c-same".to_owned(), json!([theirs])),
            (STORE.to_owned(), "c-same".to_owned(), json!([ours]))
        ],
        "{snapshot}"
    );
    notifier.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_notifier_still_routes_couriers_assigned_before_it_started() {
    let kafka = common::kafka("notifier_restart").await;
    let first = TestNotifier::start(common::config(&kafka)).await;
    first.stop().await;

    // Assigned while no notifier runs.
    let id = order_id();
    publish_order(&kafka, &order(&id, pb::OrderStatus::Created, "", PICKUP, HOME, 1), &[]).await;
    publish_order(
        &kafka,
        &order(&id, pb::OrderStatus::InTransit, "c-before", PICKUP, HOME, 2),
        &["status", "courier_id"],
    )
    .await;

    // Ready only once it has read the order topics back.
    let notifier = TestNotifier::start(common::config(&kafka)).await;
    let mut client = notifier.customer(&id).await;
    let hello = client.next_json().await;
    assert_eq!((hello["known"].as_bool(), hello["version"].as_i64()), (Some(true), Some(2)), "{hello}");
    assert_eq!(hello["status"], "in_transit");
    publish_positions(&kafka, STORE, "c-before", &[(55.7650, 37.6300)]).await;
    assert_eq!(client.next_of("position").await["lat"], 55.7650);
    // The order events read back at start-up are not live: their delay is not measured.
    let mut delays = Vec::new();
    for topic in ["order_created", "order_updated", "courier_locations"] {
        delays.push(notifier.metric("ordertrack_notifier_event_delay_seconds_count", &[topic]).await);
    }
    assert_eq!(delays, [0.0, 0.0, 1.0]);
    notifier.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_each_deliver_every_event_to_their_own_clients() {
    let kafka = common::kafka("notifier_two").await;
    let one = TestNotifier::start(common::config(&kafka)).await;
    let two = TestNotifier::start(common::config(&kafka)).await;
    // Orders spread over both partitions; each instance has clients of all of them.
    let orders: Vec<String> = (0..6).map(|_| order_id()).collect();
    let mut clients = Vec::new();
    for id in &orders {
        for notifier in [&one, &two] {
            let mut client = notifier.customer(id).await;
            assert_eq!(client.next_json().await["type"], "hello");
            clients.push((id.clone(), client));
        }
    }
    for id in &orders {
        publish_order(&kafka, &order(id, pb::OrderStatus::CourierAssigned, "c-two", PICKUP, HOME, 2), &["status"])
            .await;
    }
    for (id, client) in &mut clients {
        let update = client.next_of("update").await;
        assert_eq!((update["order_id"].as_str(), update["version"].as_i64()), (Some(id.as_str()), Some(2)));
    }
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ops_dashboard_sees_the_orders_and_couriers_of_its_area() {
    let kafka = common::kafka("notifier_ops").await;
    let notifier = TestNotifier::start(common::config(&kafka)).await;
    let moscow = order_id();
    let elsewhere = order_id();
    publish_order(&kafka, &order(&moscow, pb::OrderStatus::CourierAssigned, "c-ops", PICKUP, HOME, 2), &["status"])
        .await;
    publish_order(&kafka, &order(&elsewhere, pb::OrderStatus::Created, "", PICKUP, (59.93, 30.33), 1), &[]).await;
    test_support::eventually("the orders are known", Duration::from_secs(20), || async {
        let read = notifier.metric("ordertrack_notifier_events_total", &["applied", "order_"]).await;
        (read >= 2.0).then_some(())
    })
    .await;

    let area = json!({"area": {"min_lat": 55.5, "min_lon": 37.3, "max_lat": 56.0, "max_lon": 37.9}});
    let mut ops = notifier.ops(area).await;
    let snapshot = ops.next_json().await;
    assert_eq!(snapshot["type"], "snapshot");
    let ids: Vec<&str> = snapshot["orders"].as_array().unwrap().iter().filter_map(|o| o["order_id"].as_str()).collect();
    assert_eq!(ids, [moscow.as_str()], "only the order inside the area: {snapshot}");
    assert_eq!(snapshot["orders"][0]["courier_id"], "c-ops");

    publish_positions(&kafka, STORE, "c-far", &[(59.93, 30.33)]).await;
    publish_positions(&kafka, STORE, "c-ops", &[(55.7600, 37.6200)]).await;
    let courier = ops.next_of("courier").await;
    assert_eq!(courier["courier_id"], "c-ops", "{courier}");
    assert_eq!(courier["orders"], json!([moscow]));
    publish_order(&kafka, &order(&moscow, pb::OrderStatus::PickedUp, "c-ops", PICKUP, HOME, 3), &["status"]).await;
    let update = ops.next_of("order").await;
    assert_eq!((update["order_id"].as_str(), update["status"].as_str()), (Some(moscow.as_str()), Some("picked_up")));

    // The same with the key in a header, subscribed to everything.
    let url = format!("ws://127.0.0.1:{}/ws/ops", notifier.port);
    let mut all = Client::connect(&url, None, Some(common::OPS_KEY)).await;
    all.send(json!({"type": "subscribe", "scope": "all"})).await;
    assert_eq!(all.next_json().await["type"], "subscribed");
    let snapshot = all.next_json().await;
    assert_eq!(snapshot["orders"].as_array().map(Vec::len), Some(2), "{snapshot}");
    notifier.stop().await;
}
