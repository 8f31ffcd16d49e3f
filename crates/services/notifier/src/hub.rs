//! The hub: what this notifier knows of orders and couriers, and who is watching.
//!
//! Fed by every order event (which courier serves which order, status, version, ETA)
//! and every courier position; it turns each into messages for the sockets that want
//! them. It never waits on a client: it only fills queues.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::events as pb;
use domain::geo::Coordinates;
use domain::ids::{CourierId, CourierKey, OrderId, StoreId};
use domain::position::Position;
use domain::status::OrderStatus;

use crate::messages::{
    self, CustomerPosition, EtaMessage, Hello, Notification, OpsCourier, OpsOrder, OpsUpdate, PositionMessage, Scope,
    Snapshot, TimelineMessage, Update,
};
use crate::metrics::NotifierMetrics;
use crate::send_queue::SendQueue;

/// Identifies one subscription, to end it.
pub type WatchId = u64;

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadEvent(String);

impl BadEvent {
    pub fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }
}

/// What the notifier knows of one order.
struct Route {
    key: Arc<str>,
    version: i64,
    status: OrderStatus,
    store: StoreId,
    /// The order's courier: a courier of the order's store.
    courier: Option<CourierKey>,
    destination: Coordinates,
    eta: Option<EtaMessage>,
    touched: Instant,
}

impl Route {
    fn ops_view(&self) -> OpsOrder<'_> {
        OpsOrder {
            order_id: self.key.to_string(),
            version: self.version,
            status: self.status.as_str(),
            store_id: self.store.as_str(),
            courier_id: self.courier.as_ref().map(|c| c.courier.as_str()),
            destination: self.destination.into(),
            eta: self.eta.as_ref(),
        }
    }
}

#[derive(Default)]
struct Courier {
    key: Arc<str>,
    /// Orders not yet final that the courier is assigned to.
    orders: Vec<OrderId>,
    last: Option<(Coordinates, PositionMessage)>,
}

impl Courier {
    fn ops_view<'a>(&'a self, id: &'a CourierKey, position: &'a PositionMessage) -> OpsCourier<'a> {
        OpsCourier {
            store_id: id.store.as_str(),
            courier_id: id.courier.as_str(),
            orders: self.orders.iter().map(OrderId::to_string).collect(),
            position,
        }
    }
}

struct OpsWatcher {
    id: WatchId,
    scope: Scope,
    queue: Arc<SendQueue>,
}

#[derive(Default)]
struct State {
    orders: HashMap<OrderId, Route>,
    couriers: HashMap<CourierKey, Courier>,
    watchers: HashMap<OrderId, Vec<(WatchId, Arc<SendQueue>)>>,
    ops: Vec<OpsWatcher>,
    next_id: WatchId,
}

pub struct Hub {
    state: Mutex<State>,
    metrics: NotifierMetrics,
}

/// An order event, decoded.
pub struct OrderEvent<'a> {
    pub order: &'a pb::Order,
    /// What changed ("created" for a new order).
    pub changed: &'a [String],
    pub transition: Option<&'a pb::TimelineEntry>,
}

