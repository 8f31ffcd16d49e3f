//! `courier_locations`: the latest position of each courier (of its store) and the
//! downsampled path of each order of that store the courier is delivering (behind `/orders/{id}/track`).
//!
//! The messages already fetched are written together, in one transaction of a few
//! statements (`Orders::record_many_positions`): at thousands of batches a second, a
//! transaction per message made this consumer PostgreSQL's largest client.

use domain::events::{Envelope, envelope::Payload};
use domain::ids::CourierKey;
use domain::position::Position;
use orders::{Orders, OrdersError};
use rdkafka::message::{Message, OwnedMessage};
use slog::{Logger, warn};

/// The most messages written in one transaction.
pub const MAX_BATCH: usize = 500;

#[derive(Clone)]
pub struct LocationHandler {
    orders: Orders,
    log: Logger,
}

impl LocationHandler {
    pub fn new(orders: Orders, log: Logger) -> Self {
        Self { orders, log }
    }

    /// Records the messages' positions; answers the messages that can never be
    /// recorded (by index, with the reason), or an error when PostgreSQL is away (the
    /// batch is then offered again).
    pub async fn handle_batch(
        &self,
        messages: Vec<OwnedMessage>,
    ) -> Result<Vec<(usize, anyhow::Error)>, anyhow::Error> {
        let mut rejected = Vec::new();
        let mut batches = Vec::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            match self.decode(message) {
                Ok(batch) => batches.push((index, batch)),
                Err(reason) => rejected.push((index, reason)),
            }
        }
        let all: Vec<(CourierKey, Vec<Position>)> = batches.iter().map(|(_, batch)| batch.clone()).collect();
        match self.orders.record_many_positions(&all).await {
            Ok(()) => return Ok(rejected),
            Err(OrdersError::Unavailable(reason)) => return Err(anyhow::anyhow!("postgres unavailable: {reason}")),
            Err(error) if batches.len() == 1 => {
                rejected.extend(batches.first().map(|(index, _)| (*index, anyhow::anyhow!("{error:#}"))));
                return Ok(rejected);
            }
            Err(error) => warn!(self.log, "a batch of positions was refused, recording them one by one";
                "messages" => batches.len(), "error" => %format!("{error:#}")),
        }
        // One message the database refuses must not hold back the others.
        for (index, (courier, positions)) in batches {
            match self.orders.record_positions(&courier, &positions).await {
                Ok(()) => {}
                Err(OrdersError::Unavailable(reason)) => return Err(anyhow::anyhow!("postgres unavailable: {reason}")),
                Err(error) => rejected.push((index, anyhow::anyhow!("{error:#}"))),
            }
        }
        rejected.sort_by_key(|(index, _)| *index);
        Ok(rejected)
    }

    fn decode(&self, message: &OwnedMessage) -> Result<(CourierKey, Vec<Position>), anyhow::Error> {
        let payload = message.payload().ok_or_else(|| anyhow::anyhow!("the message has no payload"))?;
        let envelope = Envelope::decode_checked(payload)?;
        let Some(Payload::CourierLocations(batch)) = envelope.payload else {
            anyhow::bail!("expected courier locations, got {}", envelope.event_type);
        };
        let courier = batch.courier()?;
        let positions = batch
            .positions
            .iter()
            .filter_map(|p| match Position::from_event(p) {
                Ok(position) => Some(position),
                Err(error) => {
                    warn!(self.log, "skipped an invalid position"; "courier_id" => %courier, "error" => %error);
                    None
                }
            })
            .collect();
        Ok((courier, positions))
    }
}
