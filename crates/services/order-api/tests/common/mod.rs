//! A real order-api on port 0 against real Postgres, Redis and Kafka, with its own
//! database, key prefix and topics; and helpers to call it and read its events.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::Duration;

use domain::events::Envelope;
use domain::topics::Topic;
use order_api::config::TrackingConfig;
use order_api::{Application, Config};
use orders::OrdersSettings;
use platform::Secret;
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::keys::AuthSettings;
use platform::postgres::PostgresConfig;
use platform::redis::RedisConfig;
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use serde_json::{Value, json};
use test_support::service::Started;

pub const KEY_A: &str = "key-of-shop-a-0123456789";
pub const KEY_B: &str = "key-of-shop-b-0123456789";
pub const TICKET_SECRET: &str = "a-ticket-secret-for-the-tests-0123456789";

pub struct TestApp {
    pub base: String,
    pub config: Config,
    pub client: reqwest::Client,
    app: Started,
}

pub struct Deps {
    pub postgres: PostgresConfig,
    pub redis: RedisConfig,
    pub kafka: KafkaConfig,
}

impl Deps {
    pub async fn fresh(tag: &str) -> Self {
        let kafka = test_support::kafka_config(tag);
        test_support::create_system_topics(&kafka).await;
        Self {
            postgres: test_support::postgres_config(&test_support::fresh_database(tag).await),
            redis: test_support::redis_config(tag),
            kafka,
        }
    }
}

pub fn config(deps: &Deps) -> Config {
    Config {
        http: HttpConfig { max_body_bytes: 64 * 1024, ..HttpConfig::with_port(0) },
        postgres: deps.postgres.clone(),
        redis: deps.redis.clone(),
        kafka: deps.kafka.clone(),
        log: test_support::test_log_config(),
        auth: AuthSettings {
            storefront_keys: BTreeMap::from([
                ("shop-a".to_owned(), Secret::new(KEY_A)),
                ("shop-b".to_owned(), Secret::new(KEY_B)),
            ]),
            service_keys: BTreeMap::new(),
        },
        tracking: TrackingConfig {
            ticket_secret: Secret::new(TICKET_SECRET),
            ticket_ttl_secs: 60,
            public_url: "http://tracking.test".into(),
            live_url: "ws://live.test/ws".into(),
        },
        orders: OrdersSettings {
            track_min_distance_m: 5.0,
            track_min_interval_secs: 5,
            saved_response_key: Secret::new(test_support::SAVED_RESPONSE_KEY),
            ..OrdersSettings::default()
        },
        web: order_api::config::WebConfig {
            root: concat!(env!("CARGO_MANIFEST_DIR"), "/../../../web").into(),
            ..order_api::config::WebConfig::default()
        },
    }
}

impl TestApp {
    pub async fn spawn(tag: &str) -> Self {
        Self::spawn_with(config(&Deps::fresh(tag).await)).await
    }

    pub async fn spawn_with(config: Config) -> Self {
        let app = Started::start::<Application>(config.clone()).await;
        Self { base: app.base.clone(), config, client: reqwest::Client::new(), app }
    }

    pub async fn stop(self) {
        self.app.stop().await;
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, key: Option<&str>, body: Option<&Value>) -> Response {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Response::from(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.call(reqwest::Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Response {
        self.call(reqwest::Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn patch(&self, path: &str, key: &str, body: &Value) -> Response {
        self.call(reqwest::Method::PATCH, path, Some(key), Some(body)).await
    }

    pub async fn delete(&self, path: &str, key: &str) -> Response {
        self.call(reqwest::Method::DELETE, path, Some(key), None).await
    }

    /// Creates an order for shop A and returns its JSON.
    pub async fn create(&self, number: &str) -> Value {
        let response = self.post("/orders", KEY_A, &order_body(number)).await;
        assert_eq!(response.status, 201, "{}", response.body);
        response.body
    }

    /// Creates an own-courier order and moves it to `picked_up` with courier `courier`.
    pub async fn create_picked_up(&self, number: &str, courier: &str) -> Value {
        let order = self.create(number).await;
        let id = order["id"].as_str().unwrap();
        let assigned =
            self.post(&format!("/orders/{id}/assign-courier"), KEY_A, &json!({ "courier_id": courier })).await;
        assert_eq!(assigned.status, 200, "{}", assigned.body);
        let picked = self.patch(&format!("/orders/{id}/status"), KEY_A, &json!({ "status": "picked_up" })).await;
        assert_eq!(picked.status, 200, "{}", picked.body);
        picked.body
    }

    /// The store (the same database) for what no REST route does, like positions.
    pub async fn store(&self) -> orders::Orders {
        let pool = platform::postgres::connect(&self.config.postgres).await.unwrap();
        let redis = platform::redis::pool(&self.config.redis).unwrap();
        let cache = orders::store::cache::OrderCache::new(
            redis,
            self.config.redis.clone(),
            Duration::from_secs(60),
            &prometheus_registry(),
            slog::Logger::root(slog::Discard, slog::o!()),
        )
        .unwrap();
        orders::Orders::new(
            pool,
            cache,
            orders::store::outbox::RelayWakeup::default(),
            self.config.orders.use_case_config(&self.config.kafka.topic_prefix, "test").unwrap(),
        )
    }

    pub async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        self.app.metric(name, labels).await
    }
}

fn prometheus_registry() -> prometheus::Registry {
    prometheus::Registry::new()
}

pub struct Response {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Response {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self { status, body, headers }
    }

    /// Asserts an error answer with this status and code; returns the error object.
    pub fn expect_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.body);
        &self.body["error"]
    }
}

/// A valid order for `POST /orders`.
pub fn order_body(number: &str) -> Value {
    json!({
        "store_order_number": number,
        "customer": { "name": "Anna Petrova", "phone": "+7 916 123-45-67", "email": "anna@example.com" },
        "pickup": { "address": "Warehouse, Leninsky 30", "lat": 55.7000, "lon": 37.5800 },
        "destination": { "address": "Tverskaya 1, flat 5", "lat": 55.7575, "lon": 37.6136 },
        "parcels": [ { "weight_grams": 1200, "length_cm": 30, "width_cm": 20, "height_cm": 10 } ],
        "delivery": { "method": "own_courier" }
    })
}

pub fn cdek_order_body(number: &str) -> Value {
    let mut body = order_body(number);
    body["delivery"] = json!({ "method": "cdek", "cdek_tariff_code": 136 });
    body
}

/// Reads `topic` from the start until `count` events arrived (or `within` passed) and
/// returns them, decoded.
pub async fn events(kafka: &KafkaConfig, topic: Topic, count: usize, within: Duration) -> Vec<Envelope> {
    let name = kafka.topic(topic);
    let group = test_support::unique_name("reader");
    let consumer: StreamConsumer = platform::kafka::consumer(kafka, &group, std::slice::from_ref(&name)).unwrap();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while events.len() < count {
        let Ok(received) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            break;
        };
        let message = received.unwrap();
        events.push(Envelope::decode(message.payload().unwrap_or_default()).expect("an envelope"));
    }
    consumer.unsubscribe();
    events
}

/// Waits a little, then asserts no more than `count` events are on `topic`.
pub async fn assert_event_count(kafka: &KafkaConfig, topic: Topic, count: usize) {
    let seen = events(kafka, topic, count + 1, Duration::from_secs(3)).await;
    assert_eq!(seen.len(), count, "events on {topic:?}: {seen:#?}");
}
