//! What the tracker makes of accepted positions: it follows `courier_locations` (its own
//! output; a consumer group of its own, so each courier is followed by one instance, in
//! order) and, for each of the courier's active orders,
//!
//! - detects pickup (entering the pickup geofence), leaving it (in transit) and arrival
//!   (entering the destination geofence) on the segment between consecutive points, so a
//!   sparse track that jumps over a geofence still counts; each is sent once per order;
//! - estimates the arrival time from the distance to go and the courier's learned speed,
//!   and sends it when it changed materially.
//!
//! Commands go to `order_commands` with ids derived from what they say
//! (`<order>:arriving`, `<order>:eta:<bucket>`), so a redelivered batch or a restarted
//! tracker sends the same ids again and order-grpc applies each once. The courier's state
//! here is only advanced after the broker took the commands.

pub mod eta;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::convert::timestamp;
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::geo::{Coordinates, segment_enters_circle};
use domain::ids::{CourierKey, OrderId};
use domain::position::Position;
use domain::status::OrderStatus;
use platform::config::ConfigError;
use platform::kafka::HandleError;
use prometheus::{IntCounterVec, Opts, Registry};
use prost::Message;
use rdkafka::message::{Message as _, OwnedMessage};
use rdkafka::producer::FutureProducer;
use serde::{Deserialize, Serialize};
use slog::{Logger, debug};

use crate::store::{ActiveOrder, Assignments, Milestone};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MotionConfig {
    /// Road distance over great-circle distance.
    pub detour_factor: f64,
    /// The learned speed is kept within these city limits (m/s).
    pub min_speed_mps: f64,
    pub max_speed_mps: f64,
    /// The speed assumed before any is learned (m/s).
    pub default_speed_mps: f64,
    /// Weight of the newest segment in the learned speed (0 to 1).
    pub speed_smoothing: f64,
    /// Time at the pickup point, added while the parcel is not picked up.
    pub handling_secs: u64,
    /// Geofence radii (metres).
    pub pickup_radius_m: f64,
    pub destination_radius_m: f64,
    /// Send a new ETA when it moved by this many seconds...
    pub eta_min_change_secs: u64,
    /// ...or by this fraction of the time still to go.
    pub eta_min_change_ratio: f64,
    /// The ETA's range spans this fraction of the time to go on each side.
    pub eta_spread: f64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        Self {
            detour_factor: 1.35,
            min_speed_mps: 2.0,
            max_speed_mps: 16.0,
            default_speed_mps: 5.5,
            speed_smoothing: 0.3,
            handling_secs: 300,
            pickup_radius_m: 75.0,
            destination_radius_m: 150.0,
            eta_min_change_secs: 60,
            eta_min_change_ratio: 0.1,
            eta_spread: 0.2,
        }
    }
}

impl MotionConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = ConfigError::require_positive;
        positive("motion.detour_factor", self.detour_factor)?;
        positive("motion.min_speed_mps", self.min_speed_mps)?;
        positive("motion.max_speed_mps", self.max_speed_mps)?;
        positive("motion.default_speed_mps", self.default_speed_mps)?;
        positive("motion.pickup_radius_m", self.pickup_radius_m)?;
        positive("motion.destination_radius_m", self.destination_radius_m)?;
        if self.min_speed_mps > self.max_speed_mps {
            return Err(ConfigError::invalid("motion.min_speed_mps", "must not exceed motion.max_speed_mps"));
        }
        if !(self.speed_smoothing > 0.0 && self.speed_smoothing <= 1.0) {
            return Err(ConfigError::invalid("motion.speed_smoothing", "must be in (0, 1]"));
        }
        if !(0.0..1.0).contains(&self.eta_spread) || !(0.0..=1.0).contains(&self.eta_min_change_ratio) {
            return Err(ConfigError::invalid(
                "motion.eta_spread",
                "eta_spread must be in [0, 1) and eta_min_change_ratio in [0, 1]",
            ));
        }
        Ok(())
    }
}

