//! notifier's configuration. Every key is documented in `config/notifier.toml`.

use platform::config::{ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::logging::LogConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub kafka: KafkaConfig,
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8082),
            kafka: KafkaConfig { consumer_group: "notifier".into(), ..KafkaConfig::default() },
            log: LogConfig::default(),
        }
    }
}

impl ServiceConfig for Config {
    const SERVICE: &'static str = "notifier";

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.kafka.validate_consumer()
    }
}
