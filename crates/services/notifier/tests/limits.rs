//! A flood of sockets beyond `ws.max_sockets` is refused with 1013 `too_many_sockets`
//! while a customer already connected keeps receiving its order's events, and
//! connections that never upgrade (never send a request) are closed by the server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Client, ORIGIN, TestNotifier, order_id, ticket};
use domain::events as pb;
use notifier::config::WsConfig;
use platform::http::HttpConfig;
use test_support::events::{order, publish_order};

const PICKUP: (f64, f64) = (55.7558, 37.6173);
const HOME: (f64, f64) = (55.7700, 37.6400);

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_sockets_is_refused_while_a_connected_customer_keeps_its_events() {
    let kafka = common::kafka("notifier_flood").await;
    let mut config = common::config(&kafka);
    config.ws = WsConfig { max_sockets: 3, ..config.ws };
    config.http = HttpConfig { client_request_timeout_ms: 1000, ..config.http };
    let notifier = TestNotifier::start(config).await;

    let id = order_id();
    let mut tracked = order(&id, pb::OrderStatus::Created, "", PICKUP, HOME, 1);
    publish_order(&kafka, &tracked, &[]).await;
    let mut customer = notifier.customer(&id).await;
    assert_eq!(customer.next_json().await["type"], "hello");
    let mut others = Vec::new();
    for _ in 0..2 {
        let mut other = notifier.customer(&order_id()).await;
        assert_eq!(other.next_json().await["type"], "hello");
        others.push(other);
    }

    // The instance is full: every further socket, customer or ops, is closed with 1013.
    for _ in 0..20 {
        let other = order_id();
        let mut refused =
            Client::connect(&notifier.customer_url(&ticket(&other), Some(&other)), Some(ORIGIN), None).await;
        assert_eq!(refused.closed().await, (1013, "too_many_sockets".to_owned()));
    }
    let mut ops = Client::connect(&format!("ws://127.0.0.1:{}/ws/ops", notifier.port), Some(ORIGIN), None).await;
    assert_eq!(ops.closed().await, (1013, "too_many_sockets".to_owned()));

    // Connections that never send a request are closed too (408, then the connection).
    test_support::limits::silent_connections_are_closed(&format!("127.0.0.1:{}", notifier.port), 50).await;
    test_support::limits::assert_ambiguous_framing_is_refused_and_closes(
        &format!("127.0.0.1:{}", notifier.port),
        "/ws",
    )
    .await;

    // The customer connected before the flood still gets every change of its order.
    tracked.status = pb::OrderStatus::CourierAssigned as i32;
    tracked.courier_id = "c-flood".into();
    tracked.version = 2;
    publish_order(&kafka, &tracked, &["status", "courier_id"]).await;
    let update = customer.next_of("update").await;
    assert_eq!((update["version"].as_i64(), update["status"].as_str()), (Some(2), Some("courier_assigned")));

    // A socket that leaves frees its slot for the next one.
    drop(others.pop());
    let next = order_id();
    publish_order(&kafka, &order(&next, pb::OrderStatus::Created, "", PICKUP, HOME, 1), &[]).await;
    test_support::eventually("a slot is free again", Duration::from_secs(30), || async {
        // Refused, the first message is the error `too_many_sockets`; admitted, the hello.
        let mut client = notifier.customer(&next).await;
        let first = client.try_next_json(Duration::from_secs(5)).await?;
        (first["type"] == "hello").then_some(())
    })
    .await;
    assert!(notifier.metric("ordertrack_notifier_sockets_closed_total", &["too_many_sockets"]).await >= 21.0);
    notifier.stop().await;
}
