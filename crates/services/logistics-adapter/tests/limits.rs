//! The CDEK webhook refuses bodies past its 64 KiB limit (413 `body_too_large`, announced
//! or streamed), header sets past `http.max_header_bytes` (431 `headers_too_large`) and
//! bodies PostgreSQL could not keep (400 `invalid_webhook`), and records none of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use logistics_adapter::{Application, Config};
use platform::http::HttpConfig;
use serde_json::{Value, json};
use test_support::limits;
use test_support::service::Started;

const WEBHOOK_SECRET: &str = "a-webhook-secret-for-the-limits-0123456789";

async fn inbox_rows(database: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let mut conn = platform::postgres::connect_once(database).await.unwrap();
    let counted: Count =
        diesel::sql_query("SELECT count(*) AS count FROM webhook_inbox").get_result(&mut conn).await.unwrap();
    counted.count
}

fn webhook(uuid: &str, city: &str) -> Value {
    json!({
        "type": "ORDER_STATUS",
        "date_time": "2026-11-21T10:00:00+0000",
        "uuid": uuid,
        "attributes": { "code": "ACCEPTED", "cdek_number": "1100285492", "city": city },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_unstorable_webhooks_are_refused_with_a_code_and_nothing_is_recorded() {
    let tag = "adapter_limits";
    let database = test_support::fresh_database(tag).await;
    let kafka = test_support::kafka_config(tag);
    test_support::create_system_topics(&kafka).await;
    let config = Config {
        http: HttpConfig::with_port(0),
        postgres: test_support::postgres_config(&database),
        kafka,
        log: test_support::test_log_config(),
        cdek: logistics_adapter::config::CdekConfig {
            webhook_secret: platform::Secret::new(WEBHOOK_SECRET),
            ..Default::default()
        },
    };
    let app = Started::start::<Application>(config).await;
    let base = app.base.clone();
    let address = base.trim_start_matches("http://").to_owned();
    let path = format!("/webhooks/cdek/{WEBHOOK_SECRET}");
    let client = reqwest::Client::new();
    let post = |body: Value| {
        let request = client.post(format!("{base}{path}")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let huge = webhook("u-huge", &"x".repeat(100 * 1024));
    let (status, body) = post(huge.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("body_too_large")), "{body}");
    let head = format!("POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json");
    let (status, body) = limits::post_chunked(&address, &head, huge.to_string().as_bytes()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("body_too_large")), "{body}");
    // A keep-alive client is told the connection closes after the 413.
    limits::assert_too_large_says_close(&address, &head, 200 * 1024).await;

    let (status, body) = limits::with_big_headers(&base, reqwest::Method::POST, &path, 32 * 1024).await;
    assert_eq!((status, body["error"]["code"].as_str()), (431, Some("headers_too_large")), "{body}");
    limits::assert_ambiguous_framing_is_refused_and_closes(&address, &path).await;

    // A NUL anywhere in the body: PostgreSQL's jsonb could not store it.
    let (status, body) = post(webhook("u-nul", "Mos\u{0}cow")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_webhook")), "{body}");
    assert_eq!(inbox_rows(&database).await, 0);

    // Within the limits the webhook is recorded (for an order not followed, recorded only).
    let (status, body) = post(webhook("u-small", "Moscow")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(inbox_rows(&database).await, 1);

    app.stop().await;
}
