//! A real courier-tracker on port 0 against real Postgres, Redis and Kafka; helpers to
//! post positions as a courier app would, to feed it order events as the orders service
//! would, and to read what it publishes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use courier_tracker::config::{CouriersConfig, OpsConfig};
use courier_tracker::{Application, Config};
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::token::{self, Purpose};
use domain::topics::Topic;
use platform::Secret;
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use serde_json::{Value, json};
use test_support::service::Started;

pub const TOKEN_SECRET: &str = "courier-token-secret-for-the-tests-01234";
pub const OPS_KEY: &str = "an-ops-key-0123456789";

pub struct TestTracker {
    pub base: String,
    pub config: Config,
    pub client: reqwest::Client,
    app: Started,
}

pub async fn config(tag: &str) -> Config {
    let kafka = test_support::kafka_config(tag);
    test_support::create_system_topics(&kafka).await;
    Config {
        http: HttpConfig::with_port(0),
        postgres: test_support::postgres_config(&test_support::fresh_database(tag).await),
        redis: test_support::redis_config(tag),
        kafka,
        log: test_support::test_log_config(),
        couriers: CouriersConfig { token_secret: Secret::new(TOKEN_SECRET), max_batch: 50 },
        ops: OpsConfig { keys: BTreeMap::from([("ops".to_owned(), Secret::new(OPS_KEY))]) },
        filters: Default::default(),
        motion: Default::default(),
    }
}

impl TestTracker {
    pub async fn spawn(tag: &str) -> Self {
        Self::spawn_with(config(tag).await).await
    }

    pub async fn spawn_with(config: Config) -> Self {
        let app = Started::start::<Application>(config.clone()).await;
        Self { base: app.base.clone(), config, client: reqwest::Client::new(), app }
    }

    pub async fn stop(self) {
        self.app.stop().await;
    }

    /// Posts `points` for `courier` with a token for `token_courier`; returns status and body.
    pub async fn post_as(&self, token_courier: &str, courier: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/couriers/{courier}/locations", self.base))
            .bearer_auth(courier_token(token_courier))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts `points` as `store`'s courier; the answer must be 200.
    pub async fn post_for(&self, store: &str, courier: &str, points: &[Value]) -> Value {
        let response = self
            .client
            .post(format!("{}/couriers/{courier}/locations", self.base))
            .bearer_auth(courier_token_of(store, courier))
            .json(&json!({ "points": points }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn post(&self, courier: &str, points: &[Value]) -> Value {
        let (status, body) = self.post_as(courier, courier, &json!({ "points": points })).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Publishes an order event as the orders service would.
    pub async fn order_event(&self, order: pb::Order) {
        test_support::events::publish_order(&self.config.kafka, &order, &[]).await;
    }

    pub async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        self.app.metric(name, labels).await
    }
}

impl TestTracker {
    /// Waits until the tracker's own store holds `order` at `version` or later.
    pub async fn wait_known(&self, order: &str, version: i64) {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Found {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            version: i64,
        }
        let url = self.config.postgres.url.expose().to_owned();
        let order = order.to_owned();
        test_support::eventually("the tracker knows the order", Duration::from_secs(30), || {
            let (url, order) = (url.clone(), order.clone());
            async move {
                let mut conn = platform::postgres::connect_once(&url).await.ok()?;
                let found: Vec<Found> =
                    diesel::sql_query("SELECT version FROM active_orders WHERE order_id = $1::uuid")
                        .bind::<diesel::sql_types::Text, _>(order)
                        .load(&mut conn)
                        .await
                        .ok()?;
                found.iter().find(|f| f.version >= version).map(|_| ())
            }
        })
        .await;
    }
}

/// A token of the test store's courier (`test_support::events::STORE`, the store of the
/// test orders).
pub fn courier_token(courier: &str) -> String {
    courier_token_of(test_support::events::STORE, courier)
}

/// A token of `store`'s courier (signed as `domain::token::sign_courier` does, but for any
/// id, so tests can send ids the tracker refuses).
pub fn courier_token_of(store: &str, courier: &str) -> String {
    let subject = format!("{store}/{courier}");
    token::sign(TOKEN_SECRET.as_bytes(), Purpose::Courier, &subject, Utc::now() + chrono::Duration::hours(1))
}

/// A point `seconds_ago` seconds in the past.
pub fn point(lat: f64, lon: f64, seconds_ago: i64) -> Value {
    point_at(lat, lon, Utc::now() - chrono::Duration::seconds(seconds_ago))
}

pub fn point_at(lat: f64, lon: f64, at: DateTime<Utc>) -> Value {
    json!({ "lat": lat, "lon": lon, "recorded_at": at.to_rfc3339(), "accuracy_m": 5.0, "speed_mps": 8.0, "heading_deg": 10.0 })
}

#[allow(unused_imports)] // used by some test binaries only
pub use test_support::events::order;

/// Reads `topic` from the start for `within`, decoding every envelope.
pub async fn read_all(kafka: &KafkaConfig, topic: Topic, within: Duration) -> Vec<Envelope> {
    let name = kafka.topic(topic);
    let consumer: StreamConsumer =
        platform::kafka::consumer(kafka, &test_support::unique_name("reader"), &[name]).unwrap();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Ok(message)) = tokio::time::timeout_at(deadline, consumer.recv()).await {
        events.push(Envelope::decode(message.payload().unwrap_or_default()).unwrap());
    }
    consumer.unsubscribe();
    events
}

/// The commands on `order_commands` so far (waiting until `wanted` of them arrived, or `within`).
pub async fn commands(kafka: &KafkaConfig, wanted: usize, within: Duration) -> Vec<pb::OrderCommand> {
    let name = kafka.topic(Topic::OrderCommands);
    let consumer: StreamConsumer =
        platform::kafka::consumer(kafka, &test_support::unique_name("commands"), &[name]).unwrap();
    let mut commands = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while commands.len() < wanted {
        let Ok(Ok(message)) = tokio::time::timeout_at(deadline, consumer.recv()).await else { break };
        if let Some(Payload::OrderCommand(command)) =
            Envelope::decode(message.payload().unwrap_or_default()).unwrap().payload
        {
            commands.push(command);
        }
    }
    consumer.unsubscribe();
    commands
}

pub fn status_of(command: &pb::OrderCommand) -> Option<pb::OrderStatus> {
    match &command.command {
        Some(pb::order_command::Command::ChangeStatus(change)) => pb::OrderStatus::try_from(change.status).ok(),
        _ => None,
    }
}

/// The time still to go of an ETA command, counted from when it was computed for.
pub fn eta_of(command: &pb::OrderCommand) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    match &command.command {
        Some(pb::order_command::Command::SetEta(set)) => {
            let eta = set.eta.as_ref()?;
            Some((
                domain::convert::from_timestamp(eta.expected_at.as_ref())?,
                domain::convert::from_timestamp(eta.computed_at.as_ref())?,
            ))
        }
        _ => None,
    }
}
