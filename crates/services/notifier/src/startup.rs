//! Builds notifier from its configuration and runs it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Duration;

use actix_web::web;
use domain::topics::Topic;
use platform::kafka::KafkaProbe;
use platform::logging;
use platform::metrics::Metrics;
use platform::readiness::{Dependency, Readiness};
use platform::service::{Running, Service};
use platform::supervisor::Supervisor;
use slog::info;

use crate::config::Config;
use crate::consumers::feed::Feed;
use crate::hub::Hub;
use crate::metrics::NotifierMetrics;
use crate::routes::{self, WsState};

/// notifier: what `main` runs and the tests start ([`Service::build`]).
pub struct Application;

impl Service for Application {
    type Config = Config;

    /// Connects to Kafka (every partition of the four topics it forwards) and binds the
    /// HTTP port (0 picks a free one). The notifier keeps nothing durable: it rebuilds
    /// its routes from the order topics at start-up and is ready once it has.
    async fn build(config: Config) -> anyhow::Result<Running> {
        let logging = logging::init("notifier", &config.log);
        let log = logging.log.clone();
        let metrics = Metrics::new("notifier")?;
        let own_metrics = NotifierMetrics::new(metrics.registry())?;
        let ops_keys = config.ops.key_set()?;

        let topics = [Topic::OrderCreated, Topic::OrderUpdated, Topic::CourierLocations, Topic::CustomerNotifications];
        let probe = KafkaProbe::new(&config.kafka, topics.map(|t| config.kafka.topic(t)).to_vec())?;
        let caught_up = Arc::new(AtomicBool::new(false));
        let lookback = Duration::from_secs(u64::from(config.ws.order_lookback_hours) * 3600);
        let feed = Feed::connect(&config.kafka, lookback, Arc::clone(&caught_up)).await?;
        let readiness = Readiness::new(Duration::from_secs(2))
            .with("kafka", Dependency::Kafka(probe))
            .with("routes", Dependency::StartupTask(caught_up));

        let mut supervisor = Supervisor::for_http(log.clone(), &config.http);
        let hub = Arc::new(Hub::new(own_metrics.clone()));
        let state = web::Data::new(WsState {
            hub: Arc::clone(&hub),
            config: config.ws.clone(),
            ticket_secret: config.tracking.ticket_secret.clone(),
            ops_keys,
            metrics: own_metrics.clone(),
            shutdown: supervisor.shutdown_token(),
            log: log.clone(),
            open: AtomicUsize::new(0),
        });

        let app_routes = move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone());
            routes::configure(cfg);
        };
        let port = supervisor.serve_http(&config.http, metrics, readiness, app_routes)?;
        let (shutdown, feed_log) = (supervisor.shutdown_token(), log.clone());
        supervisor.spawn("feed", feed.run(hub, own_metrics, shutdown, feed_log));
        info!(log, "notifier started"; "port" => port, "kafka" => &config.kafka.brokers,
            "max_sockets" => config.ws.max_sockets);
        Ok(Running::new(port, supervisor, logging))
    }
}
