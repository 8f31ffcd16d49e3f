//! A real notifier on port 0 against the test broker, and WebSocket clients
//! (tokio-tungstenite) that connect to it as a tracking page or an ops dashboard would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures::{SinkExt, StreamExt};
use notifier::config::{TrackingConfig, WsConfig};
use notifier::{Application, Config};
use platform::Secret;
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::keys::OpsConfig;
use serde_json::Value;
use test_support::service::Started;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TICKET_SECRET: &str = "ticket-secret-for-the-notifier-tests-0123";
pub const OPS_KEY: &str = "an-ops-key-0123456789";
pub const ORIGIN: &str = "http://127.0.0.1:8080";

pub async fn kafka(tag: &str) -> KafkaConfig {
    let kafka = test_support::kafka_config(tag);
    test_support::create_system_topics(&kafka).await;
    kafka
}

pub fn config(kafka: &KafkaConfig) -> Config {
    Config {
        http: HttpConfig::with_port(0),
        kafka: kafka.clone(),
        log: test_support::test_log_config(),
        tracking: TrackingConfig { ticket_secret: Secret::new(TICKET_SECRET), ..TrackingConfig::default() },
        ops: OpsConfig { keys: BTreeMap::from([("ops".to_owned(), Secret::new(OPS_KEY))]) },
        ws: WsConfig { subscribe_timeout_secs: 2, ..WsConfig::default() },
    }
}

pub struct TestNotifier {
    pub port: u16,
    pub base: String,
    app: Started,
}

impl TestNotifier {
    /// Starts a notifier and waits until it is ready (its routes are rebuilt).
    pub async fn start(config: Config) -> Self {
        let app = Started::start_ready::<Application>(config).await;
        Self { port: app.port, base: app.base.clone(), app }
    }

    pub async fn stop(self) {
        self.app.stop().await;
    }

    pub fn customer_url(&self, ticket: &str, order: Option<&str>) -> String {
        let mut url = format!("ws://127.0.0.1:{}/ws?ticket={ticket}", self.port);
        if let Some(order) = order {
            url.push_str(&format!("&order={order}"));
        }
        url
    }

    /// Connects as the tracking page of `order`, with a fresh ticket.
    pub async fn customer(&self, order: &str) -> Client {
        Client::connect(&self.customer_url(&ticket(order), Some(order)), Some(ORIGIN), None).await
    }

    /// Connects as an ops dashboard and subscribes with the key in the first message.
    pub async fn ops(&self, scope: Value) -> Client {
        let mut client = Client::connect(&format!("ws://127.0.0.1:{}/ws/ops", self.port), Some(ORIGIN), None).await;
        client.send(serde_json::json!({"type": "subscribe", "key": OPS_KEY, "scope": scope})).await;
        let ack = client.next_json().await;
        assert_eq!(ack["type"], "subscribed", "{ack}");
        client
    }

    pub async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        self.app.metric(name, labels).await
    }

    /// Waits until the notifier has read `count` courier-location events in all.
    pub async fn wait_positions_read(&self, count: f64) {
        test_support::eventually("the notifier read the positions", Duration::from_secs(20), || async {
            let read = self.metric("ordertrack_notifier_events_total", &["courier_locations"]).await;
            (read >= count).then_some(())
        })
        .await;
    }
}

pub fn ticket(order: &str) -> String {
    domain::ticket::sign(TICKET_SECRET.as_bytes(), order.parse().unwrap(), Utc::now() + chrono::Duration::minutes(2))
}

pub fn order_id() -> String {
    domain::ids::OrderId::new().to_string()
}

pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The last `seq` seen: every message must carry the next one.
    pub seq: u64,
}

impl Client {
    pub async fn connect(url: &str, origin: Option<&str>, bearer: Option<&str>) -> Self {
        let mut request = url.into_client_request().unwrap();
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().unwrap());
        }
        if let Some(key) = bearer {
            request.headers_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("the WebSocket opens");
        Self { socket, seq: 0 }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.unwrap();
    }

    /// The next JSON message (pings are answered by tungstenite), checking `seq`.
    pub async fn next_json(&mut self) -> Value {
        self.try_next_json(Duration::from_secs(20)).await.expect("a message within 20 s")
    }

    /// The next JSON message, or None when nothing came within `within`.
    pub async fn try_next_json(&mut self, within: Duration) -> Option<Value> {
        loop {
            let message = match tokio::time::timeout(within, self.socket.next()).await {
                Err(_) => return None,
                Ok(None) => panic!("the socket closed"),
                Ok(Some(message)) => message.expect("a WebSocket message"),
            };
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON");
                    let seq = value["seq"].as_u64().expect("every message has a seq");
                    assert_eq!(seq, self.seq + 1, "messages come without gaps: {value}");
                    self.seq = seq;
                    return Some(value);
                }
                Message::Close(frame) => panic!("the socket closed: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next message of `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let message = self.next_json().await;
            if message["type"] == kind {
                return message;
            }
        }
    }

    /// Reads until the server closes the socket; returns the close code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("the server closes within 30 s");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
                Some(Ok(Message::Close(None))) | None => return (u16::from(CloseCode::Status), String::new()),
                Some(Ok(_)) => {}
                Some(Err(error)) => panic!("the socket failed instead of closing: {error}"),
            }
        }
    }
}
