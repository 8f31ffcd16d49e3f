//! The structural checks of `POST /v2/orders`: 400, the requests shape, CDEK codes, and
//! nothing registered.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestDouble, order_body};

/// Posts `body` and asserts a 400 whose errors include `code` with a message mentioning
/// `field`.
async fn rejected(t: &TestDouble, token: &str, body: &Value, code: &str, field: &str) {
    let (status, answer) = t.post(token, "/orders", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "expected {code} for {field}: {answer}");
    let request = &answer["requests"][0];
    assert_eq!(request["type"], "CREATE", "{answer}");
    assert_eq!(request["state"], "INVALID", "{answer}");
    let errors = request["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["code"] == code && e["message"].as_str().unwrap().contains(field)),
        "expected {code} naming {field}, got {answer}"
    );
}

fn without(mut body: Value, path: &[&str]) -> Value {
    let (last, parents) = path.split_last().unwrap();
    let mut target = &mut body;
    for key in parents {
        target = match key.parse::<usize>() {
            Ok(index) => &mut target[index],
            Err(_) => &mut target[*key],
        };
    }
    target.as_object_mut().unwrap().remove(*last);
    body
}

fn with(mut body: Value, path: &[&str], value: Value) -> Value {
    let mut target = &mut body;
    for key in path {
        target = match key.parse::<usize>() {
            Ok(index) => &mut target[index],
            Err(_) => &mut target[*key],
        };
    }
    *target = value;
    body
}

#[tokio::test]
async fn required_fields() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let base = order_body("REQ-1");
    let cases: Vec<(Value, &str, &str)> = vec![
        (without(base.clone(), &["tariff_code"]), "v2_field_is_empty", "tariff_code"),
        (without(base.clone(), &["recipient"]), "v2_field_is_empty", "recipient"),
        (without(base.clone(), &["recipient", "name"]), "v2_field_is_empty", "recipient.name"),
        (with(base.clone(), &["recipient", "name"], json!("  ")), "v2_field_is_empty", "recipient.name"),
        (with(base.clone(), &["sender"], json!({"company": "Shop"})), "v2_field_is_empty", "sender.name"),
        (without(base.clone(), &["packages"]), "v2_field_is_empty", "packages"),
        (with(base.clone(), &["packages"], json!([])), "v2_field_is_empty", "packages"),
        (without(base.clone(), &["packages", "0", "number"]), "v2_field_is_empty", "packages[0].number"),
        (without(base.clone(), &["packages", "0", "weight"]), "v2_field_is_empty", "packages[0].weight"),
        (without(base.clone(), &["packages", "0", "items"]), "v2_field_is_empty", "packages[0].items"),
        (with(base.clone(), &["packages", "0", "items"], json!([])), "v2_field_is_empty", "packages[0].items"),
        (without(base.clone(), &["to_location", "address"]), "v2_field_is_empty", "to_location.address"),
        (
            with(base.clone(), &["recipient", "phones"], json!([{"additional": "12"}])),
            "v2_field_is_empty",
            "recipient.phones[0].number",
        ),
    ];
    for (body, code, field) in cases {
        rejected(&t, &token, &body, code, field).await;
    }
    assert_eq!(t.control_get("/orders").await.1, json!([]), "rejected orders are not registered");
    t.stop().await;
}

#[tokio::test]
async fn origin_and_destination_are_exclusive_and_required() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let base = order_body("LOC-1");
    let door = json!({"code": 44, "city": "Москва", "address": "ул. Тверская, 1"});

    let both_origins = with(base.clone(), &["from_location"], door.clone());
    rejected(&t, &token, &both_origins, "v2_shipment_address_multivalued", "shipment_point").await;
    let no_origin = without(base.clone(), &["shipment_point"]);
    rejected(&t, &token, &no_origin, "v2_field_is_empty", "from_location").await;
    let origin_without_address =
        with(without(base.clone(), &["shipment_point"]), &["from_location"], json!({"code": 44}));
    rejected(&t, &token, &origin_without_address, "v2_field_is_empty", "from_location.address").await;

    let both_destinations = with(base.clone(), &["delivery_point"], json!("NSK12"));
    rejected(&t, &token, &both_destinations, "v2_delivery_address_multivalued", "delivery_point").await;
    let no_destination = without(base.clone(), &["to_location"]);
    rejected(&t, &token, &no_destination, "v2_field_is_empty", "to_location").await;

    // Door to pickup point is fine.
    let door_to_point = with(
        with(without(without(base, &["shipment_point"]), &["to_location"]), &["from_location"], door),
        &["delivery_point"],
        json!("NSK12"),
    );
    let (status, answer) = t.post(&token, "/orders", &door_to_point).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    t.stop().await;
}

