//! `order_commands`: status changes, ETAs, carrier references and carrier events from
//! the courier tracker and the logistics adapter. Each is applied once per command id; a command the status machine refuses
//! is recorded as rejected (and counted), never retried; a message that cannot be
//! decoded goes to the dead-letter topic.

use chrono::Utc;
use domain::convert::from_timestamp;
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::ids::OrderId;
use domain::order::Command;
use orders::CommandOutcome;
use orders::{Orders, OrdersError};
use platform::kafka::HandleError;
use prometheus::IntCounterVec;
use rdkafka::message::OwnedMessage;
use slog::{Logger, debug, warn};

#[derive(Clone)]
pub struct CommandHandler {
    orders: Orders,
    outcomes: IntCounterVec,
    log: Logger,
}

impl CommandHandler {
    pub fn new(orders: Orders, registry: &prometheus::Registry, log: Logger) -> anyhow::Result<Self> {
        let outcomes = IntCounterVec::new(
            prometheus::Opts::new("order_commands_total", "Commands from order_commands by outcome"),
            &["outcome"],
        )?;
        registry.register(Box::new(outcomes.clone()))?;
        Ok(Self { orders, outcomes, log })
    }

    pub async fn handle(&self, message: OwnedMessage) -> Result<(), HandleError> {
        let reject = |reason: String| HandleError::Reject(anyhow::anyhow!(reason));
        let envelope =
            Envelope::decode_checked(super::payload(&message)?).map_err(|e| HandleError::Reject(e.into()))?;
        let Some(Payload::OrderCommand(command)) = envelope.payload else {
            return Err(reject(format!("expected an order command, got {}", envelope.event_type)));
        };
        if command.command_id.is_empty() || command.command_id.len() > 200 {
            return Err(reject("the command has no usable command_id".into()));
        }
        let order_id: OrderId =
            command.order_id.parse().map_err(|_| reject(format!("order id {:?} is not a UUID", command.order_id)))?;
        let actor = pb::Actor::try_from(command.actor)
            .ok()
            .and_then(pb::Actor::to_domain)
            .unwrap_or(domain::status::Actor::System);
        let mut at = from_timestamp(envelope.occurred_at.as_ref()).unwrap_or_else(Utc::now);
        let domain_command = match command.command {
            Some(pb::order_command::Command::ChangeStatus(change)) => {
                let to = pb::OrderStatus::try_from(change.status)
                    .ok()
                    .and_then(pb::OrderStatus::to_domain)
                    .ok_or_else(|| reject(format!("unknown status {}", change.status)))?;
                if let Some(when) = from_timestamp(change.at.as_ref()) {
                    at = when;
                }
                Command::ChangeStatus {
                    to,
                    carrier_status: Some(change.carrier_status).filter(|s| !s.is_empty()),
                    note: Some(change.note).filter(|s| !s.is_empty()),
                }
            }
            Some(pb::order_command::Command::SetEta(set)) => {
                let eta = set.eta.as_ref().ok_or_else(|| reject("set_eta without an eta".into()))?;
                Command::SetEta { eta: eta.to_domain().map_err(|e| reject(e.to_string()))? }
            }
            Some(pb::order_command::Command::SetCarrierReference(set)) => {
                Command::SetCarrierReference { reference: set.carrier_reference }
            }
            Some(pb::order_command::Command::RecordCarrierEvent(event)) => {
                if let Some(when) = from_timestamp(event.at.as_ref()) {
                    at = when;
                }
                Command::RecordCarrierEvent {
                    carrier_status: event.carrier_status,
                    note: Some(event.note).filter(|s| !s.is_empty()),
                }
            }
            None => return Err(reject("the command is empty".into())),
        };
        match self.orders.apply_command(&command.command_id, order_id, domain_command, actor, at).await {
            Ok(outcome) => {
                let label = match &outcome {
                    CommandOutcome::Applied => "applied",
                    CommandOutcome::Unchanged => "unchanged",
                    CommandOutcome::Duplicate => "duplicate",
                    CommandOutcome::Rejected { .. } => "rejected",
                };
                self.outcomes.with_label_values(&[label]).inc();
                match outcome {
                    CommandOutcome::Rejected { code, reason } => {
                        warn!(self.log, "command rejected";
                        "command_id" => &command.command_id, "order_id" => %order_id, "code" => code, "reason" => reason)
                    }
                    other => {
                        debug!(self.log, "command handled"; "command_id" => &command.command_id, "outcome" => ?other)
                    }
                }
                Ok(())
            }
            Err(OrdersError::Unavailable(reason)) => {
                Err(HandleError::Retry(anyhow::anyhow!("postgres unavailable: {reason}")))
            }
            Err(other) => Err(HandleError::Reject(anyhow::anyhow!("{other:#}"))),
        }
    }
}
