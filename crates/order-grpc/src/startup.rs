//! Builds order-grpc from its configuration and runs it.

use std::time::Duration;

use domain::topics::Topic;
use platform::kafka::{self, KafkaProbe};
use platform::logging::{self, Logging};
use platform::metrics::Metrics;
use platform::postgres::{self, MigrationDirection};
use platform::readiness::{Dependency, Readiness};
use platform::service::Service;
use platform::supervisor::Supervisor;
use platform::{http, redis};
use slog::info;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::grpc;

pub struct Application {
    grpc_port: u16,
    http_port: u16,
    supervisor: Supervisor,
    _logging: Logging,
}

impl Application {
    /// Connects to Postgres (and applies the orders migrations), Redis and Kafka, and
    /// binds the gRPC and HTTP ports (0 picks free ones).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let logging = logging::init("order-grpc", &config.log);
        let log = logging.log.clone();
        let metrics = Metrics::new("order-grpc")?;

        let pool = postgres::connect(&config.postgres).await?;
        if config.postgres.run_migrations {
            postgres::migrate(
                &config.postgres,
                orders_store::MIGRATIONS,
                MigrationDirection::Up,
            )
            .await?;
        }
        let redis = redis::pool(&config.redis)?;
        let producer = kafka::producer(&config.kafka, "order-grpc")?;
        let topics = [
            Topic::OrderCreated,
            Topic::OrderUpdated,
            Topic::CustomerNotifications,
            Topic::OrderCommands,
            Topic::CourierLocations,
        ];
        let probe = KafkaProbe::new(
            &config.kafka,
            topics.map(|t| config.kafka.topic(t)).to_vec(),
        )?;
        let readiness = Readiness::new(Duration::from_secs(2))
            .with("postgres", Dependency::Postgres(pool))
            .with("redis", Dependency::Redis(redis))
            .with("kafka", Dependency::Kafka(probe));

        let address = format!("{}:{}", config.grpc.host, config.grpc.port);
        let grpc_listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {address}: {error}"))?;
        let grpc_port = grpc_listener.local_addr()?.port();
        let http_listener = config.http.bind()?;
        let http_port = http_listener.local_addr()?.port();
        let server = http::serve(
            &config.http,
            http_listener,
            log.clone(),
            metrics,
            readiness.clone(),
            |_| {},
        )?;

        let mut supervisor = Supervisor::new(
            log.clone(),
            Duration::from_secs(config.http.shutdown_timeout_secs + 5),
        );
        supervisor.add_http("http", server);
        let health_interval = Duration::from_millis(config.grpc.health_interval_ms);
        supervisor.spawn(
            "grpc",
            grpc::serve(
                grpc_listener,
                readiness,
                health_interval,
                supervisor.shutdown_token(),
            ),
        );
        supervisor.flush_on_stop(producer);
        info!(log, "order-grpc started"; "grpc_port" => grpc_port, "http_port" => http_port,
            "postgres" => config.postgres.redacted_url(), "redis" => config.redis.redacted_url(),
            "kafka" => &config.kafka.brokers);
        Ok(Self {
            grpc_port,
            http_port,
            supervisor,
            _logging: logging,
        })
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_port
    }

    /// The operational HTTP port (`/healthz`, `/readyz`, `/metrics`).
    pub fn http_port(&self) -> u16 {
        self.http_port
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
