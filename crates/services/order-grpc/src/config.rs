//! order-grpc's configuration. Every key is documented in `config/order-grpc.toml`.

use orders::OrdersSettings;
use platform::config::{ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::keys::AuthSettings;
use platform::logging::LogConfig;
use platform::postgres::PostgresConfig;
use platform::redis::RedisConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub grpc: GrpcConfig,
    /// The operational HTTP port (`/healthz`, `/readyz`, `/metrics`).
    pub http: HttpConfig,
    pub postgres: PostgresConfig,
    pub redis: RedisConfig,
    pub kafka: KafkaConfig,
    pub log: LogConfig,
    pub auth: AuthSettings,
    pub orders: OrdersSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// How often the standard gRPC health service re-checks the dependencies.
    pub health_interval_ms: u64,
    /// TLS: the server's certificate chain (PEM, its own certificate first). Set with
    /// `tls_key_file`, the port serves TLS only (health and reflection too). Unset or
    /// empty: plaintext.
    pub tls_cert_file: Option<PathBuf>,
    /// TLS: the private key of `tls_cert_file` (PEM: PKCS#8, PKCS#1 or SEC1).
    pub tls_key_file: Option<PathBuf>,
    /// Mutual TLS: every client must present a certificate signed by a CA of this PEM file.
    pub tls_client_ca_file: Option<PathBuf>,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 50051,
            health_interval_ms: 2000,
            tls_cert_file: None,
            tls_key_file: None,
            tls_client_ca_file: None,
        }
    }
}

impl GrpcConfig {
    /// TLS from `cert_file` and `key_file` on a free loopback port, health re-checked every
    /// 200 ms: what tests start.
    pub fn on_free_port_with_tls(cert_file: PathBuf, key_file: PathBuf) -> Self {
        Self {
            port: 0,
            health_interval_ms: 200,
            tls_cert_file: Some(cert_file),
            tls_key_file: Some(key_file),
            ..Self::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc: GrpcConfig::default(),
            http: HttpConfig::with_port(8084),
            postgres: PostgresConfig::default(),
            redis: RedisConfig::default(),
            kafka: KafkaConfig { consumer_group: "order-grpc".into(), ..KafkaConfig::default() },
            log: LogConfig::default(),
            auth: AuthSettings::default(),
            orders: OrdersSettings::default(),
        }
    }
}

impl ServiceConfig for Config {
    const SERVICE: &'static str = "order-grpc";

    fn validate(&self) -> Result<(), ConfigError> {
        if self.grpc.host.trim().is_empty() {
            return Err(ConfigError::invalid("grpc.host", "must not be empty"));
        }
        ConfigError::require_at_least_one([("grpc.health_interval_ms", self.grpc.health_interval_ms)])?;
        // The files are read and checked here, so a bad one stops the start at once.
        crate::grpc::tls::server_config(&self.grpc)?;
        self.http.validate("http")?;
        self.postgres.validate()?;
        self.redis.validate()?;
        self.kafka.validate_consumer()?;
        self.auth.service_keys()?;
        self.orders.validate()
    }
}
