//! The body CDEK posts to `POST /webhooks/cdek/{secret}`, through the same parser and
//! checks the route applies (`logistics_adapter::cdek::webhook::parse`).
//!
//! Properties: never panics; an accepted ORDER_STATUS webhook has a short, non-empty
//! uuid and code, holds no NUL (PostgreSQL could not store it), and the JSON the inbox
//! keeps is accepted again with the same uuid and code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logistics_adapter::cdek::webhook::{self, MAX_CODE_CHARS, MAX_UUID_CHARS, ORDER_STATUS, Received};

fuzz_target!(|body: &[u8]| {
    let Ok(Received::OrderStatus { payload, json }) = webhook::parse(body) else {
        return;
    };
    assert_eq!(payload.kind, ORDER_STATUS);
    for (name, text, max) in
        [("uuid", &payload.uuid, MAX_UUID_CHARS), ("attributes.code", &payload.attributes.code, MAX_CODE_CHARS)]
    {
        assert!(!text.is_empty() && text.chars().count() <= max, "{name} {text:?} accepted");
    }
    let kept = serde_json::to_string(&json).expect("a JSON value serializes");
    assert!(!escapes_a_nul(&kept), "a NUL accepted: {kept}");
    match webhook::parse(kept.as_bytes()) {
        Ok(Received::OrderStatus { payload: again, .. }) => {
            assert_eq!((again.uuid, again.attributes.code), (payload.uuid, payload.attributes.code));
        }
        other => panic!("the kept JSON {kept} is no longer accepted: {other:?}"),
    }
});

/// Whether the JSON text escapes a NUL: `u0000` after an odd number of backslashes
/// (after an even number, the backslashes escape each other and `u0000` is plain text).
fn escapes_a_nul(json_text: &str) -> bool {
    json_text.match_indices("u0000").any(|(at, _)| {
        let before = json_text.get(..at).unwrap_or_default();
        before.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
    })
}