/// What the tracker remembers of a courier between batches.
#[derive(Debug, Clone, Default)]
struct CourierMotion {
    last: Option<(Coordinates, DateTime<Utc>)>,
    speed: Option<f64>,
    /// The expected arrival last sent per order.
    sent_eta: HashMap<OrderId, DateTime<Utc>>,
}

/// A command to send, with what to record once the broker took it.
struct Pending {
    order: OrderId,
    command_id: String,
    command: pb::order_command::Command,
    milestone: Option<Milestone>,
    kind: &'static str,
}

pub struct Motion {
    config: MotionConfig,
    assignments: Arc<Assignments>,
    producer: FutureProducer,
    commands_topic: String,
    couriers: Mutex<HashMap<CourierKey, CourierMotion>>,
    commands: IntCounterVec,
    log: Logger,
}

impl Motion {
    pub fn new(
        config: MotionConfig,
        assignments: Arc<Assignments>,
        producer: FutureProducer,
        commands_topic: String,
        registry: &Registry,
        log: Logger,
    ) -> anyhow::Result<Self> {
        let commands = IntCounterVec::new(
            Opts::new("tracker_commands_total", "Commands sent to order_commands by kind"),
            &["kind"],
        )?;
        registry.register(Box::new(commands.clone()))?;
        Ok(Self { config, assignments, producer, commands_topic, couriers: Mutex::new(HashMap::new()), commands, log })
    }

    /// Handles one `courier_locations` message.
    pub async fn handle(&self, message: OwnedMessage) -> Result<(), HandleError> {
        let reject = |reason: String| HandleError::Reject(anyhow::anyhow!(reason));
        let payload = message.payload().ok_or_else(|| reject("empty message".into()))?;
        let envelope = Envelope::decode_checked(payload).map_err(|e| HandleError::Reject(e.into()))?;
        let Some(Payload::CourierLocations(batch)) = envelope.payload else {
            return Err(reject(format!("expected courier locations, got {}", envelope.event_type)));
        };
        let courier = batch.courier().map_err(|e| HandleError::Reject(e.into()))?;
        let mut positions: Vec<Position> =
            batch.positions.iter().filter_map(|p| Position::from_event(p).ok()).collect();
        positions.sort_by_key(|p| p.recorded_at);
        let orders = self.assignments.of_courier(&courier).await.map_err(HandleError::Retry)?;

        let before = self.couriers.lock().ok().and_then(|c| c.get(&courier).cloned()).unwrap_or_default();
        let (after, pending) = self.follow(before, &orders, &positions);
        for command in &pending {
            self.send(command).await.map_err(|e| HandleError::Retry(e.into()))?;
        }
        for command in &pending {
            if let Some(milestone) = command.milestone {
                self.assignments.mark_sent(&courier, command.order, milestone).await.map_err(HandleError::Retry)?;
            }
            self.commands.with_label_values(&[command.kind]).inc();
            debug!(self.log, "command sent"; "courier_id" => %courier, "order_id" => %command.order, "kind" => command.kind);
        }
        if let Ok(mut couriers) = self.couriers.lock() {
            couriers.insert(courier, after);
        }
        Ok(())
    }

