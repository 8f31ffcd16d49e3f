//! The orders context wired as each of its front doors runs it: the use cases, and the
//! background parts they rely on (the outbox relay that publishes their events, the
//! retry of cache invalidations that failed, the pruning of expired idempotency keys).
//! order-api and order-grpc build it alike.

use std::time::Duration;

use platform::metrics::Metrics;
use platform::postgres::PgPool;
use platform::redis::{RedisConfig, RedisPool};
use platform::supervisor::Supervisor;
use rdkafka::producer::FutureProducer;
use slog::Logger;

use crate::settings::OrdersSettings;
use crate::store::cache::OrderCache;
use crate::store::idempotency_pruner::IdempotencyPruner;
use crate::store::outbox::{Relay, RelayWakeup};
use crate::use_cases::Orders;

/// What the context runs on.
pub struct Connections {
    pub postgres: PgPool,
    pub redis: RedisPool,
    pub redis_config: RedisConfig,
    pub producer: FutureProducer,
}

pub struct OrdersContext {
    orders: Orders,
    relay: Relay,
    cache: OrderCache,
    pruner: IdempotencyPruner,
}

impl OrdersContext {
    /// The context of `service` (written into its events as their producer), with its
    /// topics under `topic_prefix`.
    pub fn new(
        connections: Connections,
        settings: &OrdersSettings,
        topic_prefix: &str,
        service: &'static str,
        metrics: &Metrics,
        log: &Logger,
    ) -> anyhow::Result<Self> {
        let Connections { postgres, redis, redis_config, producer } = connections;
        let ttl = Duration::from_secs(settings.cache_ttl_secs);
        let cache = OrderCache::new(redis, redis_config, ttl, metrics.registry(), log.clone())?;
        let wakeup = RelayWakeup::default();
        let config = settings.use_case_config(topic_prefix, service)?;
        let pruner =
            IdempotencyPruner::new(postgres.clone(), config.idempotency_key_ttl, metrics.registry(), log.clone())?;
        let orders = Orders::new(postgres.clone(), cache.clone(), wakeup.clone(), config);
        let relay = Relay::new(postgres, producer, wakeup, metrics.registry(), log.clone())?;
        Ok(Self { orders, relay, cache, pruner })
    }

    /// The use cases (cheap to clone: every clone shares the pool, cache and relay).
    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    /// Hands the background parts to the service's supervisor.
    pub fn supervise(self, supervisor: &mut Supervisor) {
        supervisor.spawn("outbox-relay", self.relay.run(supervisor.shutdown_token()));
        supervisor.spawn("cache-invalidation-retry", self.cache.retry_until_stopped(supervisor.shutdown_token()));
        supervisor.spawn("idempotency-key-pruner", self.pruner.run(supervisor.shutdown_token()));
    }
}
