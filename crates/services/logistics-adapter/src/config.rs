//! logistics-adapter's configuration. Every key is documented in `config/logistics-adapter.toml`.

use std::time::Duration;

use platform::Secret;
use platform::config::{ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::logging::LogConfig;
use platform::postgres::PostgresConfig;
use serde::{Deserialize, Serialize};

use crate::cdek::ClientSettings;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub postgres: PostgresConfig,
    pub kafka: KafkaConfig,
    pub log: LogConfig,
    pub cdek: CdekConfig,
}

/// How the adapter talks to CDEK and follows its orders.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CdekConfig {
    /// API base, e.g. `https://api.cdek.ru/v2`, `https://api.edu.cdek.ru/v2` (CDEK's test
    /// environment) or the CDEK double (the default, for the local stack).
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The last path segment of `POST /webhooks/cdek/{secret}`; a webhook with another one
    /// gets 404 and is not recorded. CDEK does not sign webhooks: this is their only guard.
    pub webhook_secret: Secret,
    /// Where CDEK can reach this service (`https://ordertrack.example.com`); with
    /// `subscribe`, start-up makes sure an ORDER_STATUS webhook points at
    /// `{public_url}/webhooks/cdek/{webhook_secret}`.
    pub public_url: String,
    pub subscribe: bool,
    /// The tariff used when an order names none.
    pub default_tariff_code: u32,
    /// Every order still in flight is read back from CDEK this often (lost webhooks).
    pub poll_interval_secs: u64,
    /// While a registration or cancellation is being processed, it is read this often.
    pub registration_poll_ms: u64,
    /// Per HTTP call to CDEK.
    pub request_timeout_ms: u64,
    /// Tries per call for timeouts, 429 and 5xx (registration: always one, see docs/cdek.md).
    pub attempts: u32,
    /// Back-off between tries, doubling from `backoff_start_ms` up to `backoff_max_ms`;
    /// the same bounds space out the worker's later attempts on an order.
    pub backoff_start_ms: u64,
    pub backoff_max_ms: u64,
    /// Orders handled at once by one adapter instance.
    pub concurrency: usize,
    /// Webhooks are kept in the inbox this long (for audit and support), then deleted.
    pub webhook_retention_hours: u64,
    /// How often the inbox is pruned (and once at start-up).
    pub webhook_prune_interval_secs: u64,
}

/// The longest inbox retention accepted: ten years.
const MAX_RETENTION_HOURS: u64 = 87_600;

impl Default for CdekConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8085/v2".into(),
            // CDEK's public test account (published by CDEK for integrators); the double
            // accepts it too. Production credentials come from the environment.
            client_id: "wqGwiQx0gg8mLtiEKsUinjVSICCjtTEP".into(),
            client_secret: Secret::new("RmAmgvSgSl1yirlz9QupbzOJVqhCxcP5"),
            webhook_secret: Secret::default(),
            public_url: String::new(),
            subscribe: false,
            default_tariff_code: 137,
            poll_interval_secs: 300,
            registration_poll_ms: 1000,
            request_timeout_ms: 15_000,
            attempts: 4,
            backoff_start_ms: 500,
            backoff_max_ms: 60_000,
            concurrency: 8,
            webhook_retention_hours: 168,
            webhook_prune_interval_secs: 3600,
        }
    }
}

impl CdekConfig {
    pub fn client_settings(&self) -> ClientSettings {
        ClientSettings {
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            timeout: Duration::from_millis(self.request_timeout_ms),
            attempts: self.attempts,
            backoff_start: Duration::from_millis(self.backoff_start_ms),
            backoff_max: Duration::from_millis(self.backoff_max_ms),
        }
    }

    /// The URL CDEK is asked to post webhooks to (holds the secret: never log it).
    pub fn webhook_url(&self) -> String {
        format!("{}/webhooks/cdek/{}", self.public_url.trim_end_matches('/'), self.webhook_secret.expose())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(ConfigError::invalid("cdek.base_url", "must be an http(s) URL"));
        }
        if self.client_id.trim().is_empty() || self.client_secret.is_empty() {
            return Err(ConfigError::invalid("cdek.client_id", "cdek.client_id and cdek.client_secret are required"));
        }
        let secret = self.webhook_secret.expose();
        if secret.len() < 16 || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(ConfigError::invalid(
                "cdek.webhook_secret",
                "must be at least 16 characters of letters, digits, '-' or '_' (set ORDERTRACK_CDEK__WEBHOOK_SECRET)",
            ));
        }
        if self.subscribe && !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError::invalid("cdek.public_url", "an http(s) URL is needed when cdek.subscribe is on"));
        }
        ConfigError::require_at_least_one([
            ("cdek.default_tariff_code", u64::from(self.default_tariff_code)),
            ("cdek.poll_interval_secs", self.poll_interval_secs),
            ("cdek.registration_poll_ms", self.registration_poll_ms),
            ("cdek.request_timeout_ms", self.request_timeout_ms),
            ("cdek.attempts", u64::from(self.attempts)),
            ("cdek.backoff_start_ms", self.backoff_start_ms),
            ("cdek.concurrency", self.concurrency as u64),
            ("cdek.webhook_retention_hours", self.webhook_retention_hours),
            ("cdek.webhook_prune_interval_secs", self.webhook_prune_interval_secs),
        ])?;
        if self.webhook_retention_hours > MAX_RETENTION_HOURS {
            return Err(ConfigError::invalid("cdek.webhook_retention_hours", "must be at most 87600 (ten years)"));
        }
        if self.backoff_max_ms < self.backoff_start_ms {
            return Err(ConfigError::invalid("cdek.backoff_max_ms", "must not be below cdek.backoff_start_ms"));
        }
        Ok(())
    }
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
            cdek: CdekConfig::default(),
        }
    }
}

impl ServiceConfig for Config {
    const SERVICE: &'static str = "logistics-adapter";

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.postgres.validate()?;
        self.kafka.validate_consumer()?;
        self.cdek.validate()
    }
}