#[tokio::test]
async fn packages_rules() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let base = order_body("PKG-1");
    let package = base["packages"][0].clone();

    let twins = with(base.clone(), &["packages"], json!([package.clone(), package.clone()]));
    rejected(&t, &token, &twins, "v2_invalid_format", "packages[1].number").await;

    let many: Vec<Value> = (0..256).map(|i| with(package.clone(), &["number"], json!(i.to_string()))).collect();
    rejected(&t, &token, &with(base.clone(), &["packages"], json!(many)), "v2_invalid_format", "packages").await;

    let zero = with(base.clone(), &["packages", "0", "weight"], json!(0));
    rejected(&t, &token, &zero, "v2_invalid_format", "packages[0].weight").await;

    // Dimensions: all three or none...
    let only_length = with(base.clone(), &["packages", "0", "length"], json!(10));
    rejected(&t, &token, &only_length, "v2_field_is_empty", "packages[0].width").await;
    rejected(&t, &token, &only_length, "v2_field_is_empty", "packages[0].height").await;
    // ...and all three from 100 g on.
    let heavy = with(base.clone(), &["packages", "0", "weight"], json!(100));
    rejected(&t, &token, &heavy, "v2_field_is_empty", "packages[0].length").await;
    let heavy_with_dimensions = with(
        with(with(heavy, &["packages", "0", "length"], json!(20)), &["packages", "0", "width"], json!(15)),
        &["packages", "0", "height"],
        json!(10),
    );
    assert_eq!(t.post(&token, "/orders", &heavy_with_dimensions).await.0, StatusCode::ACCEPTED);

    let bad_amount = with(base.clone(), &["packages", "0", "items", "0", "amount"], json!(1000));
    rejected(&t, &token, &bad_amount, "v2_invalid_format", "packages[0].items[0].amount").await;

    let items: Vec<Value> = (0..127).map(|_| package["items"][0].clone()).collect();
    let too_many_items = with(base.clone(), &["packages", "0", "items"], json!(items));
    rejected(&t, &token, &too_many_items, "v2_number_items_is_more_126", "126").await;

    // A delivery order (type 2) needs no items.
    let delivery = with(without(base, &["packages", "0", "items"]), &["type"], json!(2));
    assert_eq!(t.post(&token, "/orders", &delivery).await.0, StatusCode::ACCEPTED);
    t.stop().await;
}

#[tokio::test]
async fn number_and_phone_limits() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let base = order_body("LIM-1");

    let long_number = with(base.clone(), &["number"], json!("N".repeat(41)));
    rejected(&t, &token, &long_number, "v2_invalid_format", "number").await;
    let forty = with(base.clone(), &["number"], json!("N".repeat(40)));
    assert_eq!(t.post(&token, "/orders", &forty).await.0, StatusCode::ACCEPTED);
    let cyrillic = with(base.clone(), &["number"], json!("ЗАКАЗ-1"));
    rejected(&t, &token, &cyrillic, "v2_invalid_format", "number").await;

    let long_phone =
        with(base.clone(), &["recipient", "phones", "0", "number"], json!("+7".to_owned() + &"9".repeat(23)));
    rejected(&t, &token, &long_phone, "v2_invalid_format", "recipient.phones[0].number").await;
    let phones: Vec<Value> = (0..11).map(|i| json!({"number": format!("+7999000000{i}")})).collect();
    let many_phones = with(base.clone(), &["recipient", "phones"], json!(phones));
    rejected(&t, &token, &many_phones, "v2_invalid_format", "recipient.phones").await;

    let bad_type = with(base, &["type"], json!(3));
    rejected(&t, &token, &bad_type, "v2_invalid_format", "type").await;
    t.stop().await;
}

#[tokio::test]
async fn malformed_bodies() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let (status, answer) = t.post_raw(&token, "/orders", "{\"tariff_code\": 136,").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["requests"][0]["errors"][0]["code"], "v2_invalid_format");

    let (status, answer) = t.post_raw(&token, "/orders", "[1, 2]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["requests"][0]["errors"][0]["code"], "v2_invalid_format");

    let wrong_type = with(order_body("TYPE-1"), &["tariff_code"], json!("cheap"));
    rejected(&t, &token, &wrong_type, "v2_invalid_value_type", "tariff_code").await;
    t.stop().await;
}

#[tokio::test]
async fn all_problems_are_reported_at_once() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let body = json!({"packages": [{"number": "1"}]});
    let (status, answer) = t.post(&token, "/orders", &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let messages: Vec<String> = answer["requests"][0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    for field in
        ["tariff_code", "shipment_point", "delivery_point", "recipient", "packages[0].weight", "packages[0].items"]
    {
        assert!(messages.iter().any(|m| m.contains(field)), "{field} missing from {messages:?}");
    }
    t.stop().await;
}
