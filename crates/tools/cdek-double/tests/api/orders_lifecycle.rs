//! Registration is asynchronous; reads, statuses, DELETE and refusal follow CDEK's rules.

use std::time::Duration;

use cdek_double::DoubleConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestDouble, fast_config, is_cdek_date_time, order_body, request_error_codes, request_of, request_state,
    status_codes,
};

/// A double that takes a minute to decide anything: "right after registration" holds
/// for the whole test.
async fn slow_double() -> TestDouble {
    TestDouble::start_with(DoubleConfig { processing_delay: Duration::from_secs(60), ..fast_config() }).await
}

#[tokio::test]
async fn right_after_registration_only_accepted() {
    let t = slow_double().await;
    let token = t.token().await;
    let (status, answer) = t.post(&token, "/orders", &order_body("FRESH-1")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["related_entities"], json!([]));
    let request = &answer["requests"][0];
    assert_eq!(request["type"], "CREATE");
    assert_eq!(request["state"], "ACCEPTED");
    assert!(is_cdek_date_time(request["date_time"].as_str().unwrap()), "{request}");
    assert!(uuid::Uuid::parse_str(request["request_uuid"].as_str().unwrap()).is_ok());
    let uuid = answer["entity"]["uuid"].as_str().unwrap();

    let order = t.read_order(&token, uuid).await;
    assert_eq!(status_codes(&order), vec!["ACCEPTED"]);
    assert!(order["entity"].get("cdek_number").is_none(), "{order}");
    assert_eq!(request_state(&order, "CREATE"), "ACCEPTED");
    assert_eq!(order["entity"]["number"], "FRESH-1");
    t.stop().await;
}

#[tokio::test]
async fn accepted_becomes_successful_with_a_cdek_number() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let uuid = t.create_order(&token, &order_body("OK-1")).await;
    let order =
        t.wait_order(&token, &uuid, "CREATE SUCCESSFUL", |order| request_state(order, "CREATE") == "SUCCESSFUL").await;
    let entity = &order["entity"];
    let cdek_number = entity["cdek_number"].as_str().unwrap();
    assert!(!cdek_number.is_empty() && cdek_number.chars().all(|c| c.is_ascii_digit()), "{cdek_number}");
    assert_eq!(entity["uuid"], uuid.as_str());
    assert_eq!(entity["type"], 1);
    assert_eq!(entity["number"], "OK-1");
    assert_eq!(entity["tariff_code"], 137);
    assert_eq!(entity["delivery_mode"], "3");
    assert!(chrono::NaiveDate::parse_from_str(entity["planned_delivery_date"].as_str().unwrap(), "%Y-%m-%d").is_ok());
    assert!(entity["delivery_detail"]["delivery_sum"].as_f64().unwrap() > 0.0);
    assert!(entity["delivery_detail"]["total_sum"].as_f64().unwrap() > 0.0);
    assert_eq!(entity["packages"][0]["number"], "1");
    assert_eq!(status_codes(&order), vec!["CREATED", "ACCEPTED"], "newest first");
    let created = &entity["statuses"][0];
    assert_eq!(created["name"], "Создан");
    assert_eq!(created["deleted"], false);
    assert_eq!(created["city"], "Москва");
    assert!(is_cdek_date_time(created["date_time"].as_str().unwrap()));
    assert_eq!(order["related_entities"], json!([]));
    t.stop().await;
}

