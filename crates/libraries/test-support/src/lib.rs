//! Helpers for tests that run against the real servers. Each test gets its own
//! database, Redis key prefix and Kafka topic names, so tests run in parallel.
//!
//! Where the servers are comes from the environment that `scripts/dev test` sets
//! (`ORDERTRACK_TEST_POSTGRES_URL`, `..._REDIS_URL`, `..._TLS_CA`, `..._KAFKA_BROKERS`, and
//! `..._KAFKA_LIBS` for the private brokers); the defaults match that script's: PostgreSQL
//! and Redis over TLS, trusting the local stack's CA in this checkout's `.state/tls`. The
//! brokers take SASL_SSL only: the CA to trust is `ORDERTRACK_TEST_KAFKA_CA` and the
//! SCRAM passwords are in the file `ORDERTRACK_TEST_KAFKA_SECRETS`, by default the
//! checkout's `.state/tls/ca.crt` and `.state/secrets.env` (scripts/dev makes both).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

pub mod bodies;
mod broker;
pub mod contract;
pub mod events;
pub mod limits;
mod proxy;
pub mod security_review;
pub mod service;
pub mod tls;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use diesel_async::RunQueryDsl;
use platform::Secret;
use platform::kafka::{KafkaConfig, SaslMechanism, SecurityProtocol};
use platform::postgres::PostgresConfig;
use platform::redis::RedisConfig;

pub use broker::PrivateBroker;
pub use proxy::TcpProxy;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The CA that signed the local PostgreSQL's and Redis' certificates (scripts/dev's
/// `ensure_tls`).
pub fn tls_ca() -> String {
    env_or("ORDERTRACK_TEST_TLS_CA", concat!(env!("CARGO_MANIFEST_DIR"), "/../../../.state/tls/ca.crt"))
}

/// URL of the `postgres` database of the test cluster (used to create test databases),
/// with `sslmode=verify-full` and the CA.
pub fn postgres_admin_url() -> String {
    std::env::var("ORDERTRACK_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        format!(
            "postgres://ordertrack:ordertrack@127.0.0.1:55432/postgres?sslmode=verify-full&sslrootcert={}",
            tls_ca()
        )
    })
}

/// The test Redis (database 1), over TLS as its `default` user.
pub fn redis_url() -> String {
    env_or("ORDERTRACK_TEST_REDIS_URL", "rediss://default:ordertrack@127.0.0.1:56379/1")
}

/// A secret of the local stack (scripts/local-stack.txt): the variable `name`, which
/// `scripts/dev test` exports, else its line in this checkout's `.state/secrets.env`.
pub fn stack_secret(name: &str) -> String {
    if let Ok(value) = std::env::var(name) {
        return value;
    }
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../.state/secrets.env");
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{name} is not set and {file} cannot be read ({e}); run `scripts/dev infra` first"));
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
        .unwrap_or_else(|| panic!("{name} is not set, nor in {file}; run `scripts/dev infra` first"))
}

/// `url` with its `host:port` replaced by `address` (user, path and query kept): a URL
/// through a [`TcpProxy`], or to another server.
pub fn with_address(url: &str, address: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL has a scheme");
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let userinfo = authority.rsplit_once('@').map_or(String::new(), |(userinfo, _)| format!("{userinfo}@"));
    format!("{scheme}://{userinfo}{address}{path}")
}

/// The `host:port` of `url`.
pub fn address_of(url: &str) -> String {
    let rest = url.split_once("://").expect("a URL has a scheme").1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    authority.rsplit_once('@').map_or(authority, |(_, host)| host).to_owned()
}

pub fn kafka_brokers() -> String {
    env_or("ORDERTRACK_TEST_KAFKA_BROKERS", "127.0.0.1:59093")
}

/// The local stack's state folder of this checkout (scripts/dev's `.state`).
fn state_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../.state"))
}

/// The CA that signed the test brokers' certificate.
pub fn kafka_ca_file() -> PathBuf {
    std::env::var_os("ORDERTRACK_TEST_KAFKA_CA").map_or_else(|| state_dir().join("tls/ca.crt"), PathBuf::from)
}

/// The test brokers' certificate and key (the local stack's server certificate), for the
/// private brokers.
pub(crate) fn kafka_server_tls() -> (PathBuf, PathBuf) {
    let tls = kafka_ca_file().parent().map(PathBuf::from).unwrap_or_default();
    (tls.join("server.crt"), tls.join("server.key"))
}

/// The SASL user the tests connect as unless a test is about another: the brokers' super
/// user (it creates each test's topics; each service's own user is refused on them,
/// which the ACL tests show).
pub const KAFKA_ADMIN_USER: &str = "admin";

