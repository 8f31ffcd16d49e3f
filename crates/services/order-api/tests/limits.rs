//! order-api refuses what is too big or too slow without hurting other clients: bodies
//! past `http.max_body_bytes` (413 `body_too_large`, whether announced by Content-Length
//! or streamed), header sets past `http.max_header_bytes` (431 `headers_too_large`),
//! slow-loris clients and connections that never send a request (closed after
//! `http.client_request_timeout_ms`). Nothing is written for a refused request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Deps, KEY_A, TestApp, order_body};
use platform::http::HttpConfig;
use serde_json::json;
use test_support::limits;

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_and_header_sets_are_refused_with_a_code_and_nothing_is_written() {
    let app = TestApp::spawn("limits_sizes").await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut huge = order_body("L-1");
    huge["customer"]["name"] = json!("x".repeat(100 * 1024));
    app.post("/orders", KEY_A, &huge).await.expect_error(413, "body_too_large");

    let head = format!(
        "POST /orders HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {KEY_A}\r\nContent-Type: application/json"
    );
    let (status, body) = limits::post_chunked(&address, &head, huge.to_string().as_bytes()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("body_too_large")), "{body}");
    // A keep-alive client is told the connection closes after the 413.
    limits::assert_too_large_says_close(&address, &head, 200 * 1024).await;

    let (status, body) = limits::with_big_headers(&app.base, reqwest::Method::GET, "/orders", 32 * 1024).await;
    assert_eq!((status, body["error"]["code"].as_str()), (431, Some("headers_too_large")), "{body}");
    limits::assert_ambiguous_framing_is_refused_and_closes(&address, "/orders").await;

    // Under the limits the same routes serve, and only the order sent in full exists.
    let (status, _) = limits::post_chunked(&address, &head, order_body("L-2").to_string().as_bytes()).await;
    assert_eq!(status, 201);
    let listed = app.get("/orders", KEY_A).await;
    let numbers: Vec<&str> =
        listed.body["items"].as_array().unwrap().iter().filter_map(|o| o["store_order_number"].as_str()).collect();
    assert_eq!(numbers, ["L-2"], "{}", listed.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_loris_and_silent_connections_are_cut_off_while_other_clients_are_served() {
    let mut config = common::config(&Deps::fresh("limits_slow").await);
    config.http = HttpConfig { client_request_timeout_ms: 2000, ..config.http };
    let app = TestApp::spawn_with(config).await;
    let address = app.base.trim_start_matches("http://").to_owned();

    let loris = tokio::spawn({
        let address = address.clone();
        async move { limits::slow_loris(&address, std::time::Duration::from_millis(100)).await }
    });
    let silent = tokio::spawn({
        let address = address.clone();
        async move { limits::silent_connections_are_closed(&address, 100).await }
    });
    // Normal clients are served while those connections hang on.
    for number in 0..5 {
        app.create(&format!("S-{number}")).await;
    }
    let answer = loris.await.unwrap();
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    silent.await.unwrap();
    assert_eq!(app.get("/orders", KEY_A).await.body["items"].as_array().unwrap().len(), 5);
    app.stop().await;
}
