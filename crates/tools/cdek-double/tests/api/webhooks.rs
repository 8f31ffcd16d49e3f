//! Subscriptions (at most two) and ORDER_STATUS deliveries with retries.

use cdek_double::DoubleConfig;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Receiver, TestDouble, fast_config, is_cdek_date_time, request_error_codes};

#[tokio::test]
async fn subscribe_list_delete_and_the_limit_of_two() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let mut uuids = Vec::new();
    for n in 0..2 {
        let (status, answer) = t
            .post(
                &token,
                "/webhooks",
                &json!({"type": "ORDER_STATUS", "url": format!("https://shop.example/hook/{n}")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(answer["requests"].is_array());
        uuids.push(answer["entity"]["uuid"].as_str().unwrap().to_owned());
    }
    let (status, answer) =
        t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": "https://shop.example/hook/2"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(request_error_codes(&answer), vec!["v2_too_many_webhooks"]);

    let (status, list) = t.get(&token, "/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["uuid"], uuids[0].as_str());
    assert_eq!(list[0]["type"], "ORDER_STATUS");
    assert_eq!(list[0]["url"], "https://shop.example/hook/0");

    let (status, _) = t.delete(&token, &format!("/webhooks/{}", uuids[0])).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t.delete(&token, &format!("/webhooks/{}", uuids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(request_error_codes(&body), vec!["v2_entity_not_found"]);
    assert_eq!(t.get(&token, "/webhooks").await.1.as_array().unwrap().len(), 1);
    let (status, _) =
        t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": "https://shop.example/hook/3"})).await;
    assert_eq!(status, StatusCode::OK, "a slot was freed");

    let (status, body) = t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(request_error_codes(&body).contains(&"v2_field_is_empty".to_owned()));
    t.stop().await;
}

#[tokio::test]
async fn status_changes_are_posted_in_cdeks_shape() {
    let t = TestDouble::start().await;
    let receiver = Receiver::start().await;
    let token = t.token().await;
    let (status, _) = t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": receiver.url})).await;
    assert_eq!(status, StatusCode::OK);

    let order = t.created_order(&token, "HOOK-1").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    let cdek_number = order["entity"]["cdek_number"].as_str().unwrap();

    let created = receiver.wait_for(uuid, "CREATED").await;
    assert_eq!(created["type"], "ORDER_STATUS");
    assert!(is_cdek_date_time(created["date_time"].as_str().unwrap()));
    let attributes = &created["attributes"];
    assert_eq!(attributes["is_return"], false);
    assert_eq!(attributes["is_reverse"], false);
    assert_eq!(attributes["is_client_return"], false);
    assert_eq!(attributes["cdek_number"], cdek_number);
    assert_eq!(attributes["number"], "HOOK-1");
    assert_eq!(attributes["related_entities"], json!([]));
    assert_eq!(attributes["status_code"], "1");
    assert!(is_cdek_date_time(attributes["status_date_time"].as_str().unwrap()));
    assert_eq!(attributes["deleted"], false);
    assert!(attributes.get("city_code").is_none(), "never for CREATED: {created}");

    let (status, _) = t
        .control_post(
            &format!("/orders/{uuid}/status"),
            &json!({"code": "RECEIVED_AT_SHIPMENT_WAREHOUSE", "city": "Новосибирск"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let received = receiver.wait_for(uuid, "RECEIVED_AT_SHIPMENT_WAREHOUSE").await;
    assert_eq!(received["attributes"]["status_code"], "3");
    assert_eq!(received["attributes"]["city_name"], "Новосибирск");
    assert_eq!(received["attributes"]["city_code"], "270");
    assert!(received["attributes"].get("status_reason_code").is_none());

    t.advance(uuid, "TAKEN_BY_COURIER").await;
    let (status, _) = t.post(&token, &format!("/orders/{uuid}/refusal"), &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let refused = receiver.wait_for(uuid, "NOT_DELIVERED").await;
    assert_eq!(refused["attributes"]["status_reason_code"], "11");
    assert_eq!(refused["attributes"]["status_code"], "5");

    t.wait_stats("4 deliveries counted", |stats| stats["webhooks_delivered"] == 4).await;
    receiver.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn every_subscription_gets_every_status() {
    let t = TestDouble::start().await;
    let (first, second) = (Receiver::start().await, Receiver::start().await);
    let token = t.token().await;
    for receiver in [&first, &second] {
        t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": receiver.url})).await;
    }
    let order = t.created_order(&token, "HOOK-2").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    first.wait_for(uuid, "CREATED").await;
    second.wait_for(uuid, "CREATED").await;
    first.stop().await;
    second.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn a_failed_delivery_is_retried() {
    let t = TestDouble::start().await;
    let receiver = Receiver::failing(1, 500).await;
    let token = t.token().await;
    t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": receiver.url})).await;
    let order = t.created_order(&token, "RETRY-1").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    receiver.wait_for(uuid, "CREATED").await;
    assert!(receiver.attempts() >= 2, "the first attempt was answered 500");
    let stats = t.wait_stats("the delivery counted", |stats| stats["webhooks_delivered"] == 1).await;
    assert!(stats["webhooks_failed"].as_u64().unwrap() >= 1, "{stats}");
    receiver.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn only_200_counts_as_delivered() {
    let t = TestDouble::start().await;
    let receiver = Receiver::failing(2, 204).await;
    let token = t.token().await;
    t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": receiver.url})).await;
    let order = t.created_order(&token, "RETRY-2").await;
    receiver.wait_for(order["entity"]["uuid"].as_str().unwrap(), "CREATED").await;
    assert!(receiver.attempts() >= 3);
    receiver.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn an_unreachable_url_is_given_up_and_switched_off() {
    let t = TestDouble::start_with(DoubleConfig { webhook_attempts: 2, ..fast_config() }).await;
    let token = t.token().await;
    // A port nobody listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": url})).await;
    t.created_order(&token, "GONE-1").await;
    let stats = t.wait_stats("delivery given up", |stats| stats["webhooks_given_up"] == 1).await;
    assert_eq!(stats["webhooks_failed"], 2);
    assert_eq!(stats["webhooks_switched_off"], 1);
    assert_eq!(t.get(&token, "/webhooks").await.1, json!([]));
    t.stop().await;
}

#[tokio::test]
async fn webhook_loss_drops_status_changes() {
    let t = TestDouble::start().await;
    let receiver = Receiver::start().await;
    let token = t.token().await;
    t.post(&token, "/webhooks", &json!({"type": "ORDER_STATUS", "url": receiver.url})).await;
    let order = t.created_order(&token, "LOSS-1").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    receiver.wait_for(uuid, "CREATED").await;

    assert_eq!(t.control_post("/webhooks/drop", &json!({"drop": true})).await.0, StatusCode::OK);
    t.advance(uuid, "RECEIVED_AT_SHIPMENT_WAREHOUSE").await;
    assert_eq!(t.control_post("/webhooks/drop", &json!({"drop": false})).await.0, StatusCode::OK);
    t.advance(uuid, "SENT_TO_RECIPIENT_CITY").await;
    receiver.wait_for(uuid, "SENT_TO_RECIPIENT_CITY").await;

    let codes: Vec<String> =
        receiver.received().iter().map(|p| p["attributes"]["code"].as_str().unwrap().to_owned()).collect();
    assert!(!codes.contains(&"RECEIVED_AT_SHIPMENT_WAREHOUSE".to_owned()), "{codes:?}");
    assert_eq!(t.control_get("/stats").await.1["webhooks_dropped"], 1);
    // The lost status is still in the order: polling finds it.
    let order = t.read_order(&token, uuid).await;
    assert!(crate::helpers::status_codes(&order).contains(&"RECEIVED_AT_SHIPMENT_WAREHOUSE".to_owned()));
    receiver.stop().await;
    t.stop().await;
}
