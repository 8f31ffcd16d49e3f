//! `order_created` / `order_updated` → the tracker's store of each courier's orders.
//!
//! The events already fetched are recorded together, in one transaction: a burst of new
//! orders costs the tracker's database one commit per batch, not one per order.

use std::sync::Arc;

use domain::events::{Envelope, envelope::Payload};
use rdkafka::message::{Message, OwnedMessage};

use crate::store::{Assignment, Assignments};

/// The most events recorded in one transaction.
pub const MAX_BATCH: usize = 500;

/// Records the orders the events carry. Events of other kinds, and CDEK orders (they
/// have no courier to follow), are skipped; events no retry can make usable are answered
/// as rejected (index, reason). A database error fails the whole batch (it is retried).
pub async fn record_orders(
    assignments: &Arc<Assignments>,
    messages: Vec<OwnedMessage>,
) -> Result<Vec<(usize, anyhow::Error)>, anyhow::Error> {
    let mut rejected = Vec::new();
    let mut orders = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        match assignment_of(message) {
            Ok(Some(order)) => orders.push(order),
            Ok(None) => {}
            Err(reason) => rejected.push((index, reason)),
        }
    }
    assignments.record_all(&orders).await?;
    Ok(rejected)
}

/// The order an event carries, if the tracker follows it.
fn assignment_of(message: &OwnedMessage) -> anyhow::Result<Option<Assignment>> {
    let payload = message.payload().ok_or_else(|| anyhow::anyhow!("empty message"))?;
    let envelope = Envelope::decode_checked(payload)?;
    let order = match envelope.payload {
        Some(Payload::OrderCreated(created)) => created.order,
        Some(Payload::OrderUpdated(updated)) => updated.order,
        _ => return Ok(None),
    };
    let order = order.ok_or_else(|| anyhow::anyhow!("an order event without the order"))?;
    let own_courier = order.delivery.is_some_and(|d| d.method == domain::events::DeliveryMethod::OwnCourier as i32);
    if !own_courier {
        return Ok(None);
    }
    Assignment::from_event(&order).map(Some)
}
