//! Idempotency keys live `[orders] idempotency_key_ttl_hours` (24 h by default, as the
//! payment APIs keep theirs); the pruner deletes the older ones, in batches, every few
//! minutes, in each order-api and order-grpc instance (instances skip each other's rows),
//! and counts them (`ordertrack_idempotency_keys_pruned_total`). A key past its lifetime that is not
//! yet pruned is free anyway (`store::claim_idempotency_key`).

use std::time::Duration;

use platform::postgres::PgPool;
use prometheus::{IntCounter, Registry};
use slog::{Logger, info, warn};
use tokio_util::sync::CancellationToken;

use crate::error::OrdersError;

#[derive(Clone)]
pub struct IdempotencyPruner {
    pool: PgPool,
    ttl: chrono::Duration,
    interval: Duration,
    batch: i64,
    pruned: IntCounter,
    log: Logger,
}

impl IdempotencyPruner {
    pub fn new(pool: PgPool, ttl: chrono::Duration, registry: &Registry, log: Logger) -> anyhow::Result<Self> {
        let pruned = IntCounter::new(
            "idempotency_keys_pruned_total",
            "Idempotency keys deleted after their lifetime ([orders] idempotency_key_ttl_hours)",
        )?;
        registry.register(Box::new(pruned.clone()))?;
        Ok(Self { pool, ttl, interval: Duration::from_secs(300), batch: 1_000, pruned, log })
    }

    /// Deletes every key past its lifetime, a batch at a time; how many it deleted.
    pub async fn prune_once(&self) -> Result<usize, OrdersError> {
        let mut conn = self.pool.get().await?;
        let mut total = 0;
        loop {
            let deleted = super::prune_idempotency_keys(&mut conn, self.ttl, self.batch).await?;
            self.pruned.inc_by(deleted as u64);
            total += deleted;
            if (deleted as i64) < self.batch {
                return Ok(total);
            }
        }
    }

    /// Prunes at start and then every few minutes, until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            match self.prune_once().await {
                Ok(0) => {}
                Ok(deleted) => info!(self.log, "pruned expired idempotency keys"; "deleted" => deleted),
                Err(error) => warn!(self.log, "pruning idempotency keys failed, will retry"; "error" => %error),
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}
