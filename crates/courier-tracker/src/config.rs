//! courier-tracker's configuration. Every key is documented in `config/courier-tracker.toml`.

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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8081),
            postgres: PostgresConfig {
                url: platform::Secret::new("postgres://ordertrack:ordertrack@127.0.0.1:5432/ordertrack_tracker"),
                ..PostgresConfig::default()
            },
            redis: RedisConfig::default(),
            kafka: KafkaConfig { consumer_group: "courier-tracker".into(), ..KafkaConfig::default() },
            log: LogConfig::default(),
        }
    }
}

impl ServiceConfig for Config {
    const SERVICE: &'static str = "courier-tracker";

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.postgres.validate()?;
        self.redis.validate()?;
        self.kafka.validate_consumer()
    }
}
