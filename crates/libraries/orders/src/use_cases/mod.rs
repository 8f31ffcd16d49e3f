//! The use cases of the orders context, offered by both front doors (REST in order-api,
//! gRPC in order-grpc) and by order-grpc's consumers: the commands (`commands.rs`,
//! `positions.rs`) and the queries (`queries.rs`). Every change follows one path: lock
//! the row, let the domain decide, write the row, its timeline entry and its event
//! (outbox) in one transaction; after the commit, invalidate the cache and wake the
//! outbox relay. The statements themselves are in `crate::store`.

mod commands;
mod positions;
mod queries;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::convert;
use domain::events::{Envelope, envelope::Payload};
use domain::geo::Coordinates;
use domain::ids::{CourierId, OrderId, StoreId};
use domain::order::{Order, TimelineEntry};
use domain::position::Position;
use domain::status::OrderStatus;
use domain::topics::Topic;
use platform::postgres::PgPool;

use crate::error::OrdersError;
use crate::settings::OrdersConfig;
use crate::store::cache::OrderCache;
use crate::store::outbox::RelayWakeup;

/// Whose orders a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A storefront: only its own store's orders.
    Store(StoreId),
    /// An internal service: every order.
    Internal,
}

impl Scope {
    fn check(&self, order_id: OrderId, store_id: &str) -> Result<(), OrdersError> {
        match self {
            Scope::Store(store) if store.as_str() != store_id => Err(OrdersError::WrongStore(order_id)),
            _ => Ok(()),
        }
    }

    fn store(&self) -> Option<&StoreId> {
        match self {
            Scope::Store(store) => Some(store),
            Scope::Internal => None,
        }
    }
}

/// An order with its timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderDetails {
    pub order: Order,
    pub timeline: Vec<TimelineEntry>,
}

/// What `POST /orders` may save under an idempotency key.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// Hash of the request body: the same key with another body is refused.
    pub request_hash: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum Created {
    New {
        details: Box<OrderDetails>,
        tracking_token: String,
    },
    /// The same request came before under the same idempotency key: its response.
    Replayed {
        status: u16,
        body: serde_json::Value,
    },
}

/// The result of a change request.
#[derive(Debug, Clone)]
pub struct Executed {
    pub details: OrderDetails,
    /// False when the order already was as asked (nothing written, nothing published).
    pub changed: bool,
}

/// What became of a command from `order_commands`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    Applied,
    Unchanged,
    /// Refused by the domain (or for an unknown order): recorded, not retried.
    Rejected {
        code: String,
        reason: String,
    },
    /// This command id was handled before.
    Duplicate,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<OrderStatus>,
    pub courier_id: Option<CourierId>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub store_order_number: Option<String>,
    /// Orders older than this one (newest first).
    pub after: Option<OrderId>,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub orders: Vec<Order>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<OrderId>,
}

/// A point of a courier's path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub point: Coordinates,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Track {
    pub details: OrderDetails,
    pub courier_position: Option<Position>,
    pub path: Vec<TrackPoint>,
}

/// What a tracking token opens.
#[derive(Debug, Clone)]
pub enum Tracked {
    Found(Box<Track>),
    Expired,
    NotFound,
}

/// The statuses in which an order follows its courier's positions.
const FOLLOWS_COURIER: [OrderStatus; 4] =
    [OrderStatus::CourierAssigned, OrderStatus::PickedUp, OrderStatus::InTransit, OrderStatus::Arriving];

#[derive(Clone)]
pub struct Orders {
    pool: PgPool,
    cache: OrderCache,
    wakeup: RelayWakeup,
    config: Arc<OrdersConfig>,
}

impl Orders {
    pub fn new(pool: PgPool, cache: OrderCache, wakeup: RelayWakeup, config: OrdersConfig) -> Self {
        Self { pool, cache, wakeup, config: Arc::new(config) }
    }

    pub fn cache(&self) -> &OrderCache {
        &self.cache
    }

    fn envelope(&self, payload: Payload) -> Envelope {
        Envelope::new(self.config.producer, convert::timestamp(Utc::now()), payload)
    }

    fn topic(&self, topic: Topic) -> String {
        topic.with_prefix(&self.config.topic_prefix)
    }
}
