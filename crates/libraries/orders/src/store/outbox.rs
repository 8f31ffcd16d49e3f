//! The transactional outbox. A change writes its event here in the same transaction as
//! the change itself; the relay publishes the rows to Kafka and marks them published
//! only after the broker acknowledged them. A crash between publish and mark publishes
//! the row again (at-least-once: consumers de-duplicate by event id); nothing is lost
//! and nothing is published without its change.
//!
//! Several relays may run (order-api and order-grpc both do). They claim rows with
//! `FOR UPDATE SKIP LOCKED`; a relay leaves alone any key that has an earlier row it
//! did not claim, so each order's events reach the broker in order.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::events::Envelope;
use platform::postgres::PgPool;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry};
use prost::Message;
use rdkafka::producer::FutureProducer;
use slog::{Logger, info, warn};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::error::OrdersError;
use crate::store::schema::outbox;

/// Writes an event to the outbox on `conn` (inside the caller's transaction).
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    topic: &str,
    key: &str,
    envelope: &Envelope,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(outbox::table)
        .values((outbox::topic.eq(topic), outbox::message_key.eq(key), outbox::payload.eq(envelope.encode_to_vec())))
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
struct Pending {
    id: i64,
    topic: String,
    message_key: String,
    payload: Vec<u8>,
    attempts: i32,
    /// When the change's transaction began (the column's `now()` default).
    created_at: DateTime<Utc>,
}

/// Wakes the relay right after a commit, so events leave without waiting for a poll.
#[derive(Clone, Default)]
pub struct RelayWakeup(Arc<Notify>);

