//! Builds logistics-adapter from its configuration and runs it.

use std::time::Duration;

use domain::topics::Topic;
use platform::http;
use platform::kafka::{self, KafkaProbe};
use platform::logging::{self, Logging};
use platform::metrics::Metrics;
use platform::postgres::{self, MigrationDirection};
use platform::readiness::{Dependency, Readiness};
use platform::service::Service;
use platform::supervisor::Supervisor;
use slog::info;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::{routes, store};

pub struct Application {
    port: u16,
    supervisor: Supervisor,
    _logging: Logging,
}

impl Application {
    /// Connects to its Postgres database (and applies its migrations) and Kafka,
    /// and binds the HTTP port (0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let logging = logging::init("logistics-adapter", &config.log);
        let log = logging.log.clone();
        let metrics = Metrics::new("logistics-adapter")?;

        let pool = postgres::connect(&config.postgres).await?;
        if config.postgres.run_migrations {
            postgres::migrate(&config.postgres, store::MIGRATIONS, MigrationDirection::Up).await?;
        }
        let producer = kafka::producer(&config.kafka, "logistics-adapter")?;
        let topics = [Topic::OrderCreated, Topic::OrderUpdated, Topic::OrderCommands];
        let probe = KafkaProbe::new(&config.kafka, topics.map(|t| config.kafka.topic(t)).to_vec())?;
        let readiness = Readiness::new(Duration::from_secs(2))
            .with("postgres", Dependency::Postgres(pool))
            .with("kafka", Dependency::Kafka(probe));

        let listener = config.http.bind()?;
        let port = listener.local_addr()?.port();
        let server = http::serve(&config.http, listener, log.clone(), metrics, readiness, routes::configure)?;

        let mut supervisor = Supervisor::new(log.clone(), Duration::from_secs(config.http.shutdown_timeout_secs + 5));
        supervisor.add_http("http", server);
        supervisor.flush_on_stop(producer);
        info!(log, "logistics-adapter started"; "port" => port, "postgres" => config.postgres.redacted_url(),
            "kafka" => &config.kafka.brokers);
        Ok(Self { port, supervisor, _logging: logging })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.supervisor.shutdown_token()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.supervisor.run().await
    }
}

impl Service for Application {
    type Config = Config;

    async fn build(config: Config) -> anyhow::Result<Self> {
        Application::build(config).await
    }

    async fn run_until_stopped(self) -> anyhow::Result<()> {
        Application::run_until_stopped(self).await
    }
}
