//! courier-tracker's configuration. Every key is documented in `config/courier-tracker.toml`.

use platform::Secret;
use platform::config::{ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
pub use platform::keys::OpsConfig;
use platform::logging::LogConfig;
use platform::postgres::PostgresConfig;
use platform::redis::RedisConfig;
use serde::{Deserialize, Serialize};

use crate::ingest::filters::FilterConfig;
use crate::motion::MotionConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub postgres: PostgresConfig,
    pub redis: RedisConfig,
    pub kafka: KafkaConfig,
    pub log: LogConfig,
    pub couriers: CouriersConfig,
    pub ops: OpsConfig,
    pub filters: FilterConfig,
    pub motion: MotionConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CouriersConfig {
    /// Signs and checks courier tokens (32+ characters). `ordertrack-admin courier-token`
    /// makes tokens with it.
    pub token_secret: Secret,
    /// Most points in one batch.
    pub max_batch: usize,
}

impl Default for CouriersConfig {
    fn default() -> Self {
        Self { token_secret: Secret::default(), max_batch: 100 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::with_port(8081),
            postgres: PostgresConfig {
                url: Secret::new("postgres://ordertrack:ordertrack@127.0.0.1:5432/ordertrack_tracker"),
                ..PostgresConfig::default()
            },
            redis: RedisConfig::default(),
            kafka: KafkaConfig { consumer_group: "courier-tracker".into(), ..KafkaConfig::default() },
            log: LogConfig::default(),
            couriers: CouriersConfig::default(),
            ops: OpsConfig::default(),
            filters: FilterConfig::default(),
            motion: MotionConfig::default(),
        }
    }
}

impl ServiceConfig for Config {
    const SERVICE: &'static str = "courier-tracker";

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.postgres.validate()?;
        self.redis.validate()?;
        self.kafka.validate_consumer()?;
        if self.couriers.token_secret.expose().len() < 32 {
            return Err(ConfigError::invalid("couriers.token_secret", "must be at least 32 characters"));
        }
        if !(1..=10_000).contains(&self.couriers.max_batch) {
            return Err(ConfigError::invalid("couriers.max_batch", "must be between 1 and 10000"));
        }
        self.ops.key_set()?;
        self.filters.validate()?;
        self.motion.validate()
    }
}
