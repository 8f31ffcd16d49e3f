//! Builds courier-tracker from its configuration and runs it.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use domain::topics::Topic;
use platform::kafka::{self, DeadLetters, KafkaProbe};
use platform::logging;
use platform::metrics::Metrics;
use platform::postgres;
use platform::readiness::{Dependency, Readiness};
use platform::redis;
use platform::redis::SharedConnection;
use platform::service::{Running, Service};
use platform::supervisor::Supervisor;
use prometheus::IntCounter;
use slog::{info, o};

use crate::config::Config;
use crate::consumers;
use crate::ingest::Ingest;
use crate::ingest::positions::Positions;
use crate::motion::Motion;
use crate::routes::{self, AppState};
use crate::store::{self, Assignments};

/// courier-tracker: what `main` runs and the tests start ([`Service::build`]).
pub struct Application;

impl Service for Application {
    type Config = Config;

    /// Connects to its Postgres database (and applies its migrations), Redis and Kafka;
    /// starts the consumers; binds the HTTP port (0 picks a free one).
    async fn build(config: Config) -> anyhow::Result<Running> {
        let logging = logging::init("courier-tracker", &config.log);
        let log = logging.log.clone();
        let metrics = Metrics::new("courier-tracker")?;
        let ops_keys = config.ops.key_set()?;

        let pool = postgres::connect_and_migrate(&config.postgres, store::MIGRATIONS).await?;
        let redis_pool = redis::pool(&config.redis)?;
        let producer = kafka::producer(&config.kafka, "courier-tracker")?;
        let topics = [Topic::OrderCreated, Topic::OrderUpdated, Topic::CourierLocations, Topic::OrderCommands];
        let probe = KafkaProbe::new(&config.kafka, topics.map(|t| config.kafka.topic(t)).to_vec())?;
        let readiness = Readiness::new(Duration::from_secs(2))
            .with("postgres", Dependency::Postgres(pool.clone()))
            .with("redis", Dependency::Redis(redis_pool.clone()))
            .with("kafka", Dependency::Kafka(probe));

        let redis_failures =
            IntCounter::new("tracker_redis_failures_total", "Redis operations of the position store that failed")?;
        metrics.registry().register(Box::new(redis_failures.clone()))?;
        let positions = Positions::new(
            SharedConnection::new(redis_pool, config.redis.timeout()),
            config.redis.clone(),
            redis_failures,
            log.new(o!("part" => "positions")),
        );
        let ingest = Arc::new(Ingest::new(
            config.filters.clone(),
            config.couriers.max_batch,
            positions,
            producer.clone(),
            config.kafka.topic(Topic::CourierLocations),
            config.kafka.delivery_timeout(),
            metrics.registry(),
        )?);
        let assignments = Arc::new(Assignments::new(pool));
        let motion = Arc::new(Motion::new(
            config.motion.clone(),
            Arc::clone(&assignments),
            producer.clone(),
            config.kafka.topic(Topic::OrderCommands),
            metrics.registry(),
            log.new(o!("part" => "motion")),
        )?);

        let group = config.kafka.consumer_group.clone();
        let orders_consumer = kafka::consumer(
            &config.kafka,
            &group,
            &[config.kafka.topic(Topic::OrderCreated), config.kafka.topic(Topic::OrderUpdated)],
        )?;
        let motion_consumer =
            kafka::consumer(&config.kafka, &format!("{group}-motion"), &[config.kafka.topic(Topic::CourierLocations)])?;
        let dead_letters = Some(DeadLetters { producer: producer.clone() });

        let state = web::Data::new(AppState {
            ingest,
            token_secret: config.couriers.token_secret.clone(),
            ops_keys,
            max_message_bytes: config.http.max_body_bytes,
        });
        // The body limit comes with http::serve, from the same [http] max_body_bytes.
        let app_routes = move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone());
            routes::configure(cfg);
        };
        let mut supervisor = Supervisor::for_http(log.clone(), &config.http);
        let port = supervisor.serve_http(&config.http, metrics, readiness, app_routes)?;
        let shutdown = supervisor.shutdown_token();
        supervisor.spawn(
            "orders-consumer",
            kafka::consume_batches(
                orders_consumer,
                dead_letters.clone(),
                shutdown.clone(),
                log.new(o!("consumer" => "orders")),
                consumers::orders::MAX_BATCH,
                move |messages| {
                    let assignments = Arc::clone(&assignments);
                    async move { consumers::orders::record_orders(&assignments, messages).await }
                },
            ),
        );
        supervisor.spawn(
            "motion-consumer",
            kafka::consume(
                motion_consumer,
                dead_letters,
                shutdown,
                log.new(o!("consumer" => "motion")),
                move |message| {
                    let motion = Arc::clone(&motion);
                    async move { motion.handle(message).await }
                },
            ),
        );
        supervisor.flush_on_stop(producer);
        info!(log, "courier-tracker started"; "port" => port, "postgres" => config.postgres.redacted_url(),
            "redis" => config.redis.redacted_url(), "kafka" => &config.kafka.brokers);
        Ok(Running::new(port, supervisor, logging))
    }
}
