//! The fan-out behind `TrackOrder`: this process follows every `order_updated` and
//! `courier_locations` event (reading every partition itself, without a consumer group, so every replica sees
//! everything) and hands each to the streams watching that order or courier (a courier of
//! one store: `(store, courier id)`, the courier of the watched order's store).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::ids::{CourierKey, OrderId};
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message;
use slog::{Logger, warn};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Updates kept per channel for a slow stream before it is told it lagged.
const CHANNEL_CAPACITY: usize = 256;

#[derive(Clone, Default)]
pub struct TrackHub {
    channels: Arc<Mutex<Channels>>,
}

#[derive(Default)]
struct Channels {
    orders: HashMap<OrderId, broadcast::Sender<Arc<pb::OrderUpdated>>>,
    couriers: HashMap<CourierKey, broadcast::Sender<pb::Position>>,
}

impl Channels {
    /// Drops channels nobody listens to any more.
    fn sweep(&mut self) {
        self.orders.retain(|_, sender| sender.receiver_count() > 0);
        self.couriers.retain(|_, sender| sender.receiver_count() > 0);
    }
}

impl TrackHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Channels> {
        self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn subscribe_order(&self, id: OrderId) -> broadcast::Receiver<Arc<pb::OrderUpdated>> {
        let mut channels = self.lock();
        if channels.orders.len() % 1024 == 1023 {
            channels.sweep();
        }
        channels.orders.entry(id).or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0).subscribe()
    }

    pub fn subscribe_courier(&self, courier: &CourierKey) -> broadcast::Receiver<pb::Position> {
        let mut channels = self.lock();
        if channels.couriers.len() % 1024 == 1023 {
            channels.sweep();
        }
        channels.couriers.entry(courier.clone()).or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0).subscribe()
    }

    fn publish(&self, envelope: Envelope) {
        let mut channels = self.lock();
        match envelope.payload {
            Some(Payload::OrderUpdated(update)) => {
                let Some(id) = update.order.as_ref().and_then(|o| o.id.parse::<OrderId>().ok()) else {
                    return;
                };
                if let Some(sender) = channels.orders.get(&id) {
                    if sender.send(Arc::new(update)).is_err() {
                        channels.orders.remove(&id);
                    }
                }
            }
            Some(Payload::CourierLocations(batch)) => {
                // A batch without a store (older than couriers per store) is nobody's.
                let Ok(courier) = batch.courier() else {
                    return;
                };
                if let Some(sender) = channels.couriers.get(&courier) {
                    // The newest position of the batch is what a watcher needs.
                    let newest =
                        batch.positions.iter().max_by_key(|p| p.recorded_at.as_ref().map(|t| (t.seconds, t.nanos)));
                    if let Some(position) = newest {
                        if sender.send(*position).is_err() {
                            channels.couriers.remove(&courier);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Feeds the hub from `consumer` until `shutdown`.
    pub async fn feed(self, consumer: StreamConsumer, shutdown: CancellationToken, log: Logger) -> anyhow::Result<()> {
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                received = consumer.recv() => received,
            };
            match received {
                Ok(message) => match message.payload().map(Envelope::decode_checked) {
                    Some(Ok(envelope)) => self.publish(envelope),
                    Some(Err(error)) => {
                        warn!(log, "track feed skipped an undecodable event"; "error" => %error)
                    }
                    None => {}
                },
                Err(error) => {
                    warn!(log, "track feed receive failed"; "error" => %error);
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
    }
}
