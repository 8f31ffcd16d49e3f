//! `order_created` / `order_updated` → shipments: a new CDEK order is recorded for
//! registration, a cancelled one for cancellation at CDEK. The CDEK calls themselves are
//! the worker's (`crate::worker`), so a CDEK outage never holds up the topic.

use std::sync::Arc;

use domain::events::{self as pb, Envelope, envelope::Payload};
use platform::kafka::HandleError;
use rdkafka::message::{Message, OwnedMessage};
use slog::{Logger, debug};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::registration;
use crate::store::Shipments;

#[derive(Clone)]
pub struct OrderEvents {
    pub store: Shipments,
    pub default_tariff: u32,
    pub wake: Arc<Notify>,
    pub log: Logger,
}

impl OrderEvents {
    pub async fn handle(&self, message: OwnedMessage) -> Result<(), HandleError> {
        let reject = |reason: String| HandleError::Reject(anyhow::anyhow!(reason));
        let payload = message.payload().ok_or_else(|| reject("empty message".into()))?;
        let envelope = Envelope::decode_checked(payload).map_err(|e| HandleError::Reject(e.into()))?;
        let (order, cancelled) = match envelope.payload {
            Some(Payload::OrderCreated(created)) => (created.order, false),
            Some(Payload::OrderUpdated(updated)) => {
                let cancelled = updated.order.as_ref().is_some_and(|o| o.status == pb::OrderStatus::Cancelled as i32)
                    && updated.changed.iter().any(|c| c == "status");
                if !cancelled {
                    return Ok(());
                }
                (updated.order, true)
            }
            _ => return Ok(()),
        };
        let order = order.ok_or_else(|| reject("an order event without the order".into()))?;
        let cdek = order.delivery.as_ref().is_some_and(|d| d.method == pb::DeliveryMethod::Cdek as i32);
        if !cdek {
            return Ok(());
        }
        let order_id: Uuid = order.id.parse().map_err(|_| reject(format!("order id {:?} is not a UUID", order.id)))?;
        let retry = |error: anyhow::Error| HandleError::Retry(error);
        if cancelled {
            self.store.request_cancel(order_id).await.map_err(retry)?;
            debug!(self.log, "CDEK order cancelled, cancellation queued"; "order_id" => %order_id);
        } else {
            let (body, tariff) = registration::build(&order, self.default_tariff).map_err(reject)?;
            let to_json = |value: serde_json::Result<serde_json::Value>| value.map_err(|e| reject(e.to_string()));
            let added = self
                .store
                .add(order_id, to_json(serde_json::to_value(&body))?, to_json(serde_json::to_value(&tariff))?)
                .await
                .map_err(retry)?;
            debug!(self.log, "CDEK order recorded for registration"; "order_id" => %order_id, "new" => added);
        }
        self.wake.notify_one();
        Ok(())
    }
}
