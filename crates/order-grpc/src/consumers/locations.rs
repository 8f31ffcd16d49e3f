//! `courier_locations`: the latest position of each courier and the downsampled path
//! of each order the courier is delivering (behind `/orders/{id}/track`).

use domain::events::{Envelope, envelope::Payload};
use domain::ids::CourierId;
use domain::position::Position;
use orders_store::{Orders, StoreError};
use platform::kafka::HandleError;
use rdkafka::message::OwnedMessage;
use slog::{Logger, warn};

#[derive(Clone)]
pub struct LocationHandler {
    orders: Orders,
    log: Logger,
}

impl LocationHandler {
    pub fn new(orders: Orders, log: Logger) -> Self {
        Self { orders, log }
    }

    pub async fn handle(&self, message: OwnedMessage) -> Result<(), HandleError> {
        let envelope =
            Envelope::decode_checked(super::payload(&message)?).map_err(|e| HandleError::Reject(e.into()))?;
        let Some(Payload::CourierLocations(batch)) = envelope.payload else {
            return Err(HandleError::Reject(anyhow::anyhow!(
                "expected courier locations, got {}",
                envelope.event_type
            )));
        };
        let courier = CourierId::parse(&batch.courier_id).map_err(|e| HandleError::Reject(e.into()))?;
        let positions: Vec<Position> = batch
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
        match self.orders.record_positions(&courier, &positions).await {
            Ok(()) => Ok(()),
            Err(StoreError::Unavailable(reason)) => {
                Err(HandleError::Retry(anyhow::anyhow!("postgres unavailable: {reason}")))
            }
            Err(other) => Err(HandleError::Reject(anyhow::anyhow!("{other:#}"))),
        }
    }
}