    /// The courier's new state and the commands its new positions call for.
    fn follow(
        &self,
        mut state: CourierMotion,
        orders: &[ActiveOrder],
        positions: &[Position],
    ) -> (CourierMotion, Vec<Pending>) {
        let config = &self.config;
        let mut pending = Vec::new();
        let mut picked_up: HashMap<OrderId, bool> =
            orders.iter().map(|o| (o.order_id, o.picked_up_sent || o.status != OrderStatus::CourierAssigned)).collect();
        let sent = |order: &ActiveOrder, milestone: Milestone, pending: &[Pending]| {
            let already = match milestone {
                Milestone::PickedUp => order.picked_up_sent,
                Milestone::InTransit => order.in_transit_sent,
                Milestone::Arriving => order.arriving_sent,
            };
            already || pending.iter().any(|p| p.order == order.order_id && p.milestone == Some(milestone))
        };
        for position in positions {
            let here = position.point;
            let from = match state.last {
                Some((_, at)) if position.recorded_at <= at => continue,
                Some((previous, at)) => {
                    let seconds = (position.recorded_at - at).num_milliseconds() as f64 / 1000.0;
                    if seconds > 0.0 && seconds <= 120.0 {
                        state.speed = Some(eta::learn_speed(
                            state.speed,
                            previous.distance_m(&here) / seconds,
                            config.speed_smoothing,
                        ));
                    }
                    previous
                }
                None => here,
            };
            for order in orders {
                let is_picked_up = picked_up.get(&order.order_id).copied().unwrap_or(false);
                if !is_picked_up && segment_enters_circle(&from, &here, &order.pickup, config.pickup_radius_m) {
                    if !sent(order, Milestone::PickedUp, &pending) {
                        pending.push(milestone(order, Milestone::PickedUp, position.recorded_at));
                    }
                    picked_up.insert(order.order_id, true);
                    continue;
                }
                let in_transit_status = matches!(order.status, OrderStatus::InTransit | OrderStatus::Arriving);
                if is_picked_up
                    && !in_transit_status
                    && here.distance_m(&order.pickup) > config.pickup_radius_m
                    && !sent(order, Milestone::InTransit, &pending)
                {
                    pending.push(milestone(order, Milestone::InTransit, position.recorded_at));
                }
                if is_picked_up
                    && order.status != OrderStatus::Arriving
                    && segment_enters_circle(&from, &here, &order.destination, config.destination_radius_m)
                    && !sent(order, Milestone::Arriving, &pending)
                {
                    pending.push(milestone(order, Milestone::Arriving, position.recorded_at));
                }
            }
            state.last = Some((here, position.recorded_at));
        }
        if let (Some((here, at)), false) = (state.last, positions.is_empty()) {
            for order in orders {
                let remaining = if picked_up.get(&order.order_id).copied().unwrap_or(false) {
                    eta::Remaining::ToDestination { destination: order.destination }
                } else {
                    eta::Remaining::ViaPickup { pickup: order.pickup, destination: order.destination }
                };
                let estimate = eta::estimate(config, at, &here, &remaining, state.speed);
                if eta::material(config, state.sent_eta.get(&order.order_id).copied(), estimate.expected_at(), at) {
                    pending.push(Pending {
                        order: order.order_id,
                        command_id: format!("{}:eta:{}", order.order_id, estimate.expected_at().timestamp() / 30),
                        command: pb::order_command::Command::SetEta(pb::SetEta { eta: Some((&estimate).into()) }),
                        milestone: None,
                        kind: "eta",
                    });
                    state.sent_eta.insert(order.order_id, estimate.expected_at());
                }
            }
            state.sent_eta.retain(|id, _| orders.iter().any(|o| o.order_id == *id));
        }
        (state, pending)
    }

    async fn send(&self, pending: &Pending) -> Result<(), rdkafka::error::KafkaError> {
        let command = pb::OrderCommand {
            command_id: pending.command_id.clone(),
            order_id: pending.order.to_string(),
            actor: pb::Actor::System as i32,
            command: Some(pending.command.clone()),
        };
        let envelope = Envelope::new("courier-tracker", timestamp(Utc::now()), Payload::OrderCommand(command));
        platform::kafka::publish(
            &self.producer,
            &self.commands_topic,
            &pending.order.to_string(),
            &envelope.encode_to_vec(),
        )
        .await
        .map(|_| ())
    }
}

fn milestone(order: &ActiveOrder, which: Milestone, at: DateTime<Utc>) -> Pending {
    let (status, name, note) = match which {
        Milestone::PickedUp => (OrderStatus::PickedUp, "picked_up", "the courier reached the pickup point"),
        Milestone::InTransit => (OrderStatus::InTransit, "in_transit", "the courier left the pickup point"),
        Milestone::Arriving => (OrderStatus::Arriving, "arriving", "the courier is near the destination"),
    };
    Pending {
        order: order.order_id,
        command_id: format!("{}:{name}", order.order_id),
        command: pb::order_command::Command::ChangeStatus(pb::ChangeStatus {
            status: pb::OrderStatus::from(status) as i32,
            carrier_status: String::new(),
            note: note.to_owned(),
            at: Some(timestamp(at)),
        }),
        milestone: Some(which),
        kind: name,
    }
}
