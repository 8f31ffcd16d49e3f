//! `order_created` / `order_updated` → the tracker's store of each courier's orders.

use std::sync::Arc;

use domain::events::{Envelope, envelope::Payload};
use platform::kafka::HandleError;
use rdkafka::message::{Message, OwnedMessage};

use crate::store::Assignments;

/// Records the order an event carries. Events of other kinds, and CDEK orders (they
/// have no courier to follow), are skipped.
pub async fn record_order(assignments: &Arc<Assignments>, message: OwnedMessage) -> Result<(), HandleError> {
    let payload = message.payload().ok_or_else(|| HandleError::Reject(anyhow::anyhow!("empty message")))?;
    let envelope = Envelope::decode_checked(payload).map_err(|e| HandleError::Reject(e.into()))?;
    let order = match envelope.payload {
        Some(Payload::OrderCreated(created)) => created.order,
        Some(Payload::OrderUpdated(updated)) => updated.order,
        _ => return Ok(()),
    };
    let Some(order) = order else {
        return Err(HandleError::Reject(anyhow::anyhow!("an order event without the order")));
    };
    let own_courier = order.delivery.is_some_and(|d| d.method == domain::events::DeliveryMethod::OwnCourier as i32);
    if !own_courier {
        return Ok(());
    }
    match assignments.record(&order).await {
        Ok(_) => Ok(()),
        Err(error) if error.downcast_ref::<uuid::Error>().is_some() => Err(HandleError::Reject(error)),
        Err(error) => Err(HandleError::Retry(error)),
    }
}
