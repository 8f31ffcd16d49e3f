//! The tariff calculator; its validation errors use the `errors` shape.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestDouble;

fn request() -> Value {
    json!({
        "tariff_code": 136,
        "from_location": {"code": 44},
        "to_location": {"code": 270},
        "packages": [{"weight": 1200, "length": 20, "width": 15, "height": 10}]
    })
}

#[tokio::test]
async fn a_quote_is_complete_and_deterministic() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let (status, quote) = t.post(&token, "/calculator/tariff", &request()).await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    assert!(quote["delivery_sum"].as_f64().unwrap() > 0.0);
    assert!(quote["total_sum"].as_f64().unwrap() >= quote["delivery_sum"].as_f64().unwrap());
    assert_eq!(quote["currency"], "RUB");
    assert_eq!(quote["weight_calc"], 1200);
    let (min, max) = (quote["period_min"].as_u64().unwrap(), quote["period_max"].as_u64().unwrap());
    assert!(min >= 1 && min <= max);
    assert!(quote["calendar_min"].as_u64().unwrap() <= quote["calendar_max"].as_u64().unwrap());
    let date = |key: &str| {
        chrono::NaiveDate::parse_from_str(quote["delivery_date_range"][key].as_str().unwrap(), "%Y-%m-%d").unwrap()
    };
    assert!(date("min") <= date("max"));
    assert!(date("min") > chrono::Utc::now().date_naive());
    assert_eq!(quote["services"], json!([]));
    assert_eq!(quote["errors"], json!([]));
    assert_eq!(quote["warnings"], json!([]));
    assert_eq!(t.post(&token, "/calculator/tariff", &request()).await.1, quote);

    let mut dated = request();
    dated["date"] = json!("2026-08-01T10:00:00+0000");
    let (_, quote) = t.post(&token, "/calculator/tariff", &dated).await;
    assert!(quote["delivery_date_range"]["min"].as_str().unwrap().starts_with("2026-08-0"), "{quote}");
    t.stop().await;
}

#[tokio::test]
async fn missing_inputs_use_the_errors_shape() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let (status, body) = t.post(&token, "/calculator/tariff", &json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.get("requests").is_none(), "{body}");
    assert_eq!(body["warnings"], json!([]));
    let errors = body["errors"].as_array().unwrap();
    for field in ["tariff_code", "from_location", "to_location", "packages"] {
        assert!(
            errors.iter().any(|e| e["code"] == "v2_field_is_empty" && e["message"].as_str().unwrap().contains(field)),
            "{field}: {body}"
        );
    }
    let mut weightless = request();
    weightless["packages"] = json!([{"length": 1}]);
    let (status, body) = t.post(&token, "/calculator/tariff", &weightless).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("packages[0].weight"));

    let (status, body) = t.post_raw(&token, "/calculator/tariff", "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["code"], "v2_invalid_format");

    let response = t.http.post(format!("{}/calculator/tariff", t.base)).json(&request()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    t.stop().await;
}

#[tokio::test]
async fn the_tariff_list_offers_the_parcel_tariffs() {
    let t = TestDouble::start().await;
    let token = t.token().await;
    let mut body = request();
    body.as_object_mut().unwrap().remove("tariff_code");
    let (status, list) = t.post(&token, "/calculator/tarifflist", &body).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let entries = list["tariff_codes"].as_array().unwrap();
    let codes: Vec<u64> = entries.iter().map(|e| e["tariff_code"].as_u64().unwrap()).collect();
    assert_eq!(codes, vec![136, 137, 138, 139, 368]);
    for entry in entries {
        assert!(entry["tariff_name"].is_string());
        assert!(entry["delivery_mode"].is_u64());
        assert!(entry["delivery_sum"].as_f64().unwrap() > 0.0);
        assert!(entry["period_min"].as_u64().unwrap() <= entry["period_max"].as_u64().unwrap());
    }
    t.stop().await;
}
