//! Builds order-grpc from its configuration and runs it.

use std::time::Duration;

use domain::topics::Topic;
use orders::{Connections, OrdersContext};
use platform::kafka::{self, DeadLetters, KafkaProbe};
use platform::logging;
use platform::metrics::Metrics;
use platform::postgres;
use platform::readiness::{Dependency, Readiness};
use platform::redis;
use platform::service::{Running, Service};
use platform::supervisor::Supervisor;
use slog::{info, o};

use crate::config::Config;
use crate::consumers::commands::CommandHandler;
use crate::consumers::locations::{LocationHandler, MAX_BATCH as MAX_LOCATION_BATCH};
use crate::grpc::track::TrackHub;
use crate::grpc::{self, OrderGrpc, ServiceKeys};

/// order-grpc: what `main` runs and the tests start ([`Service::build`]).
pub struct Application;

impl Service for Application {
    type Config = Config;

    /// Connects to Postgres (and applies the orders migrations), Redis and Kafka; starts
    /// the consumers, the outbox relay and the track feed; binds the gRPC and HTTP ports
    /// (0 picks free ones).
    async fn build(config: Config) -> anyhow::Result<Running> {
        let logging = logging::init("order-grpc", &config.log);
        let log = logging.log.clone();
        let metrics = Metrics::new("order-grpc")?;
        let keys = ServiceKeys::new(config.auth.service_keys()?);

        let pool = postgres::connect_and_migrate(&config.postgres, orders::MIGRATIONS).await?;
        let redis = redis::pool(&config.redis)?;
        let producer = kafka::producer(&config.kafka, "order-grpc")?;
        let topics = [
            Topic::OrderCreated,
            Topic::OrderUpdated,
            Topic::CustomerNotifications,
            Topic::OrderCommands,
            Topic::CourierLocations,
        ];
        let probe = KafkaProbe::new(&config.kafka, topics.map(|t| config.kafka.topic(t)).to_vec())?;
        let readiness = Readiness::new(Duration::from_secs(2))
            .with("postgres", Dependency::Postgres(pool.clone()))
            .with("redis", Dependency::Redis(redis.clone()))
            .with("kafka", Dependency::Kafka(probe));

        let connections =
            Connections { postgres: pool, redis, redis_config: config.redis.clone(), producer: producer.clone() };
        let prefix = &config.kafka.topic_prefix;
        let context = OrdersContext::new(connections, &config.orders, prefix, "order-grpc", &metrics, &log)?;
        let orders = context.orders().clone();

        let dead_letters = Some(DeadLetters { producer: producer.clone() });
        // A group per consumer (as the tracker's `-motion`): in one group the two would
        // rebalance together, and the work of each would stop whenever the other's did.
        let group = config.kafka.consumer_group.clone();
        let commands_consumer = kafka::consumer(&config.kafka, &group, &[config.kafka.topic(Topic::OrderCommands)])?;
        let locations_consumer = kafka::consumer(
            &config.kafka,
            &format!("{group}-locations"),
            &[config.kafka.topic(Topic::CourierLocations)],
        )?;
        let track_topics = [Topic::OrderUpdated, Topic::CourierLocations]
            .map(|topic| (config.kafka.topic(topic), kafka::StartAt::Latest));
        let track_consumer = kafka::fanout_consumer(&config.kafka, "track", &track_topics).await?;
        let commands =
            CommandHandler::new(orders.clone(), metrics.registry(), log.new(o!("consumer" => "order_commands")))?;
        let locations = LocationHandler::new(orders.clone(), log.new(o!("consumer" => "courier_locations")));
        let hub = TrackHub::default();

        // Checked by the config's validation already; read again here for the server.
        let grpc_server = grpc::server(grpc::tls::server_config(&config.grpc)?)?;
        let address = format!("{}:{}", config.grpc.host, config.grpc.port);
        let grpc_listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {address}: {error}"))?;
        let grpc_port = grpc_listener.local_addr()?.port();
        let mut supervisor = Supervisor::for_http(log.clone(), &config.http);
        let shutdown = supervisor.shutdown_token();
        // Its HTTP port serves the operational endpoints only.
        let http_port = supervisor.serve_http(&config.http, metrics, readiness.clone(), |_| {})?;
        let service = OrderGrpc::new(orders, hub.clone(), log.clone());
        let health_interval = Duration::from_millis(config.grpc.health_interval_ms);
        supervisor.spawn(
            "grpc",
            grpc::serve(grpc_listener, grpc_server, service, keys, readiness, health_interval, shutdown.clone()),
        );
        context.supervise(&mut supervisor);
        supervisor.spawn(
            "order-commands-consumer",
            kafka::consume(
                commands_consumer,
                dead_letters.clone(),
                shutdown.clone(),
                log.new(o!("consumer" => "order_commands")),
                move |message| {
                    let commands = commands.clone();
                    async move { commands.handle(message).await }
                },
            ),
        );
        supervisor.spawn(
            "courier-locations-consumer",
            kafka::consume_batches(
                locations_consumer,
                dead_letters,
                shutdown.clone(),
                log.new(o!("consumer" => "courier_locations")),
                MAX_LOCATION_BATCH,
                move |messages| {
                    let locations = locations.clone();
                    async move { locations.handle_batch(messages).await }
                },
            ),
        );
        supervisor.spawn("track-feed", hub.feed(track_consumer, shutdown, log.new(o!("consumer" => "track_feed"))));
        supervisor.flush_on_stop(producer);
        info!(log, "order-grpc started"; "grpc_port" => grpc_port, "grpc_transport" => grpc::tls::mode(&config.grpc), "http_port" => http_port,
            "postgres" => config.postgres.redacted_url(), "redis" => config.redis.redacted_url(),
            "kafka" => &config.kafka.brokers);
        Ok(Running::new(http_port, supervisor, logging).with_grpc_port(grpc_port))
    }
}
