//! order-api's configuration. Every key is documented in `config/order-api.toml`.

use orders_store::orders::{AuthSettings, OrdersSettings};
use platform::Secret;
use platform::config::{ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::logging::LogConfig;
use platform::postgres::PostgresConfig;
use platform::redis::RedisConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub postgres: PostgresConfig,
    pub redis: RedisConfig,
    pub kafka: KafkaConfig,
    pub log: LogConfig,
    pub auth: AuthSettings,
    pub tracking: TrackingConfig,
    pub orders: OrdersSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Signs the WebSocket tickets; the notifier must have the same (32+ characters).
    pub ticket_secret: Secret,
    /// How long a WebSocket ticket is valid.
    pub ticket_ttl_secs: u64,
    /// Base URL of tracking links (`<public_url>/track/<token>`).
    pub public_url: String,
    /// The notifier's WebSocket URL, handed to tracking pages.
    pub live_url: String,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            ticket_secret: Secret::default(),
            ticket_ttl_secs: 120,
            public_url: "http://127.0.0.1:8080".into(),
            live_url: "ws://127.0.0.1:8082/ws".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8080),
            postgres: PostgresConfig::default(),
            redis: RedisConfig::default(),
            kafka: KafkaConfig::default(),
            log: LogConfig::default(),
            auth: AuthSettings::default(),
            tracking: TrackingConfig::default(),
            orders: OrdersSettings::default(),
        }
    }
}

impl ServiceConfig for Config {
    const SERVICE: &'static str = "order-api";

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.postgres.validate()?;
        self.redis.validate()?;
        self.kafka.validate()?;
        self.auth.storefront_keys()?;
        if self.tracking.ticket_secret.expose().len() < 32 {
            return Err(ConfigError::invalid("tracking.ticket_secret", "must be at least 32 characters"));
        }
        if self.tracking.ticket_ttl_secs == 0 {
            return Err(ConfigError::invalid("tracking.ticket_ttl_secs", "must be at least 1"));
        }
        for (key, url, schemes) in [
            ("tracking.public_url", &self.tracking.public_url, ["http://", "https://"]),
            ("tracking.live_url", &self.tracking.live_url, ["ws://", "wss://"]),
        ] {
            if !schemes.iter().any(|scheme| url.starts_with(scheme)) {
                return Err(ConfigError::invalid(key, format!("must start with {}", schemes.join(" or "))));
            }
        }
        self.orders.validate()
    }
}
