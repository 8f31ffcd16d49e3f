//! Position ingest: filter a courier's batch against its last accepted point, publish
//! the accepted points to `courier_locations` (one message per batch, keyed by `<store>/<courier>`)
//! and wait for the broker's acknowledgement, then store the newest as the courier's
//! latest position. The answer says how many points were accepted and why the others
//! were dropped.
//!
//! Batches of one courier are handled one at a time within a process (a lock per shard
//! of couriers). If the broker does not take the batch, nothing is stored and the app is
//! told to retry (503 `broker_unavailable`), so no accepted point is lost. A batch that
//! waited a whole delivery timeout for its turn (an earlier one is still waiting for the
//! broker) gets the same answer, so retries do not pile up behind each other.

pub mod filters;
pub mod positions;

use std::time::{Duration, Instant};

use chrono::Utc;
use domain::events::{CourierLocations, Envelope, envelope::Payload};
use domain::ids::CourierKey;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};
use prost::Message;
use rdkafka::producer::FutureProducer;
use serde::Serialize;

use self::filters::{Drop, FilterConfig, RawPoint};
use self::positions::Positions;

/// Batches of one courier are filtered and published one at a time (each against the point
/// the previous one left); couriers share these locks by hash.
const SHARDS: usize = 4096;

pub struct Ingest {
    filters: FilterConfig,
    max_batch: usize,
    positions: Positions,
    producer: FutureProducer,
    topic: String,
    shards: Vec<tokio::sync::Mutex<()>>,
    /// How long a batch waits for its shard's lock (`kafka.delivery_timeout_ms`): while the
    /// broker is down every earlier batch holds it for up to the delivery timeout, and
    /// without this bound a courier's retries would queue up without end.
    lock_wait: Duration,
    points: IntCounterVec,
    latency: Histogram,
}

/// The answer to a batch.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub courier_id: String,
    pub accepted: usize,
    /// Each dropped point: its index in the batch as sent and why.
    pub dropped: Vec<DroppedPoint>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DroppedPoint {
    pub index: usize,
    /// `out_of_range`, `poor_accuracy`, `in_future`, `too_old`, `duplicate`, `out_of_order`,
    /// `impossible_jump` or `thinned`.
    #[schema(value_type = String, example = "impossible_jump")]
    pub reason: Drop,
}

/// Why a batch as a whole was refused (nothing of it was published).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the batch has no points")]
    EmptyBatch,
    #[error("the batch has {got} points; at most {max} are accepted")]
    BatchTooLarge { got: usize, max: usize },
    #[error("the broker did not take the batch: {0}")]
    Broker(rdkafka::error::KafkaError),
    #[error("earlier batches (of this courier, or of one sharing its lock) are still waiting for the broker")]
    Queued,
}

impl From<IngestError> for platform::api_error::ApiError {
    fn from(error: IngestError) -> Self {
        use platform::api_error::ApiError;
        match &error {
            IngestError::EmptyBatch => ApiError::bad_request("empty_batch", error.to_string()),
            IngestError::BatchTooLarge { .. } => ApiError::bad_request("batch_too_large", error.to_string()),
            IngestError::Broker(_) | IngestError::Queued => ApiError::unavailable("broker_unavailable", error),
        }
    }
}

impl Ingest {
    pub fn new(
        filters: FilterConfig,
        max_batch: usize,
        positions: Positions,
        producer: FutureProducer,
        topic: String,
        lock_wait: Duration,
        registry: &Registry,
    ) -> anyhow::Result<Self> {
        let points = IntCounterVec::new(
            Opts::new("tracker_points_total", "Reported points by outcome: accepted, or the reason they were dropped"),
            &["outcome"],
        )?;
        let latency = Histogram::with_opts(
            HistogramOpts::new("tracker_ingest_seconds", "From receiving a batch to the broker's acknowledgement")
                .buckets(vec![
                    0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0,
                ]),
        )?;
        registry.register(Box::new(points.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        // Every reason appears in /metrics from the start, at 0.
        for reason in Drop::ALL {
            points.with_label_values(&[reason.as_str()]);
        }
        points.with_label_values(&["accepted"]);
        let shards = (0..SHARDS).map(|_| tokio::sync::Mutex::new(())).collect();
        Ok(Self { filters, max_batch, positions, producer, topic, shards, lock_wait, points, latency })
    }

    /// Most points in one batch (`couriers.max_batch`).
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    pub fn positions(&self) -> &Positions {
        &self.positions
    }

    /// Filters, publishes and stores one batch of `courier`'s points. `received` is when
    /// the request arrived (for the latency metric).
    pub async fn ingest(
        &self,
        courier: &CourierKey,
        batch: &[RawPoint],
        received: Instant,
    ) -> Result<Outcome, IngestError> {
        if batch.is_empty() {
            return Err(IngestError::EmptyBatch);
        }
        if batch.len() > self.max_batch {
            return Err(IngestError::BatchTooLarge { got: batch.len(), max: self.max_batch });
        }
        let key = courier.to_string();
        let shard = shard_of(&key);
        let _serial = match self.shards.get(shard) {
            Some(lock) => {
                Some(tokio::time::timeout(self.lock_wait, lock.lock()).await.map_err(|_| IngestError::Queued)?)
            }
            None => None,
        };
        let last = self.positions.last(courier).await;
        let filtered = filters::filter(&self.filters, last, batch, Utc::now());
        if let Some(newest) = filtered.accepted.last() {
            let envelope = Envelope::new(
                "courier-tracker",
                domain::convert::timestamp(Utc::now()),
                Payload::CourierLocations(CourierLocations {
                    courier_id: courier.courier.to_string(),
                    positions: filtered.accepted.iter().map(|p| p.to_event()).collect(),
                    store_id: courier.store.to_string(),
                }),
            );
            platform::kafka::publish(&self.producer, &self.topic, &key, &envelope.encode_to_vec())
                .await
                .map_err(IngestError::Broker)?;
            self.latency.observe(received.elapsed().as_secs_f64());
            self.positions.save(courier, newest).await;
        }
        self.points.with_label_values(&["accepted"]).inc_by(filtered.accepted.len() as u64);
        for (_, reason) in &filtered.dropped {
            self.points.with_label_values(&[reason.as_str()]).inc();
        }
        Ok(Outcome {
            courier_id: courier.courier.to_string(),
            accepted: filtered.accepted.len(),
            dropped: filtered.dropped.into_iter().map(|(index, reason)| DroppedPoint { index, reason }).collect(),
        })
    }
}

fn shard_of(courier: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    courier.hash(&mut hasher);
    (hasher.finish() as usize) % SHARDS
}