impl RelayWakeup {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

#[derive(Clone)]
struct RelayMetrics {
    published: IntCounter,
    failed: IntCounter,
    pending: IntGauge,
    delay: Histogram,
}

pub struct Relay {
    pool: PgPool,
    producer: FutureProducer,
    wakeup: RelayWakeup,
    log: Logger,
    metrics: RelayMetrics,
    batch_size: i64,
    poll_interval: Duration,
    /// After a wake-up, wait this long so the commits of that moment leave in one batch.
    batch_window: Duration,
}

impl Relay {
    pub fn new(
        pool: PgPool,
        producer: FutureProducer,
        wakeup: RelayWakeup,
        registry: &Registry,
        log: Logger,
    ) -> anyhow::Result<Self> {
        let published = IntCounter::new("outbox_published_total", "Outbox events published to Kafka")?;
        let failed = IntCounter::new("outbox_publish_failures_total", "Outbox events Kafka did not take (retried)")?;
        let pending = IntGauge::new("outbox_claimed_batch", "Events claimed in the relay's last batch")?;
        registry.register(Box::new(published.clone()))?;
        registry.register(Box::new(failed.clone()))?;
        let delay = Histogram::with_opts(
            HistogramOpts::new(
                "outbox_publish_delay_seconds",
                "From the change's transaction to the broker's acknowledgement of its event",
            )
            .buckets(vec![0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )?;
        registry.register(Box::new(pending.clone()))?;
        registry.register(Box::new(delay.clone()))?;
        Ok(Self {
            pool,
            producer,
            wakeup,
            log,
            metrics: RelayMetrics { published, failed, pending, delay },
            batch_size: 500,
            poll_interval: Duration::from_millis(200),
            batch_window: Duration::from_millis(3),
        })
    }

    /// Publishes until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut failures = 0u32;
        loop {
            let more = match self.relay_once().await {
                Ok(claimed) => {
                    failures = 0;
                    claimed as i64 >= self.batch_size
                }
                Err(error) => {
                    failures += 1;
                    if failures == 1 || failures % 50 == 0 {
                        warn!(self.log, "outbox relay cannot reach postgres, retrying"; "error" => %error, "failures" => failures);
                    }
                    false
                }
            };
            if more {
                if shutdown.is_cancelled() {
                    break;
                }
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wakeup.0.notified() => tokio::time::sleep(self.batch_window).await,
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        // One last pass so events committed just before the stop leave now.
        let _ = self.relay_once().await;
        info!(self.log, "outbox relay stopped");
        Ok(())
    }

    /// Claims a batch, publishes it, deletes what the broker took. Returns the number claimed.
    pub async fn relay_once(&self) -> Result<usize, OrdersError> {
        let mut conn = self.pool.get().await?;
        let producer = &self.producer;
        let metrics = &self.metrics;
        let log = &self.log;
        let batch_size = self.batch_size;
        conn.transaction::<usize, OrdersError, _>(async move |conn| {
            let claimed: Vec<Pending> = outbox::table
                .filter(outbox::next_attempt_at.le(Utc::now()))
                .order(outbox::id.asc())
                .limit(batch_size)
                .for_update()
                .skip_locked()
                .select(Pending::as_select())
                .load(conn)
                .await?;
            metrics.pending.set(claimed.len() as i64);
            if claimed.is_empty() {
                return Ok(0);
            }
            let count = claimed.len();
            let blocked = blocked_keys(conn, &claimed).await?;
            // Rows of each key, in id order; keys with an earlier row elsewhere wait.
            let mut by_key: BTreeMap<&str, Vec<&Pending>> = BTreeMap::new();
            for row in claimed.iter().filter(|row| !blocked.contains(&row.message_key)) {
                by_key.entry(row.message_key.as_str()).or_default().push(row);
            }
            let results =
                futures::future::join_all(by_key.into_values().map(|rows| publish_in_order(producer, rows))).await;
            let acknowledged_at = Utc::now();
            let mut published = Vec::new();
            for (ok, failed) in results {
                published.extend(ok);
                if let Some((row, error)) = failed {
                    metrics.failed.inc();
                    warn!(log, "publishing an outbox event failed, will retry";
                        "outbox_id" => row.id, "topic" => &row.topic, "attempt" => row.attempts + 1, "error" => %error);
                    let backoff_ms = (100i64 << row.attempts.clamp(0, 10)).min(60_000);
                    diesel::update(outbox::table.find(row.id))
                        .set((
                            outbox::attempts.eq(row.attempts + 1),
                            outbox::last_error.eq(error.to_string()),
                            outbox::next_attempt_at.eq(Utc::now() + chrono::Duration::milliseconds(backoff_ms)),
                        ))
                        .execute(conn)
                        .await?;
                }
            }
            if !published.is_empty() {
                diesel::delete(outbox::table.filter(outbox::id.eq_any(&published))).execute(conn).await?;
                metrics.published.inc_by(published.len() as u64);
                let acknowledged: HashSet<i64> = published.iter().copied().collect();
                for row in claimed.iter().filter(|row| acknowledged.contains(&row.id)) {
                    metrics.delay.observe((acknowledged_at - row.created_at).as_seconds_f64().max(0.0));
                }
            }
            Ok(count)
        })
        .await
    }
}

/// Keys of the claimed rows that have an earlier unpublished row this relay did not
/// claim (locked by another relay, or waiting for a retry).
async fn blocked_keys(conn: &mut AsyncPgConnection, claimed: &[Pending]) -> Result<HashSet<String>, OrdersError> {
    let keys: Vec<&str> = claimed.iter().map(|row| row.message_key.as_str()).collect();
    let ids: Vec<i64> = claimed.iter().map(|row| row.id).collect();
    let newest = ids.iter().copied().max().unwrap_or(0);
    let blocked: Vec<String> = outbox::table
        .filter(outbox::message_key.eq_any(&keys))
        .filter(outbox::id.lt(newest))
        .filter(outbox::id.ne_all(&ids))
        .select(outbox::message_key)
        .distinct()
        .load(conn)
        .await?;
    Ok(blocked.into_iter().collect())
}

/// Publishes one key's rows one after the other; stops at the first failure so the
/// rest keep their order. Returns the ids published and the failure, if any.
async fn publish_in_order<'a>(
    producer: &FutureProducer,
    rows: Vec<&'a Pending>,
) -> (Vec<i64>, Option<(&'a Pending, rdkafka::error::KafkaError)>) {
    let mut published = Vec::with_capacity(rows.len());
    for row in rows {
        match platform::kafka::publish(producer, &row.topic, &row.message_key, &row.payload).await {
            Ok(_) => published.push(row.id),
            Err(error) => return (published, Some((row, error))),
        }
    }
    (published, None)
}
