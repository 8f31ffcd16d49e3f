//! notifier's configuration. Every key is documented in `config/notifier.toml`.

use platform::config::{ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::keys::OpsConfig;
use platform::logging::LogConfig;
use serde::{Deserialize, Serialize};

pub use platform::tracking::TrackingConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub kafka: KafkaConfig,
    pub log: LogConfig,
    /// The ticket secret (shared with order-api, which signs the tickets).
    pub tracking: TrackingConfig,
    /// Keys of ops dashboards.
    pub ops: OpsConfig,
    pub ws: WsConfig,
}

/// The WebSocket endpoint's limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WsConfig {
    /// Browser origins allowed to connect (`Origin` header); `"*"` allows any. Clients
    /// that send no `Origin` (apps, servers) are not browsers and are let through.
    pub allowed_origins: Vec<String>,
    /// Open sockets per instance; past it new ones are closed with 1013 (try again later).
    pub max_sockets: usize,
    /// Messages waiting for one client; past it the client is dropped with 4008.
    pub queue_limit: usize,
    /// The server pings every this many seconds...
    pub ping_interval_secs: u64,
    /// ...and closes a socket it has heard nothing from (not even a pong) for this long.
    pub idle_timeout_secs: u64,
    /// An ops socket must send its `subscribe` message within this many seconds.
    pub subscribe_timeout_secs: u64,
    /// Largest message a client may send.
    pub max_message_bytes: usize,
    /// At start-up the notifier reads this many hours of order events back, so it knows
    /// which courier serves which order before any new event arrives.
    pub order_lookback_hours: u32,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: vec!["http://127.0.0.1:8080".into(), "http://localhost:8080".into()],
            max_sockets: 100_000,
            queue_limit: 256,
            ping_interval_secs: 20,
            idle_timeout_secs: 60,
            subscribe_timeout_secs: 10,
            max_message_bytes: 4096,
            order_lookback_hours: 72,
        }
    }
}

impl WsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::require_at_least_one([
            ("ws.max_sockets", self.max_sockets as u64),
            ("ws.queue_limit", self.queue_limit as u64),
            ("ws.ping_interval_secs", self.ping_interval_secs),
            ("ws.subscribe_timeout_secs", self.subscribe_timeout_secs),
            ("ws.max_message_bytes", self.max_message_bytes as u64),
        ])?;
        if self.idle_timeout_secs <= self.ping_interval_secs {
            return Err(ConfigError::invalid("ws.idle_timeout_secs", "must be longer than ws.ping_interval_secs"));
        }
        if let Some(bad) = self.allowed_origins.iter().find(|o| o.as_str() != "*" && !o.starts_with("http")) {
            return Err(ConfigError::invalid(
                "ws.allowed_origins",
                format!("{bad:?} is not an origin like https://example.com"),
            ));
        }
        Ok(())
    }

    /// Whether a browser from `origin` may connect.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(origin) => self
                .allowed_origins
                .iter()
                .any(|allowed| allowed == "*" || allowed.trim_end_matches('/').eq_ignore_ascii_case(origin)),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            // Every socket is a connection: a worker may hold as many as the instance does.
            http: HttpConfig { max_connections_per_worker: 100_000, ..HttpConfig::with_port(8082) },
            kafka: KafkaConfig { consumer_group: "notifier".into(), ..KafkaConfig::default() },
            log: LogConfig::default(),
            tracking: TrackingConfig::default(),
            ops: OpsConfig::default(),
            ws: WsConfig::default(),
        }
    }
}

impl ServiceConfig for Config {
    const SERVICE: &'static str = "notifier";

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.kafka.validate_consumer()?;
        self.tracking.validate()?;
        self.ops.key_set()?;
        self.ws.validate()
    }
}
