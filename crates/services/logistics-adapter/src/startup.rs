//! Builds logistics-adapter from its configuration and runs it.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use domain::topics::Topic;
use platform::kafka::{self, DeadLetters, KafkaProbe};
use platform::logging;
use platform::metrics::Metrics;
use platform::postgres;
use platform::readiness::{Dependency, Readiness};
use platform::secret::redact_url;
use platform::service::{Running, Service};
use platform::supervisor::Supervisor;
use prometheus::IntCounterVec;
use slog::{info, o};
use tokio::sync::Notify;

use crate::cdek::CdekClient;
use crate::commands::Commands;
use crate::config::Config;
use crate::consumers::orders::OrderEvents;
use crate::inbox::Pruning;
use crate::routes::{self, AppState};
use crate::store::{self, Shipments};
use crate::subscription;
use crate::worker::{Worker, WorkerSettings};

/// logistics-adapter: what `main` runs and the tests start ([`Service::build`]).
pub struct Application;

impl Service for Application {
    type Config = Config;

    /// Connects to its Postgres database (and applies its migrations) and Kafka, binds
    /// the HTTP port (0 picks a free one), and starts the consumer, the worker and (if
    /// configured) the webhook subscription. CDEK being away does not stop start-up.
    async fn build(config: Config) -> anyhow::Result<Running> {
        let logging = logging::init("logistics-adapter", &config.log);
        let log = logging.log.clone();
        let metrics = Metrics::new("logistics-adapter")?;

        let pool = postgres::connect_and_migrate(&config.postgres, store::MIGRATIONS).await?;
        let producer = kafka::producer(&config.kafka, "logistics-adapter")?;
        let topics = [Topic::OrderCreated, Topic::OrderUpdated, Topic::OrderCommands];
        let probe = KafkaProbe::new(&config.kafka, topics.map(|t| config.kafka.topic(t)).to_vec())?;
        let readiness = Readiness::new(Duration::from_secs(2))
            .with("postgres", Dependency::Postgres(pool.clone()))
            .with("kafka", Dependency::Kafka(probe));

        let shipments = Shipments::new(pool);
        let wake = Arc::new(Notify::new());
        let cdek = Arc::new(CdekClient::new(config.cdek.client_settings(), log.new(o!("part" => "cdek-client")))?);
        let commands = Commands::new(producer.clone(), config.kafka.topic(Topic::OrderCommands));
        let worker = Arc::new(Worker::new(
            shipments.clone(),
            Arc::clone(&cdek),
            commands,
            WorkerSettings::from_config(&config.cdek),
            Arc::clone(&wake),
            metrics.registry(),
            log.new(o!("part" => "worker")),
        )?);
        let events = OrderEvents {
            store: shipments.clone(),
            default_tariff: config.cdek.default_tariff_code,
            wake: Arc::clone(&wake),
            log: log.new(o!("consumer" => "orders")),
        };
        let consumer = kafka::consumer(
            &config.kafka,
            &config.kafka.consumer_group,
            &[config.kafka.topic(Topic::OrderCreated), config.kafka.topic(Topic::OrderUpdated)],
        )?;

        let webhooks = IntCounterVec::new(
            prometheus::Opts::new("logistics_webhooks_total", "CDEK webhooks received, by outcome"),
            &["outcome"],
        )?;
        metrics.registry().register(Box::new(webhooks.clone()))?;
        let pruning = Pruning::new(
            shipments.clone(),
            Duration::from_secs(config.cdek.webhook_retention_hours * 3600),
            Duration::from_secs(config.cdek.webhook_prune_interval_secs),
            metrics.registry(),
            log.new(o!("part" => "inbox")),
        )?;
        let state = web::Data::new(AppState {
            store: shipments,
            webhook_secret: config.cdek.webhook_secret.clone(),
            wake,
            webhooks,
        });
        let app_routes = move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone());
            routes::configure(cfg);
        };
        let mut supervisor = Supervisor::for_http(log.clone(), &config.http);
        let port = supervisor.serve_http(&config.http, metrics, readiness, app_routes)?;
        let shutdown = supervisor.shutdown_token();
        supervisor.spawn(
            "orders-consumer",
            kafka::consume(
                consumer,
                Some(DeadLetters { producer: producer.clone() }),
                shutdown.clone(),
                log.new(o!("consumer" => "orders")),
                move |message| {
                    let events = events.clone();
                    async move { events.handle(message).await }
                },
            ),
        );
        supervisor.spawn("worker", worker.run(shutdown.clone()));
        supervisor.spawn("webhook-inbox-pruning", pruning.run(shutdown.clone()));
        if config.cdek.subscribe {
            supervisor.spawn_once(
                "webhook-subscription",
                subscription::ensure(
                    cdek,
                    config.cdek.webhook_url(),
                    format!("{}/webhooks/cdek/***", config.cdek.public_url.trim_end_matches('/')),
                    Duration::from_millis(config.cdek.backoff_max_ms),
                    shutdown,
                    log.new(o!("part" => "subscription")),
                ),
            );
        }
        supervisor.flush_on_stop(producer);
        info!(log, "logistics-adapter started"; "port" => port, "postgres" => config.postgres.redacted_url(),
            "kafka" => &config.kafka.brokers, "cdek" => redact_url(&config.cdek.base_url),
            "poll_interval_secs" => config.cdek.poll_interval_secs, "subscribe" => config.cdek.subscribe);
        Ok(Running::new(port, supervisor, logging))
    }
}
