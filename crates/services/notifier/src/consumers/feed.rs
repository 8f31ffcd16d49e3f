//! Feeds the hub from Kafka. Every instance reads every partition of the four topics
//! itself (a fan-out consumer, no group): its sockets may want any order. Order events
//! are read back `order_lookback_hours` at start-up, so a restarted notifier knows which
//! courier serves which order before any new event arrives; positions and notifications
//! are only of interest from now on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::events::{Envelope, envelope::Payload};
use domain::position::Position;
use domain::topics::Topic;
use platform::kafka::{self, KafkaConfig, StartAt};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset};
use slog::{Logger, info, warn};
use tokio_util::sync::CancellationToken;

use crate::hub::{BadEvent, Hub, OrderEvent};
use crate::metrics::NotifierMetrics;

/// Final orders nobody watches are forgotten this long after their last change.
const FORGET_FINAL_AFTER: Duration = Duration::from_secs(3600);

pub struct Feed {
    consumer: StreamConsumer,
    /// (topic, partition, offset to reach) of the order topics at start-up.
    catch_up: Vec<(String, i32, i64)>,
    caught_up: Arc<AtomicBool>,
    topics: [(Topic, String); 4],
}

impl Feed {
    /// Assigns every partition; order topics from `lookback` ago, the others from now.
    pub async fn connect(config: &KafkaConfig, lookback: Duration, caught_up: Arc<AtomicBool>) -> anyhow::Result<Self> {
        let since = Utc::now().timestamp_millis() - i64::try_from(lookback.as_millis()).unwrap_or(i64::MAX);
        let topics = [Topic::OrderCreated, Topic::OrderUpdated, Topic::CourierLocations, Topic::CustomerNotifications]
            .map(|topic| (topic, config.topic(topic)));
        let starts: Vec<(String, StartAt)> = topics
            .iter()
            .map(|(topic, name)| match topic {
                Topic::OrderCreated | Topic::OrderUpdated => (name.clone(), StartAt::Since(since)),
                _ => (name.clone(), StartAt::Latest),
            })
            .collect();
        let consumer = kafka::fanout_consumer(config, "feed", &starts).await?;
        // Where the order topics end now: once the feed has read that far, the routes
        // are rebuilt and the notifier is ready.
        let assignment = consumer.assignment()?;
        let order_topics = [config.topic(Topic::OrderCreated), config.topic(Topic::OrderUpdated)];
        let timeout = config.request_timeout();
        let mut catch_up = Vec::new();
        for element in assignment.elements() {
            if !order_topics.iter().any(|t| t == element.topic()) {
                continue;
            }
            let (low, high) = kafka::watermarks(&consumer, element.topic(), element.partition(), timeout)?;
            let start = match element.offset() {
                Offset::Offset(offset) => offset.max(low),
                Offset::Beginning => low,
                _ => high,
            };
            if high > start {
                catch_up.push((element.topic().to_owned(), element.partition(), high));
            }
        }
        if catch_up.is_empty() {
            caught_up.store(true, Ordering::Release);
        }
        Ok(Self { consumer, catch_up, caught_up, topics })
    }

    fn topic_of(&self, name: &str) -> Option<Topic> {
        self.topics.iter().find(|(_, n)| n == name).map(|(topic, _)| *topic)
    }

    /// Reads until `shutdown`. A message that cannot be decoded is counted, logged and
    /// skipped: the notifier only forwards, it has nothing to retry.
    pub async fn run(
        mut self,
        hub: Arc<Hub>,
        metrics: NotifierMetrics,
        shutdown: CancellationToken,
        log: Logger,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut last_sweep = Instant::now();
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => break,
                received = self.consumer.recv() => received,
            };
            let message = match received {
                Ok(message) => message,
                Err(error) => {
                    warn!(log, "kafka receive failed"; "error" => %error);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(200)) => continue,
                    }
                }
            };
            let (topic_name, partition, offset) = (message.topic(), message.partition(), message.offset());
            let outcome = match (self.topic_of(topic_name), message.payload()) {
                (Some(topic), Some(bytes)) => apply(&hub, topic, bytes),
                (_, None) => Err(BadEvent::new("an empty message")),
                (None, _) => Err(BadEvent::new("a message from an unexpected topic")),
            };
            let label = match &outcome {
                Ok(true) => "applied",
                Ok(false) => "stale",
                Err(error) => {
                    warn!(log, "skipped an event"; "topic" => topic_name, "partition" => partition,
                        "offset" => offset, "error" => %error);
                    "invalid"
                }
            };
            metrics.events.with_label_values(&[topic_name, label]).inc();
            // Live events only: the catch-up at start-up reads hours back.
            match message.timestamp().to_millis() {
                Some(produced) if self.catch_up.is_empty() => {
                    let delay_ms = Utc::now().timestamp_millis().saturating_sub(produced).max(0);
                    metrics.event_delay.with_label_values(&[topic_name]).observe(delay_ms as f64 / 1000.0);
                }
                _ => {}
            }

            if !self.catch_up.is_empty() {
                self.catch_up.retain(|(t, p, high)| !(t == topic_name && *p == partition && offset + 1 >= *high));
                if self.catch_up.is_empty() {
                    self.caught_up.store(true, Ordering::Release);
                    let (orders, couriers) = hub.known();
                    info!(log, "routes rebuilt from the order topics"; "orders" => orders, "couriers" => couriers,
                        "took_ms" => started.elapsed().as_millis());
                }
            }
            if last_sweep.elapsed() > Duration::from_secs(60) {
                last_sweep = Instant::now();
                hub.sweep(FORGET_FINAL_AFTER);
            }
        }
        Ok(())
    }
}

/// Applies one event taken from `topic`; `Ok(false)` when it was stale.
pub fn apply(hub: &Hub, topic: Topic, bytes: &[u8]) -> Result<bool, BadEvent> {
    let envelope = Envelope::decode_checked(bytes).map_err(|e| BadEvent::new(format!("undecodable: {e}")))?;
    match (topic, envelope.payload) {
        (Topic::OrderCreated, Some(Payload::OrderCreated(created))) => {
            let order = created.order.ok_or_else(|| BadEvent::new("order_created without an order"))?;
            hub.apply_order(OrderEvent { order: &order, changed: &["created".to_owned()], transition: None })
        }
        (Topic::OrderUpdated, Some(Payload::OrderUpdated(updated))) => {
            let order = updated.order.as_ref().ok_or_else(|| BadEvent::new("order_updated without an order"))?;
            hub.apply_order(OrderEvent { order, changed: &updated.changed, transition: updated.transition.as_ref() })
        }
        (Topic::CourierLocations, Some(Payload::CourierLocations(batch))) => {
            let courier = batch.courier().map_err(|e| BadEvent::new(e.to_string()))?;
            let positions: Vec<Position> =
                batch.positions.iter().filter_map(|p| Position::from_event(p).ok()).collect();
            hub.apply_positions(courier, &positions);
            Ok(true)
        }
        (Topic::CustomerNotifications, Some(Payload::CustomerNotification(notification))) => {
            hub.notify(&notification).map(|()| true)
        }
        (topic, _) => Err(BadEvent::new(format!("{} does not belong on {topic:?}", envelope.event_type))),
    }
}
