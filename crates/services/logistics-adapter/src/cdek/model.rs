//! CDEK API v2 bodies, field names exactly as CDEK spells them
//! (`docs/cdek-api.md`). Only what the adapter sends or reads.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// `POST /v2/oauth/token` answer.
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    pub expires_in: u64,
}

/// An error or warning in CDEK's bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiMessage {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// One asynchronous request on an entity (`requests[]`).
#[derive(Debug, Clone, Deserialize)]
pub struct RequestInfo {
    #[serde(default)]
    pub request_uuid: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub state: String,
    #[serde(default, deserialize_with = "cdek_time_opt")]
    pub date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub errors: Vec<ApiMessage>,
    #[serde(default)]
    pub warnings: Vec<ApiMessage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EntityRef {
    pub uuid: String,
}

/// The answer of register, delete, refusal and webhook subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct Accepted {
    pub entity: Option<EntityRef>,
    #[serde(default)]
    pub requests: Vec<RequestInfo>,
}

/// `GET /v2/orders/...` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderInfo {
    pub entity: Option<OrderEntity>,
    #[serde(default)]
    pub requests: Vec<RequestInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderEntity {
    pub uuid: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub cdek_number: Option<String>,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub planned_delivery_date: Option<String>,
    #[serde(default)]
    pub statuses: Vec<StatusInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatusInfo {
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(deserialize_with = "cdek_time")]
    pub date_time: DateTime<Utc>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub reason_code: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
}

/// The body CDEK posts to a webhook.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    pub kind: String,
    /// The CDEK order's uuid.
    pub uuid: String,
    pub attributes: WebhookAttributes,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookAttributes {
    pub code: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub cdek_number: Option<String>,
    #[serde(default, deserialize_with = "cdek_time_opt")]
    pub status_date_time: Option<DateTime<Utc>>,
}

/// `GET /v2/webhooks` element.
#[derive(Debug, Clone, Deserialize)]
pub struct Webhook {
    pub uuid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub phones: Vec<Phone>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Money {
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub ware_key: String,
    pub payment: Money,
    pub cost: f64,
    pub weight: u32,
    pub amount: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub number: String,
    pub weight: u32,
    pub length: u32,
    pub width: u32,
    pub height: u32,
    pub items: Vec<Item>,
}

/// `POST /v2/orders` body (an online-store order, type 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    #[serde(rename = "type")]
    pub kind: u8,
    pub number: String,
    pub tariff_code: u32,
    pub from_location: Location,
    pub to_location: Location,
    pub recipient: Contact,
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TariffPackage {
    pub weight: u32,
    pub length: u32,
    pub width: u32,
    pub height: u32,
}

/// `POST /v2/calculator/tariff` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TariffRequest {
    pub tariff_code: u32,
    pub from_location: Location,
    pub to_location: Location,
    pub packages: Vec<TariffPackage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DateRange {
    pub min: NaiveDate,
    pub max: NaiveDate,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tariff {
    #[serde(default)]
    pub calendar_min: Option<u32>,
    #[serde(default)]
    pub calendar_max: Option<u32>,
    #[serde(default)]
    pub delivery_date_range: Option<DateRange>,
}

/// CDEK documents `YYYY-MM-DDThh:mm:ss+hhmm`; some answers use `+hh:mm`. Both parse.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

fn cdek_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_time(&text).ok_or_else(|| serde::de::Error::custom(format!("not a CDEK time: {text:?}")))
}

fn cdek_time_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.as_deref().and_then(parse_time))
}

/// `cdek_number` is a string in answers and webhooks, a number in some documents.
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::String(text)) if !text.is_empty() => Some(text),
        Some(serde_json::Value::Number(number)) => Some(number.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn both_offset_spellings_and_both_number_spellings_parse() {
        let a = parse_time("2023-11-28T07:44:45+0000").unwrap();
        let b = parse_time("2023-11-28T10:44:45+03:00").unwrap();
        assert_eq!(a, b);
        let text = r#"{"type":"ORDER_STATUS","date_time":"2023-11-28T07:44:45+0000","uuid":"u-1",
            "attributes":{"cdek_number":1100285492,"code":"DELIVERED","status_code":"4",
            "status_date_time":"2023-11-28T07:44:45+0000","deleted":false}}"#;
        let payload: WebhookPayload = serde_json::from_str(text).unwrap();
        assert_eq!(payload.attributes.cdek_number.as_deref(), Some("1100285492"));
        assert_eq!(payload.attributes.status_date_time, Some(a));
    }
}