impl Hub {
    pub fn new(metrics: NotifierMetrics) -> Self {
        Self { state: Mutex::new(State::default()), metrics }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pushed(&self, kind: &str, count: usize) {
        if count > 0 {
            self.metrics.pushed.with_label_values(&[kind]).inc_by(count as u64);
        }
    }

    /// Applies an order event. Returns false when it was stale (the hub already knew
    /// this version or a later one): events are applied in version order per order,
    /// whatever topic or partition they came from.
    pub fn apply_order(&self, event: OrderEvent<'_>) -> Result<bool, BadEvent> {
        let order = event.order;
        let id: OrderId =
            order.id.parse().map_err(|_| BadEvent::new(format!("order id {:?} is not a UUID", order.id)))?;
        let status = pb::OrderStatus::try_from(order.status)
            .ok()
            .and_then(pb::OrderStatus::to_domain)
            .ok_or_else(|| BadEvent::new(format!("order {id} has no status")))?;
        let store = StoreId::parse(&order.store_id).map_err(|e| BadEvent::new(format!("order {id}: {e}")))?;
        let courier = match order.courier_id.as_str() {
            "" => None,
            text => Some(CourierKey::new(
                store.clone(),
                CourierId::parse(text).map_err(|e| BadEvent::new(format!("order {id}: {e}")))?,
            )),
        };
        let point = order
            .destination
            .as_ref()
            .and_then(|place| place.point.as_ref())
            .ok_or_else(|| BadEvent::new(format!("order {id} has no destination")))?;
        let destination =
            Coordinates::parse(point.lat, point.lon).map_err(|e| BadEvent::new(format!("order {id}: {e}")))?;
        let eta = order.eta.as_ref().and_then(|eta| eta.to_domain().ok()).map(|eta| EtaMessage::from(&eta));

        let mut guard = self.state();
        let state = &mut *guard;
        let previous_courier = match state.orders.get(&id) {
            Some(route) if route.version >= order.version => return Ok(false),
            Some(route) => route.courier.clone(),
            None => None,
        };
        if let Some(previous) = &previous_courier {
            if let Some(entry) = state.couriers.get_mut(previous) {
                entry.orders.retain(|o| *o != id);
            }
        }
        if let Some(current) = &courier {
            if !status.is_final() {
                let entry = state
                    .couriers
                    .entry(current.clone())
                    .or_insert_with(|| Courier { key: Arc::from(current.to_string()), ..Courier::default() });
                if !entry.orders.contains(&id) {
                    entry.orders.push(id);
                }
            }
        }
        let route = state.orders.entry(id).or_insert_with(|| Route {
            key: Arc::from(id.to_string()),
            version: 0,
            status,
            store: store.clone(),
            courier: None,
            destination,
            eta: None,
            touched: Instant::now(),
        });
        route.version = order.version;
        route.status = status;
        route.store = store;
        route.courier = courier;
        route.destination = destination;
        route.eta = eta;
        route.touched = Instant::now();

        if let Some(watchers) = state.watchers.get(&id).filter(|w| !w.is_empty()) {
            let timeline_entry = event.transition.and_then(|entry| {
                let status = pb::OrderStatus::try_from(entry.status).ok()?.to_domain()?;
                let at = domain::convert::from_timestamp(entry.at.as_ref())?;
                let (carrier_status, carrier_note) = domain::order::carrier_words_shown(
                    entry.actor == pb::Actor::Carrier as i32,
                    Some(&entry.carrier_status),
                    Some(&entry.note),
                );
                Some(TimelineMessage { status: status.as_str(), at, carrier_status, carrier_note })
            });
            let body = messages::body(&Update {
                order_id: route.key.to_string(),
                version: route.version,
                changed: event.changed,
                status: route.status.as_str(),
                timeline_entry,
                eta: route.eta.as_ref(),
                courier_assigned: route.courier.is_some(),
            });
            let delivered = watchers.iter().filter(|(_, queue)| queue.push(Arc::clone(&body))).count();
            self.pushed("update", delivered);
        }
        let in_scope: Vec<&OpsWatcher> = state.ops.iter().filter(|w| w.scope.contains(route.destination)).collect();
        if !in_scope.is_empty() {
            let body = messages::body(&OpsUpdate { order: route.ops_view(), changed: event.changed });
            let delivered = in_scope.iter().filter(|w| w.queue.push(Arc::clone(&body))).count();
            self.pushed("order", delivered);
        }
        Ok(true)
    }

    /// Applies a batch of one courier's positions (oldest first): they reach the orders of
    /// the courier's store it carries, never another store's courier of the same id.
    pub fn apply_positions(&self, courier: CourierKey, positions: &[Position]) {
        let Some(last) = positions.last() else { return };
        let message = PositionMessage::from(last);
        let mut guard = self.state();
        let state = &mut *guard;
        let entry = state
            .couriers
            .entry(courier.clone())
            .or_insert_with(|| Courier { key: Arc::from(courier.to_string()), ..Courier::default() });
        entry.last = Some((last.point, message.clone()));

        let mut trail: Option<Vec<[f64; 2]>> = None;
        let mut delivered = 0;
        for order in &entry.orders {
            let (Some(watchers), Some(route)) = (state.watchers.get(order), state.orders.get(order)) else { continue };
            let trail = trail.get_or_insert_with(|| positions.iter().map(|p| [p.point.lat(), p.point.lon()]).collect());
            let body = messages::body(&CustomerPosition {
                order_id: route.key.to_string(),
                version: route.version,
                position: &message,
                trail,
            });
            for (_, queue) in watchers {
                queue.replace(&route.key, Arc::clone(&body));
                delivered += 1;
            }
        }
        self.pushed("position", delivered);

        let in_scope: Vec<&OpsWatcher> = state.ops.iter().filter(|w| w.scope.contains(last.point)).collect();
        if !in_scope.is_empty() {
            let body = messages::body(&entry.ops_view(&courier, &message));
            for watcher in &in_scope {
                watcher.queue.replace(&entry.key, Arc::clone(&body));
            }
            self.pushed("courier", in_scope.len());
        }
    }

    /// Passes a customer notification to the order's sockets.
    pub fn notify(&self, notification: &pb::CustomerNotification) -> Result<(), BadEvent> {
        let id: OrderId = notification
            .order_id
            .parse()
            .map_err(|_| BadEvent::new(format!("order id {:?} is not a UUID", notification.order_id)))?;
        let state = self.state();
        let Some(watchers) = state.watchers.get(&id) else { return Ok(()) };
        let from = pb::Actor::try_from(notification.actor)
            .ok()
            .and_then(pb::Actor::to_domain)
            .map_or("system", |actor| actor.as_str());
        let body = messages::body(&Notification {
            order_id: id.to_string(),
            notification_id: &notification.notification_id,
            message: &notification.message,
            from,
            at: Utc::now(),
        });
        let delivered = watchers.iter().filter(|(_, queue)| queue.push(Arc::clone(&body))).count();
        self.pushed("notification", delivered);
        Ok(())
    }

    /// Starts sending `order`'s events to `queue`, after a `hello` with what the hub
    /// knows (queued under the lock, so no event can overtake it).
    pub fn watch_order(&self, order: OrderId, queue: Arc<SendQueue>) -> WatchId {
        let mut state = self.state();
        state.next_id += 1;
        let id = state.next_id;
        let route = state.orders.get(&order);
        let hello = messages::body(&Hello {
            order_id: order.to_string(),
            known: route.is_some(),
            version: route.map(|r| r.version),
            status: route.map(|r| r.status.as_str()),
            eta: route.and_then(|r| r.eta.as_ref()),
            server_time: Utc::now(),
        });
        queue.push(hello);
        state.watchers.entry(order).or_default().push((id, queue));
        id
    }

    pub fn unwatch_order(&self, order: OrderId, id: WatchId) {
        let mut state = self.state();
        if let Some(watchers) = state.watchers.get_mut(&order) {
            watchers.retain(|(watch, _)| *watch != id);
            if watchers.is_empty() {
                state.watchers.remove(&order);
            }
        }
    }

    /// Starts (or, with `existing`, re-scopes) an ops subscription, after a snapshot of
    /// what is in scope (queued under the lock, so no event can overtake it).
    pub fn watch_ops(&self, existing: Option<WatchId>, scope: Scope, queue: Arc<SendQueue>) -> WatchId {
        let mut guard = self.state();
        let state = &mut *guard;
        let id = match existing {
            Some(id) => id,
            None => {
                state.next_id += 1;
                state.next_id
            }
        };
        state.ops.retain(|w| w.id != id);
        let orders = state
            .orders
            .values()
            .filter(|route| !route.status.is_final() && scope.contains(route.destination))
            .map(Route::ops_view)
            .collect();
        let couriers = state
            .couriers
            .iter()
            .filter_map(|(courier_id, courier)| {
                let (point, position) = courier.last.as_ref()?;
                scope.contains(*point).then(|| courier.ops_view(courier_id, position))
            })
            .collect();
        queue.push(messages::body(&Snapshot { orders, couriers }));
        state.ops.push(OpsWatcher { id, scope, queue });
        id
    }

    pub fn unwatch_ops(&self, id: WatchId) {
        self.state().ops.retain(|w| w.id != id);
    }

    /// Forgets final orders nobody has watched or changed for `after`.
    pub fn sweep(&self, after: Duration) -> usize {
        let mut guard = self.state();
        let state = &mut *guard;
        let before = state.orders.len();
        let watchers = &state.watchers;
        state.orders.retain(|id, route| {
            !(route.status.is_final() && route.touched.elapsed() > after && !watchers.contains_key(id))
        });
        state.couriers.retain(|_, courier| !courier.orders.is_empty() || courier.last.is_some());
        before - state.orders.len()
    }

    /// How many orders and couriers the hub knows.
    pub fn known(&self) -> (usize, usize) {
        let state = self.state();
        (state.orders.len(), state.couriers.len())
    }
}
