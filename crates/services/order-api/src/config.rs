//! order-api's configuration. Every key is documented in `config/order-api.toml`.

use orders::OrdersSettings;
use platform::config::{ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::keys::AuthSettings;
use platform::logging::LogConfig;
use platform::postgres::PostgresConfig;
use platform::redis::RedisConfig;
pub use platform::tracking::TrackingConfig;
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
    pub web: WebConfig,
}

/// The tracking page and ops map (`web/`), served by order-api.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// The `web/` folder: pages in `public/`, npm packages in `node_modules/` (installed by
    /// `npm ci`). Relative paths are from the working directory.
    pub root: String,
    /// Map tiles, Leaflet's `{z}/{x}/{y}` template; empty for no tiles (markers, path and
    /// status on a plain background, as when the tile server cannot be reached).
    pub tiles_url: String,
    pub tiles_attribution: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            root: "web".into(),
            tiles_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            tiles_attribution: "&copy; OpenStreetMap contributors".into(),
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
            web: WebConfig::default(),
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
        self.tracking.validate()?;
        self.orders.validate()
    }
}
