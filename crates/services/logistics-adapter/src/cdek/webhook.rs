//! Reading the body CDEK posts to the webhook: what `POST /webhooks/cdek/{secret}` accepts.

use serde::Deserialize;

use super::model::WebhookPayload;

/// The only webhook type the adapter subscribes to.
pub const ORDER_STATUS: &str = "ORDER_STATUS";
/// Longest CDEK order uuid accepted.
pub const MAX_UUID_CHARS: usize = 64;
/// Longest status code accepted.
pub const MAX_CODE_CHARS: usize = 100;

/// A webhook body the route accepts.
#[derive(Debug, Clone)]
pub enum Received {
    /// An ORDER_STATUS webhook: the payload the route reads and the JSON the inbox keeps.
    OrderStatus { payload: WebhookPayload, json: serde_json::Value },
    /// A webhook of another type: answered 200 (so CDEK keeps the URL on), nothing kept.
    Other { kind: String },
}

/// Why a body is not a CDEK webhook (answered 400 `invalid_webhook`).
#[derive(Debug, thiserror::Error)]
#[error("not a CDEK webhook: {0}")]
pub struct InvalidWebhook(String);

/// Parses and checks a webhook body: JSON with `type`, `uuid` and `attributes.code`;
/// for ORDER_STATUS the uuid and the code must be short, non-empty text, and no text in
/// the body may hold a NUL character (PostgreSQL's text and jsonb cannot store one).
pub fn parse(body: &[u8]) -> Result<Received, InvalidWebhook> {
    let malformed = |error: serde_json::Error| InvalidWebhook(error.to_string());
    // Parsed once: the JSON is what the inbox keeps, the payload what the route reads.
    let json: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
    let payload = WebhookPayload::deserialize(&json).map_err(malformed)?;
    if payload.kind != ORDER_STATUS {
        return Ok(Received::Other { kind: payload.kind });
    }
    let short = |text: &str, max: usize| !text.is_empty() && text.chars().count() <= max;
    if !short(&payload.uuid, MAX_UUID_CHARS) || !short(&payload.attributes.code, MAX_CODE_CHARS) {
        return Err(InvalidWebhook("uuid and attributes.code must be short, non-empty text".into()));
    }
    if holds_nul(&json) {
        return Err(InvalidWebhook("text may not contain NUL characters".into()));
    }
    Ok(Received::OrderStatus { payload, json })
}

fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(fields) => fields.iter().any(|(key, value)| key.contains('\0') || holds_nul(value)),
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn an_order_status_webhook_is_accepted_and_others_are_not_kept() {
        let text = br#"{"type":"ORDER_STATUS","date_time":"2023-11-28T07:44:45+0000","uuid":"u-1",
            "attributes":{"cdek_number":1100285492,"code":"DELIVERED","status_code":"4"}}"#;
        let Received::OrderStatus { payload, json } = parse(text).unwrap() else { panic!("not accepted") };
        assert_eq!((payload.uuid.as_str(), payload.attributes.code.as_str()), ("u-1", "DELIVERED"));
        assert_eq!(json["attributes"]["status_code"], "4");
        let other = br#"{"type":"PRINT_FORM","uuid":"u-1","attributes":{"code":"x"}}"#;
        assert!(matches!(parse(other).unwrap(), Received::Other { kind } if kind == "PRINT_FORM"));
        // A backslash followed by the text `u0000` is no NUL (the fuzzer's false alarm).
        let escaped = br#"{"type":"ORDER_STATUS","uuid":"u-1","attributes":{"code":"D","city":"a\\u0000"}}"#;
        let Received::OrderStatus { json, .. } = parse(escaped).unwrap() else { panic!("not accepted") };
        assert_eq!(json["attributes"]["city"], "a\\u0000");
    }

    #[test]
    fn bodies_that_are_not_webhooks_are_refused() {
        for body in [
            &b""[..],
            b"[]",
            b"{\"type\":\"ORDER_STATUS\"}",
            b"{\"type\":\"ORDER_STATUS\",\"uuid\":\"\",\"attributes\":{\"code\":\"DELIVERED\"}}",
            b"{\"type\":\"ORDER_STATUS\",\"uuid\":\"u\",\"attributes\":{\"code\":\"\"}}",
            b"{\"type\":\"ORDER_STATUS\",\"uuid\":\"u\",\"attributes\":{\"code\":\"D\"}} trailing",
            b"{\"type\":\"ORDER_STATUS\",\"uuid\":\"u\\u0000\",\"attributes\":{\"code\":\"D\"}}",
            b"{\"type\":\"ORDER_STATUS\",\"uuid\":\"u\",\"attributes\":{\"code\":\"D\",\"city\":\"\\u0000\"}}",
        ] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        let long = format!(r#"{{"type":"ORDER_STATUS","uuid":"{}","attributes":{{"code":"D"}}}}"#, "u".repeat(65));
        assert!(parse(long.as_bytes()).is_err());
    }
}
