//! The security review of the notifier (docs/security.md): credentials of other kinds
//! open neither socket (missing, forged, expired and other-order tickets are in
//! `live.rs`), and the review lists exactly the notifier's routes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use chrono::Utc;
use common::{Client, OPS_KEY, ORIGIN, TICKET_SECRET, TestNotifier, order_id, ticket};
use domain::token::Purpose;
use serde_json::json;
use test_support::security_review;

#[tokio::test(flavor = "multi_thread")]
async fn keys_and_tokens_of_other_kinds_open_neither_socket() {
    let kafka = common::kafka("notifier_sec").await;
    let notifier = TestNotifier::start(common::config(&kafka)).await;
    let id = order_id();
    let hour = Utc::now() + chrono::Duration::hours(1);
    let courier_token = domain::token::sign(TICKET_SECRET.as_bytes(), Purpose::Courier, "c-1", hour);
    let genuine = ticket(&id);
    let (payload, _) = genuine.split_once('.').unwrap();

    // The customer socket: an ops key, a storefront key, a courier token, a bare payload.
    for wrong in [OPS_KEY.to_owned(), "key-of-shop-a-0123456789".to_owned(), courier_token.clone(), payload.to_owned()]
    {
        let mut client = Client::connect(&notifier.customer_url(&wrong, Some(&id)), Some(ORIGIN), None).await;
        let error = client.next_json().await;
        assert_eq!(error["code"], "ticket_invalid", "{wrong}: {error}");
        assert_eq!(client.closed().await, (4003, "ticket_invalid".to_owned()), "{wrong}");
    }
    // A genuine ticket in a header the customer route does not read: no ticket.
    let url = format!("ws://127.0.0.1:{}/ws", notifier.port);
    let mut client = Client::connect(&url, Some(ORIGIN), Some(&genuine)).await;
    assert_eq!(client.closed().await, (4001, "ticket_missing".to_owned()));

    // The ops socket: a ticket, a courier token or a storefront key, in the header or the message.
    let ops_url = format!("ws://127.0.0.1:{}/ws/ops", notifier.port);
    for wrong in [genuine.clone(), courier_token, "key-of-shop-a-0123456789".to_owned(), format!("{OPS_KEY}x")] {
        let mut client = Client::connect(&ops_url, Some(ORIGIN), Some(&wrong)).await;
        assert_eq!(client.closed().await, (4007, "ops_key_invalid".to_owned()), "header {wrong}");
        let mut client = Client::connect(&ops_url, Some(ORIGIN), None).await;
        client.send(json!({"type": "subscribe", "key": wrong, "scope": "all"})).await;
        assert_eq!(client.closed().await, (4007, "ops_key_invalid".to_owned()), "message {wrong}");
    }
    // The right ops key from a page of another site.
    let mut client = Client::connect(&ops_url, Some("https://evil.example"), Some(OPS_KEY)).await;
    assert_eq!(client.closed().await, (4005, "origin_not_allowed".to_owned()));

    notifier.stop().await;
}

#[test]
fn the_review_lists_exactly_the_routes_of_the_notifier() {
    let registered = security_review::registered_paths(&["crates/services/notifier/src"]);
    security_review::assert_same("notifier", &registered, &security_review::documented_paths("notifier"));
    let sockets = security_review::documented("notifier");
    assert!(
        sockets.contains(&("WS".to_owned(), "/ws".to_owned()))
            && sockets.contains(&("WS".to_owned(), "/ws/ops".to_owned()))
    );
}
