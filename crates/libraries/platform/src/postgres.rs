//! PostgreSQL: an async connection pool (diesel-async on deadpool) and the embedded
//! migrations, run without libpq. Every connection, the migrations' too, goes through
//! [`PgTarget`]: TLS when the URL says `sslmode=verify-full` (docs/security.md).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use futures::FutureExt;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
pub use crate::postgres_tls::PgTarget;
use crate::secret::{Secret, redact_url};

pub type PgPool = Pool<AsyncPgConnection>;
pub type PgConn = Object<AsyncPgConnection>;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database`, with
    /// `?sslmode=verify-full&sslrootcert=<CA file>` for TLS (see [`PgTarget`]).
    pub url: Secret,
    /// Most connections the service holds.
    pub pool_size: usize,
    /// How long to wait for a connection (to open one, or for a free one).
    pub connect_timeout_ms: u64,
    /// Apply pending migrations at start-up.
    pub run_migrations: bool,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("postgres://ordertrack:ordertrack@127.0.0.1:5432/ordertrack"),
            pool_size: 16,
            connect_timeout_ms: 3000,
            run_migrations: true,
        }
    }
}

impl PostgresConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::invalid("postgres.url", "must start with postgres:// or postgresql://"));
        }
        PgTarget::parse(url).map_err(|message| ConfigError::invalid("postgres.url", message))?;
        ConfigError::require_at_least_one([
            ("postgres.pool_size", self.pool_size as u64),
            ("postgres.connect_timeout_ms", self.connect_timeout_ms),
        ])
    }

    /// The URL without its password, for logs and errors.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose())
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

/// Builds the pool and proves the database answers, so a wrong URL fails start-up with
/// a clear message instead of failing the first request.
pub async fn connect(config: &PostgresConfig) -> anyhow::Result<PgPool> {
    let target = target(config)?;
    let mut manager_config = ManagerConfig::default();
    manager_config.custom_setup = Box::new(move |_url| {
        let target = target.clone();
        async move { target.establish().await }.boxed()
    });
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(config.url.expose(), manager_config);
    let pool = Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(config.timeout()))
        .create_timeout(Some(config.timeout()))
        .recycle_timeout(Some(config.timeout()))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?;
    ping(&pool, config.timeout())
        .await
        .map_err(|error| anyhow::anyhow!("postgres at {} is not reachable: {error}", config.redacted_url()))?;
    Ok(pool)
}

/// [`connect`], after applying the service's `migrations` when `run_migrations` is set
/// (each service owns its database and migrates it at start-up).
pub async fn connect_and_migrate(config: &PostgresConfig, migrations: EmbeddedMigrations) -> anyhow::Result<PgPool> {
    let pool = connect(config).await?;
    if config.run_migrations {
        migrate(config, migrations, MigrationDirection::Up).await?;
    }
    Ok(pool)
}

/// Runs `SELECT 1` on a pooled connection.
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), String> {
    let check = async {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.map_err(|e| e.to_string())?;
        Ok(())
    };
    tokio::time::timeout(timeout, check).await.map_err(|_| format!("no answer within {timeout:?}"))?
}

/// Which way to run a set of migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationDirection {
    /// Apply every pending migration.
    Up,
    /// Revert every applied migration (tests and `ordertrack-admin migrate --revert`).
    RevertAll,
}

/// Runs embedded migrations under a Postgres advisory lock, so replicas starting
/// together apply them once. Returns the versions applied or reverted.
///
/// diesel's migration harness is synchronous; it runs on its own thread through
/// diesel-async's connection wrapper, which needs no libpq.
pub async fn migrate(
    config: &PostgresConfig,
    migrations: EmbeddedMigrations,
    direction: MigrationDirection,
) -> anyhow::Result<Vec<String>> {
    let redacted = config.redacted_url();
    // Opened here (TLS and all); the migration thread drives it with a runtime of its own.
    let connection = target(config)?
        .establish()
        .await
        .map_err(|error| anyhow::anyhow!("migrations on {redacted}: cannot connect: {error}"))?;
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("migrations".into()).spawn(move || {
        let _ = done.send(migrate_blocking(connection, migrations, direction));
    })?;
    result
        .await
        .map_err(|_| anyhow::anyhow!("the migration thread stopped without an answer"))?
        .map_err(|error| anyhow::anyhow!("migrations on {redacted} failed: {error}"))
}

/// The lock key all ordertrack migrations share (any fixed number works).
const MIGRATION_LOCK: i64 = 0x6f72_6465_7274;

fn migrate_blocking(
    connection: AsyncPgConnection,
    migrations: EmbeddedMigrations,
    direction: MigrationDirection,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(connection);
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
    let result = match direction {
        MigrationDirection::Up => conn.run_pending_migrations(migrations),
        MigrationDirection::RevertAll => conn.revert_all_migrations(migrations),
    }
    .map(|versions| versions.iter().map(ToString::to_string).collect());
    conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
    result
}

/// The config's URL parsed, with its CA file loaded when it asks for TLS.
fn target(config: &PostgresConfig) -> anyhow::Result<PgTarget> {
    PgTarget::parse(config.url.expose())
        .map_err(|message| anyhow::anyhow!("postgres.url {}: {message}", config.redacted_url()))
}

/// Opens one connection outside any pool (administration and tests), over TLS when the
/// URL says so.
pub async fn connect_once(url: &str) -> diesel::ConnectionResult<AsyncPgConnection> {
    PgTarget::parse(url).map_err(diesel::ConnectionError::InvalidConnectionUrl)?.establish().await
}