#[tokio::test]
async fn reads_by_uuid_cdek_number_and_im_number() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let order = t.created_order(&token, "READ-1").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    let cdek_number = order["entity"]["cdek_number"].as_str().unwrap();

    let (status, by_cdek) = t.get(&token, &format!("/orders?cdek_number={cdek_number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_cdek["entity"]["uuid"], uuid);
    let (status, by_im) = t.get(&token, "/orders?im_number=READ-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_im["entity"]["uuid"], uuid);

    let (status, body) = t.get(&token, "/orders/0b6f9a0e-9b1f-4c55-8f5e-3c1d2b0a9f88").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(request_error_codes(&body), vec!["v2_entity_not_found"]);
    let (status, body) = t.get(&token, "/orders/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(request_error_codes(&body), vec!["v2_entity_not_found"]);
    let (status, body) = t.get(&token, "/orders?im_number=NOPE").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(request_error_codes(&body), vec!["v2_entity_not_found_im_number"]);
    let (status, body) = t.get(&token, "/orders?cdek_number=1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(request_error_codes(&body), vec!["v2_entity_not_found"]);
    let (status, _) = t.get(&token, "/orders").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    t.stop().await;
}

#[tokio::test]
async fn a_used_number_makes_a_later_order_invalid() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let first = t.created_order(&token, "DUP-1").await;
    let second = t.create_order(&token, &order_body("DUP-1")).await;
    let second =
        t.wait_order(&token, &second, "CREATE INVALID", |order| request_state(order, "CREATE") == "INVALID").await;
    let errors = &request_of(&second, "CREATE")["errors"];
    assert_eq!(errors[0]["code"], "error_validate_im_dep_number_has_already_had_integration");
    assert!(second["entity"].get("cdek_number").is_none());
    assert_eq!(status_codes(&second), vec!["INVALID", "ACCEPTED"]);

    // im_number still finds the good one.
    let (_, by_im) = t.get(&token, "/orders?im_number=DUP-1").await;
    assert_eq!(by_im["entity"]["uuid"], first["entity"]["uuid"]);

    let (_, orders) = t.control_get("/orders").await;
    let orders = orders.as_array().unwrap();
    assert_eq!(orders.len(), 2);
    assert!(orders.iter().all(|o| o["number"] == "DUP-1" && o["create_requests_for_number"] == 2));
    t.stop().await;
}

#[tokio::test]
async fn of_two_orders_sent_together_with_one_number_exactly_one_succeeds() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let a = t.create_order(&token, &order_body("TWIN-1")).await;
    let b = t.create_order(&token, &order_body("TWIN-1")).await;
    let mut states = Vec::new();
    for uuid in [&a, &b] {
        let order =
            t.wait_order(&token, uuid, "CREATE decided", |order| request_state(order, "CREATE") != "ACCEPTED").await;
        states.push(request_state(&order, "CREATE"));
    }
    states.sort();
    assert_eq!(states, vec!["INVALID", "SUCCESSFUL"]);
    t.stop().await;
}

#[tokio::test]
async fn the_poison_knob_makes_an_order_invalid() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let mut body = order_body("POISON-1");
    body["recipient"]["name"] = json!("INVALID");
    let uuid = t.create_order(&token, &body).await;
    let order =
        t.wait_order(&token, &uuid, "CREATE INVALID", |order| request_state(order, "CREATE") == "INVALID").await;
    assert_eq!(request_of(&order, "CREATE")["errors"][0]["code"], "error_validate_double_poison");
    assert_eq!(status_codes(&order)[0], "INVALID");
    t.stop().await;
}

#[tokio::test]
async fn statuses_are_listed_newest_first_and_unknown_codes_are_kept() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let order = t.created_order(&token, "TL-1").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    t.advance(uuid, "RECEIVED_AT_SHIPMENT_WAREHOUSE").await;
    let (status, _) = t
        .control_post(
            &format!("/orders/{uuid}/status"),
            &json!({"code": "SENT_TO_RECIPIENT_CITY", "city": "Новосибирск", "reason_code": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // An old event arriving late sorts by its own date.
    let (status, _) = t
        .control_post(
            &format!("/orders/{uuid}/status"),
            &json!({"code": "READY_TO_SHIP_AT_SENDING_OFFICE", "date_time": "2020-01-01T00:00:00+00:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let order = t.read_order(&token, uuid).await;
    assert_eq!(
        status_codes(&order),
        vec![
            "SENT_TO_RECIPIENT_CITY",
            "RECEIVED_AT_SHIPMENT_WAREHOUSE",
            "CREATED",
            "ACCEPTED",
            "READY_TO_SHIP_AT_SENDING_OFFICE"
        ]
    );
    let statuses = order["entity"]["statuses"].as_array().unwrap();
    assert_eq!(statuses[0]["city"], "Новосибирск");
    assert_eq!(statuses[4]["name"], "READY_TO_SHIP_AT_SENDING_OFFICE");
    assert_eq!(statuses[4]["date_time"], "2020-01-01T00:00:00+0000");
    t.stop().await;
}

#[tokio::test]
async fn delete_removes_a_created_order() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let order = t.created_order(&token, "DEL-1").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    let (status, answer) = t.delete(&token, &format!("/orders/{uuid}")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["entity"]["uuid"], uuid);
    assert_eq!(answer["requests"][0]["type"], "DELETE");
    assert_eq!(answer["requests"][0]["state"], "ACCEPTED");
    let order =
        t.wait_order(&token, uuid, "DELETE SUCCESSFUL", |order| request_state(order, "DELETE") == "SUCCESSFUL").await;
    assert_eq!(status_codes(&order)[0], "REMOVED");
    t.stop().await;
}

#[tokio::test]
async fn delete_fails_once_the_parcel_is_at_the_warehouse() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let order = t.created_order(&token, "DEL-2").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();
    t.advance(uuid, "RECEIVED_AT_SHIPMENT_WAREHOUSE").await;
    let (status, _) = t.delete(&token, &format!("/orders/{uuid}")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "the refusal comes asynchronously");
    let order = t.wait_order(&token, uuid, "DELETE INVALID", |order| request_state(order, "DELETE") == "INVALID").await;
    assert_eq!(request_of(&order, "DELETE")["errors"][0]["code"], "error_validate_order_delete_status");
    assert_eq!(status_codes(&order)[0], "RECEIVED_AT_SHIPMENT_WAREHOUSE");

    let (status, body) = t.delete(&token, "/orders/0b6f9a0e-9b1f-4c55-8f5e-3c1d2b0a9f88").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(request_error_codes(&body), vec!["v2_entity_not_found"]);
    t.stop().await;
}

#[tokio::test]
async fn a_second_delete_while_the_first_is_pending_is_refused() {
    let t = slow_double().await;
    let token = t.token().await;
    let uuid = t.create_order(&token, &order_body("DEL-3")).await;
    assert_eq!(t.delete(&token, &format!("/orders/{uuid}")).await.0, StatusCode::ACCEPTED);
    let (status, body) = t.delete(&token, &format!("/orders/{uuid}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(request_error_codes(&body), vec!["v2_similar_request_still_processed"]);
    t.stop().await;
}

async fn refuse(t: &TestDouble, token: &str, uuid: &str) -> Value {
    let (status, answer) = t.post(token, &format!("/orders/{uuid}/refusal"), &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["requests"][0]["type"], "CREATE_REFUSAL");
    let refusals_before = answer["requests"][0]["request_uuid"].clone();
    t.wait_order(token, uuid, "refusal decided", |order| {
        order["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["request_uuid"] == refusals_before && r["state"] != "ACCEPTED")
    })
    .await
}

#[tokio::test]
async fn refusal_is_for_orders_on_their_way() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let order = t.created_order(&token, "REF-1").await;
    let uuid = order["entity"]["uuid"].as_str().unwrap();

    // Not for CREATED orders (those are deleted).
    let order = refuse(&t, &token, uuid).await;
    assert_eq!(request_state(&order, "CREATE_REFUSAL"), "INVALID");
    assert_eq!(request_of(&order, "CREATE_REFUSAL")["errors"][0]["code"], "error_validate_order_refusal_status");
    assert_eq!(status_codes(&order)[0], "CREATED");

    t.advance(uuid, "TAKEN_BY_COURIER").await;
    let order = refuse(&t, &token, uuid).await;
    assert_eq!(request_state(&order, "CREATE_REFUSAL"), "SUCCESSFUL");
    let newest = &order["entity"]["statuses"][0];
    assert_eq!(newest["code"], "NOT_DELIVERED");
    assert_eq!(newest["reason_code"], "11");

    // Not again once final.
    let order = refuse(&t, &token, uuid).await;
    assert_eq!(request_state(&order, "CREATE_REFUSAL"), "INVALID");

    let delivered = t.created_order(&token, "REF-2").await;
    let delivered_uuid = delivered["entity"]["uuid"].as_str().unwrap();
    t.advance(delivered_uuid, "DELIVERED").await;
    let order = refuse(&t, &token, delivered_uuid).await;
    assert_eq!(request_state(&order, "CREATE_REFUSAL"), "INVALID");
    assert_eq!(status_codes(&order)[0], "DELIVERED");
    t.stop().await;
}
