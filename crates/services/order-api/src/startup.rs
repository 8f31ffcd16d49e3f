//! Builds order-api from its configuration and runs it.

use std::time::Duration;

use actix_web::web;
use domain::topics::Topic;
use orders::{Connections, OrdersContext};
use platform::kafka::{self, KafkaProbe};
use platform::logging;
use platform::metrics::Metrics;
use platform::postgres;
use platform::readiness::{Dependency, Readiness};
use platform::redis;
use platform::service::{Running, Service};
use platform::supervisor::Supervisor;
use slog::info;

use crate::config::Config;
use crate::routes;
use crate::routes::pages::{self, Pages};
use crate::state::{AppState, TrackingSettings};

/// order-api: what `main` runs and the tests start ([`Service::build`]).
pub struct Application;

impl Service for Application {
    type Config = Config;

    /// Connects to Postgres (and applies the orders migrations), Redis and Kafka, starts
    /// the outbox relay and binds the HTTP port (0 picks a free one; see [`Application::port`]).
    async fn build(config: Config) -> anyhow::Result<Running> {
        let logging = logging::init("order-api", &config.log);
        let log = logging.log.clone();
        let metrics = Metrics::new("order-api")?;
        let keys = config.auth.storefront_keys()?;

        let pool = postgres::connect_and_migrate(&config.postgres, orders::MIGRATIONS).await?;
        let redis = redis::pool(&config.redis)?;
        let producer = kafka::producer(&config.kafka, "order-api")?;
        let produced = [Topic::OrderCreated, Topic::OrderUpdated, Topic::CustomerNotifications];
        let probe = KafkaProbe::new(&config.kafka, produced.map(|t| config.kafka.topic(t)).to_vec())?;
        let readiness = Readiness::new(Duration::from_secs(2))
            .with("postgres", Dependency::Postgres(pool.clone()))
            .with("redis", Dependency::Redis(redis.clone()))
            .with("kafka", Dependency::Kafka(probe));

        let connections =
            Connections { postgres: pool, redis, redis_config: config.redis.clone(), producer: producer.clone() };
        let prefix = &config.kafka.topic_prefix;
        let context = OrdersContext::new(connections, &config.orders, prefix, "order-api", &metrics, &log)?;
        let orders = context.orders().clone();

        let state = web::Data::new(AppState {
            orders,
            tracking: TrackingSettings {
                ticket_secret: config.tracking.ticket_secret.clone(),
                ticket_ttl: chrono::Duration::seconds(i64::try_from(config.tracking.ticket_ttl_secs).unwrap_or(3600)),
                public_url: config.tracking.public_url.trim_end_matches('/').to_owned(),
                live_url: config.tracking.live_url.clone(),
            },
            pages: Pages::load(&config.web, &config.tracking.live_url, &log),
        });
        let keys = web::Data::new(keys);
        let web_root = std::path::PathBuf::from(&config.web.root);
        let app_routes = move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone()).app_data(keys.clone());
            routes::configure(cfg);
            pages::configure_static(cfg, &web_root);
        };

        let mut supervisor = Supervisor::for_http(log.clone(), &config.http);
        let port = supervisor.serve_http(&config.http, metrics, readiness, app_routes)?;
        context.supervise(&mut supervisor);
        supervisor.flush_on_stop(producer);
        info!(log, "order-api started"; "port" => port, "postgres" => config.postgres.redacted_url(),
            "redis" => config.redis.redacted_url(), "kafka" => &config.kafka.brokers,
            "stores" => config.auth.storefront_keys.len());
        Ok(Running::new(port, supervisor, logging))
    }
}