/// The SCRAM password of the test brokers' user `user`: the line
/// `ORDERTRACK_KAFKA_PASSWORD_<USER>=` (upper case, `-` as `_`) of the local stack's
/// secrets file (scripts/local-stack.txt).
pub fn kafka_password(user: &str) -> Secret {
    let file = std::env::var_os("ORDERTRACK_TEST_KAFKA_SECRETS")
        .map_or_else(|| state_dir().join("secrets.env"), PathBuf::from);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("cannot read the Kafka passwords in {} ({e}); run `scripts/dev infra` first", file.display())
    });
    let variable = format!("ORDERTRACK_KAFKA_PASSWORD_{}=", user.to_ascii_uppercase().replace('-', "_"));
    text.lines()
        .find_map(|line| line.strip_prefix(&variable))
        .map(Secret::new)
        .unwrap_or_else(|| panic!("no {variable}... in {}", file.display()))
}

/// Client settings of the test broker's user `user` (SASL_SSL, SCRAM-SHA-512), with the
/// code's defaults otherwise; no topic prefix.
pub fn kafka_client(user: &str) -> KafkaConfig {
    KafkaConfig {
        brokers: kafka_brokers(),
        security_protocol: SecurityProtocol::SaslSsl,
        sasl_mechanism: SaslMechanism::ScramSha512,
        username: user.to_owned(),
        password: kafka_password(user),
        ca_file: Some(kafka_ca_file()),
        ..KafkaConfig::default()
    }
}

/// A name no other test uses: `t_<tag>_<12 hex digits>` (lower case, fit for a
/// database, a key prefix or a topic name).
pub fn unique_name(tag: &str) -> String {
    let tag: String =
        tag.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("t_{tag}_{}", &random[..12])
}

/// Replaces the database name of a `postgres://` URL (its query, the TLS settings, kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (url, query) = url.split_once('?').map_or((url, None), |(url, query)| (url, Some(query)));
    let (base, _) = url.rsplit_once('/').expect("a postgres URL has a path");
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// Creates an empty database for one test and returns its URL. `scripts/dev test` drops
/// databases of earlier runs.
pub async fn fresh_database(tag: &str) -> String {
    let name = unique_name(tag);
    let admin = postgres_admin_url();
    let mut conn = platform::postgres::connect_once(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test Postgres at {admin} ({e}); run `scripts/dev infra` first"));
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await.expect("create test database");
    with_database(&admin, &name)
}

/// Postgres settings for a service under test, pointing at `url`.
pub fn postgres_config(url: &str) -> PostgresConfig {
    PostgresConfig { url: Secret::new(url), pool_size: 4, connect_timeout_ms: 2000, run_migrations: true }
}

/// Redis settings with a key prefix of the test's own.
pub fn redis_config(tag: &str) -> RedisConfig {
    RedisConfig {
        url: Secret::new(redis_url()),
        ca_file: if redis_url().starts_with("rediss://") { tls_ca() } else { String::new() },
        key_prefix: format!("{}:", unique_name(tag)),
        pool_size: 4,
        timeout_ms: 1000,
    }
}

/// Kafka settings with a topic prefix and consumer group of the test's own, as the
/// brokers' super user over SASL_SSL.
pub fn kafka_config(tag: &str) -> KafkaConfig {
    let prefix = format!("{}_", unique_name(tag));
    KafkaConfig {
        consumer_group: format!("{prefix}group"),
        topic_prefix: prefix,
        request_timeout_ms: 3000,
        linger_ms: 1,
        delivery_timeout_ms: 10_000,
        fetch_wait_max_ms: 500,
        fetch_min_bytes: 1,
        idempotence: true,
        ..kafka_client(KAFKA_ADMIN_USER)
    }
}

/// Creates every system topic (and its dead-letter topic) under the config's prefix.
pub async fn create_system_topics(config: &KafkaConfig) {
    let topics = platform::kafka::system_topics(config, 2);
    platform::kafka::create_topics(config, &topics).await.expect("create test topics");
}

/// `[orders] saved_response_key` of the order services under test.
pub const SAVED_RESPONSE_KEY: &str = "test-saved-response-key-0123456789abcdef";

/// A logger for services under test: JSON lines of warnings and worse, on stdout
/// (which the test harness captures and shows for failing tests).
pub fn test_log_config() -> platform::logging::LogConfig {
    platform::logging::LogConfig { level: platform::logging::LogLevel::Warning }
}

/// Polls `probe` until it returns `Some`, or panics after `within` naming `what`.
/// For waiting on asynchronous effects; it asserts an outcome, never a duration.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("gave up waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// GET `url` and return the status code and JSON body (Null when not JSON). A request
/// that gets no answer at all returns status 0 and the error as the body.
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = match reqwest::get(url).await {
        Ok(response) => response,
        Err(error) => return (0, serde_json::Value::String(error.to_string())),
    };
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// The sum of the series of metric `name` on `base_url/metrics` whose labels contain every
/// one of `labels` (e.g. `outcome="hit"`); 0 when there is none.
pub async fn metric(base_url: &str, name: &str, labels: &[&str]) -> f64 {
    let text = reqwest::get(format!("{base_url}/metrics")).await.unwrap().text().await.unwrap();
    let prefix = format!("{name}{{");
    text.lines()
        .filter(|line| line.starts_with(&prefix) && labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
