//! The courier tracker refuses bodies past `http.max_body_bytes` (413 `body_too_large`,
//! announced or streamed) and header sets past `http.max_header_bytes` (431
//! `headers_too_large`) with a code, and publishes nothing for them; slow-loris clients
//! are cut off while couriers keep reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[allow(unused_imports)]
mod common;

use std::time::Duration;

use common::{TestTracker, courier_token, point};
use domain::events::envelope::Payload;
use domain::topics::Topic;
use platform::http::HttpConfig;
use serde_json::json;
use test_support::limits;

#[tokio::test(flavor = "multi_thread")]
async fn oversized_batches_and_header_sets_are_refused_and_publish_nothing() {
    let mut config = common::config("tracker_limits").await;
    config.http = HttpConfig { max_body_bytes: 16 * 1024, client_request_timeout_ms: 2000, ..config.http };
    let tracker = TestTracker::spawn_with(config).await;
    let address = tracker.base.trim_start_matches("http://").to_owned();
    let loris = tokio::spawn({
        let address = address.clone();
        async move { limits::slow_loris(&address, Duration::from_millis(100)).await }
    });
    // A courier within the limits is served while the slow-loris connection hangs on.
    tracker.post("c-small", &[point(55.75, 37.61, 5)]).await;

    let padded = json!({ "points": [point(55.75, 37.61, 5)], "padding": "x".repeat(32 * 1024) });
    let (status, answer) = tracker.post_as("c-big", "c-big", &padded).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("body_too_large")), "{answer}");

    let head = format!(
        "POST /couriers/c-big/locations HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json",
        courier_token("c-big")
    );
    let (status, answer) = limits::post_chunked(&address, &head, padded.to_string().as_bytes()).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("body_too_large")), "{answer}");
    // A keep-alive client is told the connection closes after the 413.
    limits::assert_too_large_says_close(&address, &head, 64 * 1024).await;

    let (status, answer) =
        limits::with_big_headers(&tracker.base, reqwest::Method::POST, "/couriers/c-big/locations", 32 * 1024).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (431, Some("headers_too_large")), "{answer}");
    limits::assert_ambiguous_framing_is_refused_and_closes(&address, "/couriers/c-big/locations").await;

    // Only the batch within the limits was published.
    let published = common::read_all(&tracker.config.kafka, Topic::CourierLocations, Duration::from_secs(5)).await;
    let couriers: Vec<String> = published
        .into_iter()
        .filter_map(|event| match event.payload {
            Some(Payload::CourierLocations(batch)) => Some(batch.courier_id),
            _ => None,
        })
        .collect();
    assert_eq!(couriers, ["c-small"]);
    let answer = loris.await.unwrap();
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    tracker.stop().await;
}
