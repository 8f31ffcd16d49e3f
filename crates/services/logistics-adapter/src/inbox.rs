//! The webhook inbox's retention: webhooks received more than
//! `cdek.webhook_retention_hours` ago are deleted, at start-up and then every
//! `cdek.webhook_prune_interval_secs`. Without it the table only grows: every CDEK status
//! of every order leaves a row, and webhooks naming orders the adapter does not follow are
//! never marked handled.

use std::time::Duration;

use chrono::Utc;
use prometheus::IntCounter;
use slog::{Logger, debug, info, warn};
use tokio_util::sync::CancellationToken;

use crate::store::Shipments;

/// Rows deleted per statement.
const BATCH: i64 = 5000;

pub struct Pruning {
    store: Shipments,
    retention: Duration,
    interval: Duration,
    pruned: IntCounter,
    log: Logger,
}

impl Pruning {
    pub fn new(
        store: Shipments,
        retention: Duration,
        interval: Duration,
        registry: &prometheus::Registry,
        log: Logger,
    ) -> anyhow::Result<Self> {
        let pruned = IntCounter::new(
            "logistics_webhook_inbox_pruned_total",
            "Webhooks deleted from the inbox once older than cdek.webhook_retention_hours",
        )?;
        registry.register(Box::new(pruned.clone()))?;
        Ok(Self { store, retention, interval, pruned, log })
    }

    /// Prunes now and then every interval until shutdown. A failed round (Postgres away)
    /// is logged and tried again at the next one.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let retention = chrono::Duration::from_std(self.retention)?;
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = ticks.tick() => {}
            }
            let cutoff = Utc::now() - retention;
            let round = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                round = self.store.prune_webhooks(cutoff, BATCH) => round,
            };
            match round {
                Ok(0) => debug!(self.log, "no webhook old enough to prune"),
                Ok(deleted) => {
                    self.pruned.inc_by(deleted as u64);
                    info!(self.log, "webhook inbox pruned"; "deleted" => deleted, "received_before" => cutoff.to_rfc3339());
                }
                Err(error) => {
                    warn!(self.log, "could not prune the webhook inbox; trying again later"; "error" => %format!("{error:#}"))
                }
            }
        }
    }
}
