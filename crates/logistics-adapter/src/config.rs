//! logistics-adapter's configuration. Every key is documented in `config/logistics-adapter.toml`.

use platform::config::{ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::logging::LogConfig;
use platform::postgres::PostgresConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub postgres: PostgresConfig,
    pub kafka: KafkaConfig,
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8083),
            postgres: PostgresConfig {
                url: platform::Secret::new("postgres://ordertrack:ordertrack@127.0.0.1:5432/ordertrack_logistics"),
                ..PostgresConfig::default()
            },
            kafka: KafkaConfig { consumer_group: "logistics-adapter".into(), ..KafkaConfig::default() },
            log: LogConfig::default(),
        }
    }
}

impl ServiceConfig for Config {
    const SERVICE: &'static str = "logistics-adapter";

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.postgres.validate()?;
        self.kafka.validate_consumer()
    }
}
