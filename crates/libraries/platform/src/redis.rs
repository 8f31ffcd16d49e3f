//! Redis: a connection pool (deadpool-redis) and the key prefix that keeps each
//! service's (and each test's) keys apart. `rediss://` URLs connect over TLS (rustls),
//! trusting the CA of `ca_file` (docs/security.md).

use std::time::Duration;

use deadpool_redis::{Pool, Runtime};
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::secret::{Secret, redact_url};

pub type RedisPool = Pool;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `rediss://[user:password@]host:port[/db]` (TLS) or `redis://...` (plaintext; the
    /// local stack's and production's Redis listen on TLS only).
    pub url: Secret,
    /// PEM file of the CA certificates a `rediss://` server's certificate must chain to;
    /// empty: the system's trusted CAs (a managed Redis with a public certificate).
    pub ca_file: String,
    /// Put in front of every key this service writes.
    pub key_prefix: String,
    pub pool_size: usize,
    /// How long a command (or getting a connection) may take before it counts as failed.
    pub timeout_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("redis://127.0.0.1:6379/0"),
            ca_file: String::new(),
            key_prefix: String::new(),
            pool_size: 16,
            timeout_ms: 1000,
        }
    }
}

impl RedisConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose();
        if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://")) {
            return Err(ConfigError::invalid("redis.url", "must start with redis://, rediss:// or redis+unix://"));
        }
        if url.contains("#insecure") {
            return Err(ConfigError::invalid("redis.url", "#insecure turns off the check of the server's certificate"));
        }
        if !self.ca_file.is_empty() && !url.starts_with("rediss://") {
            return Err(ConfigError::invalid("redis.ca_file", "is set, but redis.url is not a rediss:// (TLS) URL"));
        }
        ConfigError::require_at_least_one([
            ("redis.pool_size", self.pool_size as u64),
            ("redis.timeout_ms", self.timeout_ms),
        ])
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The full key for `key` under this service's prefix.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose())
    }
}

/// Builds the pool. Unlike Postgres, Redis is not required at start-up: every service
/// that uses it degrades without it, and readiness reports it. Its connections send each
/// command at once (`TCP_NODELAY`; the redis crate leaves Nagle's algorithm on, which
/// holds a command pipelined behind an unanswered one until the server's ACK).
pub fn pool(config: &RedisConfig) -> anyhow::Result<RedisPool> {
    use deadpool_redis::redis::IntoConnectionInfo;
    let invalid = |error: &dyn std::fmt::Display| anyhow::anyhow!("redis pool for {}: {error}", config.redacted_url());
    let mut info = config.url.expose().into_connection_info().map_err(|error| invalid(&error))?;
    if !config.ca_file.is_empty() {
        // The client built with the CA keeps it in its connection info, which the pool's
        // manager then opens every connection with.
        let root_cert = std::fs::read(&config.ca_file)
            .map_err(|error| anyhow::anyhow!("redis.ca_file {}: {error}", config.ca_file))?;
        let certificates = deadpool_redis::redis::TlsCertificates { client_tls: None, root_cert: Some(root_cert) };
        info = deadpool_redis::redis::Client::build_with_tls(info, certificates)
            .map_err(|error| anyhow::anyhow!("redis.ca_file {}: {error}", config.ca_file))?
            .get_connection_info()
            .clone();
    }
    let info = info.set_tcp_settings(deadpool_redis::redis::io::tcp::TcpSettings::default().set_nodelay(true));
    let manager = deadpool_redis::Manager::new(info).map_err(|error| invalid(&error))?;
    Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(config.timeout()))
        .create_timeout(Some(config.timeout()))
        .recycle_timeout(Some(config.timeout()))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|error| invalid(&error))
}

/// Sends `PING` and expects `PONG`.
pub async fn ping(pool: &RedisPool, timeout: Duration) -> Result<(), String> {
    let check = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        let pong: String =
            deadpool_redis::redis::cmd("PING").query_async(&mut conn).await.map_err(|e| e.to_string())?;
        if pong == "PONG" { Ok(()) } else { Err(format!("unexpected answer to PING: {pong}")) }
    };
    tokio::time::timeout(timeout, check).await.map_err(|_| format!("no answer within {timeout:?}"))?
}

/// One multiplexed Redis connection shared by every task of a service: commands from
/// concurrent requests pipeline on it, so each costs one round trip and no pool
/// checkout (a deadpool-redis checkout sends UNWATCH and PING first). After an error,
/// `reset` drops it and the next `get` takes a fresh one from the pool.
#[derive(Clone)]
pub struct SharedConnection {
    pool: RedisPool,
    timeout: Duration,
    slot: std::sync::Arc<std::sync::Mutex<Option<deadpool_redis::redis::aio::MultiplexedConnection>>>,
}

impl SharedConnection {
    pub fn new(pool: RedisPool, timeout: Duration) -> Self {
        Self { pool, timeout, slot: Default::default() }
    }

    pub async fn get(&self) -> Result<deadpool_redis::redis::aio::MultiplexedConnection, String> {
        if let Some(connection) = self.slot.lock().map_err(|_| "poisoned".to_owned())?.clone() {
            return Ok(connection);
        }
        let pooled = tokio::time::timeout(self.timeout, self.pool.get())
            .await
            .map_err(|_| "timed out waiting for a connection".to_owned())?
            .map_err(|e| e.to_string())?;
        let connection = deadpool_redis::Connection::take(pooled);
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(connection.clone());
        }
        Ok(connection)
    }

    /// Forgets the connection after an error.
    pub fn reset(&self) {
        if let Ok(mut slot) = self.slot.lock() {
            slot.take();
        }
    }
}
