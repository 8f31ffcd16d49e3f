//! The operations of the orders bounded context, shared by both front doors (REST in
//! order-api, gRPC in order-grpc) and by order-grpc's consumers. Every change follows
//! one path: lock the row, let the domain decide, write the row, its timeline entry and
//! its event (outbox) in one transaction; after the commit, invalidate the cache and
//! wake the outbox relay.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Array, Float4, Float8, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::convert;
use domain::eta::TravelAssumptions;
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::geo::Coordinates;
use domain::ids::{CourierId, OrderId, StoreId};
use domain::order::{Change, Command, CommandError, NewOrder, Order, Outcome, TimelineEntry};
use domain::position::Position;
use domain::status::{Actor, OrderStatus};
use domain::topics::Topic;
use platform::postgres::PgPool;
use prost::Message as _;
use uuid::Uuid;

use crate::cache::OrderCache;
use crate::error::StoreError;
use crate::outbox::{self, RelayWakeup};
use crate::rows::{CourierPositionRow, NewTrackPoint, OrderRow, TimelineRow};
use crate::schema::{courier_positions, idempotency_keys, order_timeline, orders, processed_commands, track_points};
use crate::tracking;

/// Whose orders a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A storefront: only its own store's orders.
    Store(StoreId),
    /// An internal service: every order.
    Internal,
}

impl Scope {
    fn check(&self, order_id: OrderId, store_id: &str) -> Result<(), StoreError> {
        match self {
            Scope::Store(store) if store.as_str() != store_id => Err(StoreError::WrongStore(order_id)),
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

#[derive(Debug, Clone)]
pub struct OrdersConfig {
    /// Prefix of the topic names (empty in production).
    pub topic_prefix: String,
    /// Written into every event's envelope as its producer.
    pub producer: &'static str,
    /// How long a tracking link keeps working after the order became final.
    pub tracking_retention: chrono::Duration,
    /// For the static delivery estimate when no ETA is known.
    pub travel: TravelAssumptions,
    /// A courier position is added to an order's path when it is this far from the
    /// last point kept...
    pub track_min_distance_m: f64,
    /// ...or this much later.
    pub track_min_interval: chrono::Duration,
}

impl OrdersConfig {
    pub fn new(topic_prefix: &str, producer: &'static str) -> Self {
        Self {
            topic_prefix: topic_prefix.to_owned(),
            producer,
            tracking_retention: chrono::Duration::days(7),
            travel: TravelAssumptions::default(),
            track_min_distance_m: 25.0,
            track_min_interval: chrono::Duration::seconds(15),
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
/// The most path points returned with a track.
const PATH_LIMIT: i64 = 2000;

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

    pub fn config(&self) -> &OrdersConfig {
        &self.config
    }

    fn envelope(&self, payload: Payload) -> Envelope {
        Envelope::new(self.config.producer, convert::timestamp(Utc::now()), payload)
    }

    fn topic(&self, topic: Topic) -> String {
        topic.with_prefix(&self.config.topic_prefix)
    }

    /// Creates an order (at most once per idempotency key). `respond` builds the
    /// response the caller will send, which is saved with the key.
    pub async fn create<F>(
        &self,
        new: NewOrder,
        actor: Actor,
        idempotency: Option<IdempotencyKey>,
        respond: F,
    ) -> Result<Created, StoreError>
    where
        F: FnOnce(&OrderDetails, &str) -> (u16, serde_json::Value) + Send,
    {
        let store_id = new.store_id.to_string();
        let (order, entry) = new.into_order(OrderId::new(), actor, Utc::now());
        let token = tracking::new_token();
        let row = OrderRow::from_domain(&order, tracking::hash(&token), None);
        let timeline = TimelineRow::from_domain(order.id, &entry);
        let event = self.envelope(convert::order_created(&order));
        let topic = self.topic(Topic::OrderCreated);
        let details = OrderDetails { order, timeline: vec![entry] };
        let key = row.id.to_string();
        let payload = event.encode_to_vec();
        let insert = NewOrderInsert { row: &row, timeline: &timeline, topic: &topic, key: &key, payload: &payload };
        let mut conn = self.pool.get().await?;
        let created = match idempotency {
            // The common case: one statement, atomic by itself, one round trip.
            None => {
                insert.write(&mut conn, None).await?;
                Created::New { details: Box::new(details), tracking_token: token }
            }
            Some(key) => {
                conn.transaction::<Created, StoreError, _>(async move |conn| {
                    // Taken first: a concurrent request with the same key waits here
                    // until this one commits, then replays its response.
                    let inserted = diesel::insert_into(idempotency_keys::table)
                        .values((
                            idempotency_keys::store_id.eq(&store_id),
                            idempotency_keys::idempotency_key.eq(&key.key),
                            idempotency_keys::request_hash.eq(&key.request_hash),
                            idempotency_keys::response_status.eq(0i16),
                            idempotency_keys::response_body.eq(serde_json::Value::Null),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)
                        .await?;
                    if inserted == 0 {
                        return replay(conn, &store_id, &key).await;
                    }
                    let (status, body) = respond(&details, &token);
                    let saved = SavedResponse {
                        store_id: &store_id,
                        key: &key.key,
                        status: i16::try_from(status).unwrap_or(201),
                        body,
                    };
                    insert.write(conn, Some(saved)).await?;
                    Ok(Created::New { details: Box::new(details), tracking_token: token })
                })
                .await?
            }
        };
        if matches!(created, Created::New { .. }) {
            self.wakeup.wake();
        }
        Ok(created)
    }

    /// An order with its timeline.
    pub async fn get(&self, scope: &Scope, id: OrderId) -> Result<OrderDetails, StoreError> {
        let mut conn = self.pool.get().await?;
        let row = load(&mut conn, id, false).await?;
        scope.check(id, &row.store_id)?;
        let order = row.to_domain()?;
        let timeline = load_timeline(&mut conn, id).await?;
        Ok(OrderDetails { order, timeline })
    }

    pub async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Page, StoreError> {
        let mut conn = self.pool.get().await?;
        let mut query = orders::table.select(OrderRow::as_select()).order(orders::id.desc()).into_boxed();
        if let Some(store) = scope.store() {
            query = query.filter(orders::store_id.eq(store.as_str().to_owned()));
        }
        if let Some(status) = filter.status {
            query = query.filter(orders::status.eq(status.as_str()));
        }
        if let Some(courier) = &filter.courier_id {
            query = query.filter(orders::courier_id.eq(courier.as_str().to_owned()));
        }
        if let Some(from) = filter.created_from {
            query = query.filter(orders::created_at.ge(from));
        }
        if let Some(to) = filter.created_to {
            query = query.filter(orders::created_at.lt(to));
        }
        if let Some(number) = &filter.store_order_number {
            query = query.filter(orders::store_order_number.eq(number.clone()));
        }
        if let Some(after) = filter.after {
            query = query.filter(orders::id.lt(after.as_uuid()));
        }
        let limit = filter.limit.clamp(1, 100);
        let rows: Vec<OrderRow> = query.limit(limit + 1).load(&mut conn).await?;
        let more = rows.len() as i64 > limit;
        let orders = rows.iter().take(limit as usize).map(OrderRow::to_domain).collect::<Result<Vec<_>, _>>()?;
        let next = if more { orders.last().map(|order| order.id) } else { None };
        Ok(Page { orders, next })
    }

    /// Applies a storefront's or internal service's request. With `expected_version`,
    /// the request is refused unless the order is still at that version.
    pub async fn execute(
        &self,
        scope: &Scope,
        id: OrderId,
        command: Command,
        actor: Actor,
        expected_version: Option<i64>,
    ) -> Result<Executed, StoreError> {
        let mut conn = self.pool.get().await?;
        let this = self;
        let scope = scope.clone();
        let (order, changed) = conn
            .transaction::<(Order, bool), StoreError, _>(async move |conn| {
                let row = load(conn, id, true).await?;
                scope.check(id, &row.store_id)?;
                if let Some(expected) = expected_version {
                    if expected != row.version {
                        return Err(StoreError::VersionConflict { expected, current: row.version });
                    }
                }
                let current = row.to_domain()?;
                match current.apply(command, actor, Utc::now())? {
                    Outcome::Unchanged => Ok((current, false)),
                    Outcome::Changed(change) => {
                        this.write_change(conn, &row, &change).await?;
                        Ok((change.order, true))
                    }
                }
            })
            .await?;
        if changed {
            self.after_commit(&order).await;
        }
        let timeline = load_timeline(&mut conn, id).await?;
        Ok(Executed { details: OrderDetails { order, timeline }, changed })
    }

    /// Applies a command from `order_commands` once per command id. Refusals are
    /// recorded and returned, never raised: a bad command must not stop the consumer.
    pub async fn apply_command(
        &self,
        command_id: &str,
        id: OrderId,
        command: Command,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<CommandOutcome, StoreError> {
        let mut conn = self.pool.get().await?;
        let this = self;
        let command_id = command_id.to_owned();
        let (outcome, changed) = conn
            .transaction::<(CommandOutcome, Option<Order>), StoreError, _>(async move |conn| {
                let inserted = diesel::insert_into(processed_commands::table)
                    .values((
                        processed_commands::command_id.eq(&command_id),
                        processed_commands::order_id.eq(id.as_uuid()),
                        processed_commands::outcome.eq("applied"),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
                if inserted == 0 {
                    return Ok((CommandOutcome::Duplicate, None));
                }
                let (outcome, changed) = match load(conn, id, true).await {
                    Err(StoreError::NotFound(_)) => (
                        CommandOutcome::Rejected {
                            code: "order_not_found".into(),
                            reason: format!("order {id} not found"),
                        },
                        None,
                    ),
                    Err(other) => return Err(other),
                    Ok(row) => {
                        let current = row.to_domain()?;
                        match current.apply(command, actor, at) {
                            Err(error) => (rejected(&error), None),
                            Ok(Outcome::Unchanged) => (CommandOutcome::Unchanged, None),
                            Ok(Outcome::Changed(change)) => {
                                this.write_change(conn, &row, &change).await?;
                                (CommandOutcome::Applied, Some(change.order))
                            }
                        }
                    }
                };
                let (label, reason) = match &outcome {
                    CommandOutcome::Applied => ("applied", None),
                    CommandOutcome::Unchanged => ("unchanged", None),
                    CommandOutcome::Rejected { code, reason } => ("rejected", Some(format!("{code}: {reason}"))),
                    CommandOutcome::Duplicate => ("applied", None),
                };
                diesel::update(processed_commands::table.find(&command_id))
                    .set((processed_commands::outcome.eq(label), processed_commands::reason.eq(reason)))
                    .execute(conn)
                    .await?;
                Ok((outcome, changed))
            })
            .await?;
        if let Some(order) = changed {
            self.after_commit(&order).await;
        }
        Ok(outcome)
    }

    /// Writes an accepted change: the row (guarded by its version), the timeline entry,
    /// the `order_updated` event.
    async fn write_change(
        &self,
        conn: &mut AsyncPgConnection,
        before: &OrderRow,
        change: &Change,
    ) -> Result<(), StoreError> {
        let expires = if change.order.status.is_final() && before.tracking_expires_at.is_none() {
            Some(change.order.updated_at + self.config.tracking_retention)
        } else {
            before.tracking_expires_at
        };
        let row = OrderRow::from_domain(&change.order, before.tracking_token_hash.clone(), expires);
        let updated =
            diesel::update(orders::table.filter(orders::id.eq(before.id)).filter(orders::version.eq(before.version)))
                .set(&row)
                .execute(conn)
                .await?;
        if updated != 1 {
            return Err(StoreError::VersionConflict { expected: before.version, current: before.version + 1 });
        }
        if let Some(entry) = &change.transition {
            diesel::insert_into(order_timeline::table)
                .values(TimelineRow::from_domain(change.order.id, entry))
                .execute(conn)
                .await?;
        }
        let event = self.envelope(convert::order_updated(change));
        outbox::enqueue(conn, &self.topic(Topic::OrderUpdated), &before.id.to_string(), &event).await?;
        Ok(())
    }

    async fn after_commit(&self, order: &Order) {
        self.wakeup.wake();
        self.cache.invalidate(order.id, order.version).await;
    }

    /// Sends a message to the order's customer (through `customer_notifications`).
    /// Returns the notification id.
    pub async fn notify(&self, scope: &Scope, id: OrderId, message: &str, actor: Actor) -> Result<Uuid, StoreError> {
        let message = domain::validation::text("message", message, 1000).map_err(CommandError::from)?;
        let mut conn = self.pool.get().await?;
        let row = load(&mut conn, id, false).await?;
        scope.check(id, &row.store_id)?;
        let notification_id = Uuid::now_v7();
        let event = self.envelope(Payload::CustomerNotification(pb::CustomerNotification {
            notification_id: notification_id.to_string(),
            order_id: id.to_string(),
            message,
            actor: pb::Actor::from(actor) as i32,
        }));
        outbox::enqueue(&mut conn, &self.topic(Topic::CustomerNotifications), &id.to_string(), &event).await?;
        self.wakeup.wake();
        Ok(notification_id)
    }

    /// The order, its courier's last position and the path so far.
    pub async fn track(&self, scope: &Scope, id: OrderId) -> Result<Track, StoreError> {
        let details = self.get(scope, id).await?;
        let mut conn = self.pool.get().await?;
        track_of(&mut conn, details).await
    }

    /// What the tracking token opens: the order's track, unless the link expired.
    pub async fn by_tracking_token(&self, token: &str) -> Result<Tracked, StoreError> {
        if !tracking::looks_valid(token) {
            return Ok(Tracked::NotFound);
        }
        let mut conn = self.pool.get().await?;
        let row: Option<OrderRow> = orders::table
            .filter(orders::tracking_token_hash.eq(tracking::hash(token)))
            .select(OrderRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        let Some(row) = row else {
            return Ok(Tracked::NotFound);
        };
        if row.tracking_expires_at.is_some_and(|expires| expires <= Utc::now()) {
            return Ok(Tracked::Expired);
        }
        let order = row.to_domain()?;
        let timeline = load_timeline(&mut conn, order.id).await?;
        Ok(Tracked::Found(Box::new(track_of(&mut conn, OrderDetails { order, timeline }).await?)))
    }

    /// The order id a tracking token opens (for cached public views); `None` when the
    /// token opens nothing or has expired.
    pub async fn tracked_order_id(&self, token: &str) -> Result<Option<OrderId>, StoreError> {
        if !tracking::looks_valid(token) {
            return Ok(None);
        }
        let mut conn = self.pool.get().await?;
        let found: Option<(Uuid, Option<DateTime<Utc>>)> = orders::table
            .filter(orders::tracking_token_hash.eq(tracking::hash(token)))
            .select((orders::id, orders::tracking_expires_at))
            .first(&mut conn)
            .await
            .optional()?;
        Ok(found.filter(|(_, expires)| expires.is_none_or(|e| e > Utc::now())).map(|(id, _)| OrderId::from_uuid(id)))
    }

    /// The courier's last known position.
    pub async fn courier_location(&self, courier: &CourierId) -> Result<Option<Position>, StoreError> {
        let mut conn = self.pool.get().await?;
        courier_position(&mut conn, courier.as_str()).await
    }

    /// The courier's orders, newest first: the active ones, or all of them.
    pub async fn courier_orders(
        &self,
        scope: &Scope,
        courier: &CourierId,
        active_only: bool,
    ) -> Result<Vec<Order>, StoreError> {
        let mut conn = self.pool.get().await?;
        let mut query = orders::table
            .filter(orders::courier_id.eq(courier.as_str().to_owned()))
            .select(OrderRow::as_select())
            .order(orders::id.desc())
            .limit(500)
            .into_boxed();
        if let Some(store) = scope.store() {
            query = query.filter(orders::store_id.eq(store.as_str().to_owned()));
        }
        if active_only {
            query = query.filter(orders::status.eq_any(FOLLOWS_COURIER.map(|s| s.as_str())));
        }
        let rows: Vec<OrderRow> = query.load(&mut conn).await?;
        Ok(rows.iter().map(OrderRow::to_domain).collect::<Result<Vec<_>, _>>()?)
    }

    /// Records a batch of a courier's positions: the latest becomes the courier's
    /// position; each active order of the courier keeps a downsampled path. Replaying a
    /// batch changes nothing.
    pub async fn record_positions(&self, courier: &CourierId, positions: &[Position]) -> Result<(), StoreError> {
        self.record_many_positions(&[(courier.clone(), positions.to_vec())]).await
    }

    /// [`Orders::record_positions`] for the batches of many couriers at once, in one
    /// transaction of four statements whatever their number: the couriers' latest
    /// positions, their active orders, those orders' last path points, the new ones.
    /// Batches are taken in the order given (a courier's later batch after its earlier).
    pub async fn record_many_positions(&self, batches: &[(CourierId, Vec<Position>)]) -> Result<(), StoreError> {
        // Each courier's newest position of all its batches, by courier id: every batch
        // locks the couriers' rows in the same order, so two instances writing overlapping
        // couriers (during a rebalance) wait for each other instead of deadlocking.
        let mut latest: BTreeMap<&str, &Position> = BTreeMap::new();
        for (courier, positions) in batches {
            for position in positions {
                let newer = latest.get(courier.as_str()).is_none_or(|held| held.recorded_at < position.recorded_at);
                if newer {
                    latest.insert(courier.as_str(), position);
                }
            }
        }
        if latest.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        let config = Arc::clone(&self.config);
        conn.transaction::<(), StoreError, _>(async move |conn| {
            // Only a newer position replaces the stored one (batches may arrive late or twice).
            let latest: Vec<(&str, &Position)> = latest.into_iter().collect();
            diesel::sql_query(
                "INSERT INTO courier_positions (courier_id, lat, lon, recorded_at, accuracy_m, speed_mps, heading_deg, updated_at) \
                 SELECT courier_id, lat, lon, recorded_at, accuracy_m, speed_mps, heading_deg, now() \
                 FROM unnest($1::text[], $2::float8[], $3::float8[], $4::timestamptz[], $5::float4[], $6::float4[], $7::float4[]) \
                   AS p (courier_id, lat, lon, recorded_at, accuracy_m, speed_mps, heading_deg) \
                 ON CONFLICT (courier_id) DO UPDATE SET lat = EXCLUDED.lat, lon = EXCLUDED.lon, \
                   recorded_at = EXCLUDED.recorded_at, accuracy_m = EXCLUDED.accuracy_m, speed_mps = EXCLUDED.speed_mps, \
                   heading_deg = EXCLUDED.heading_deg, updated_at = now() \
                 WHERE courier_positions.recorded_at < EXCLUDED.recorded_at",
            )
            .bind::<Array<Text>, _>(latest.iter().map(|(courier, _)| *courier).collect::<Vec<_>>())
            .bind::<Array<Float8>, _>(latest.iter().map(|(_, p)| p.point.lat()).collect::<Vec<_>>())
            .bind::<Array<Float8>, _>(latest.iter().map(|(_, p)| p.point.lon()).collect::<Vec<_>>())
            .bind::<Array<Timestamptz>, _>(latest.iter().map(|(_, p)| p.recorded_at).collect::<Vec<_>>())
            .bind::<Array<Float4>, _>(latest.iter().map(|(_, p)| p.accuracy_m).collect::<Vec<_>>())
            .bind::<Array<Nullable<Float4>>, _>(latest.iter().map(|(_, p)| p.speed_mps).collect::<Vec<_>>())
            .bind::<Array<Nullable<Float4>>, _>(latest.iter().map(|(_, p)| p.heading_deg).collect::<Vec<_>>())
            .execute(conn)
            .await?;

            let couriers: Vec<&str> = latest.iter().map(|(courier, _)| *courier).collect();
            let active: Vec<(Uuid, Option<String>)> = orders::table
                .filter(orders::courier_id.eq_any(&couriers))
                .filter(orders::status.eq_any(FOLLOWS_COURIER.map(|s| s.as_str())))
                .select((orders::id, orders::courier_id))
                .load(conn)
                .await?;
            if active.is_empty() {
                return Ok(());
            }
            let order_ids: Vec<Uuid> = active.iter().map(|(id, _)| *id).collect();
            let last_points: Vec<LastTrackPoint> = diesel::sql_query(
                "SELECT DISTINCT ON (order_id) order_id, lat, lon, recorded_at FROM track_points \
                 WHERE order_id = ANY($1) ORDER BY order_id, recorded_at DESC",
            )
            .bind::<Array<diesel::sql_types::Uuid>, _>(&order_ids)
            .load(conn)
            .await?;
            let mut kept: HashMap<Uuid, (Coordinates, DateTime<Utc>)> = last_points
                .into_iter()
                .filter_map(|p| Coordinates::parse(p.lat, p.lon).ok().map(|point| (p.order_id, (point, p.recorded_at))))
                .collect();
            let mut new_points = Vec::new();
            for (courier, positions) in batches {
                let mut sorted: Vec<&Position> = positions.iter().collect();
                sorted.sort_by_key(|p| p.recorded_at);
                for (order_id, _) in active.iter().filter(|(_, c)| c.as_deref() == Some(courier.as_str())) {
                    for position in &sorted {
                        let keep = match kept.get(order_id) {
                            None => true,
                            Some((point, at)) => {
                                position.recorded_at > *at
                                    && (position.point.distance_m(point) >= config.track_min_distance_m
                                        || position.recorded_at - *at >= config.track_min_interval)
                            }
                        };
                        if keep {
                            kept.insert(*order_id, (position.point, position.recorded_at));
                            new_points.push(NewTrackPoint {
                                order_id: *order_id,
                                courier_id: courier.to_string(),
                                lat: position.point.lat(),
                                lon: position.point.lon(),
                                recorded_at: position.recorded_at,
                            });
                        }
                    }
                }
            }
            if !new_points.is_empty() {
                diesel::insert_into(track_points::table).values(&new_points).execute(conn).await?;
            }
            Ok(())
        })
        .await
    }

    /// A static estimate of the delivery time from the distance, for orders with no ETA.
    pub fn estimate(&self, order: &Order, now: DateTime<Utc>) -> Option<domain::eta::Eta> {
        if order.delivery.is_cdek() || order.status.is_final() {
            return None;
        }
        Some(domain::eta::estimate(&order.pickup.point(), &order.destination.point(), now, &self.config.travel))
    }
}

/// A path's newest point, per order.
#[derive(QueryableByName)]
struct LastTrackPoint {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    order_id: Uuid,
    #[diesel(sql_type = Float8)]
    lat: f64,
    #[diesel(sql_type = Float8)]
    lon: f64,
    #[diesel(sql_type = Timestamptz)]
    recorded_at: DateTime<Utc>,
}

/// A new order's three rows, written by one statement (data-modifying CTEs run
/// atomically): the order, its first timeline entry, its `order_created` event, and,
/// under an idempotency key, the saved response.
struct NewOrderInsert<'a> {
    row: &'a OrderRow,
    timeline: &'a TimelineRow,
    topic: &'a str,
    key: &'a str,
    payload: &'a [u8],
}

struct SavedResponse<'a> {
    store_id: &'a str,
    key: &'a str,
    status: i16,
    body: serde_json::Value,
}

impl NewOrderInsert<'_> {
    async fn write(&self, conn: &mut AsyncPgConnection, saved: Option<SavedResponse<'_>>) -> Result<(), StoreError> {
        let result = match &saved {
            None => InsertNewOrder::<false> { insert: self, saved: None }.execute(conn).await,
            Some(saved) => InsertNewOrder::<true> { insert: self, saved: Some(saved) }.execute(conn).await,
        };
        result.map(|_| ()).map_err(|error| match &error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.constraint_name() == Some("orders_store_id_store_order_number_key") =>
            {
                StoreError::DuplicateStoreOrderNumber(self.row.store_order_number.clone())
            }
            _ => error.into(),
        })
    }
}

/// The statement behind [`NewOrderInsert`], as a diesel query with a static id so that
/// each connection prepares it once (raw `sql_query` text would be planned every time).
/// `SAVE` adds the update of the idempotency key's saved response.
struct InsertNewOrder<'a, const SAVE: bool> {
    insert: &'a NewOrderInsert<'a>,
    saved: Option<&'a SavedResponse<'a>>,
}

impl<const SAVE: bool> diesel::query_builder::QueryId for InsertNewOrder<'_, SAVE> {
    type QueryId = InsertNewOrder<'static, SAVE>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const SAVE: bool> diesel::query_builder::QueryFragment<diesel::pg::Pg> for InsertNewOrder<'_, SAVE> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Bytea, Int2, Int4, Int8, Jsonb, Nullable, Uuid as SqlUuid};
        let (row, entry) = (self.insert.row, self.insert.timeline);
        out.push_sql(
            "WITH new_order AS (INSERT INTO orders (id, store_id, store_order_number, customer_name, \
             customer_phone, customer_email, pickup_address, pickup_lat, pickup_lon, destination_address, \
             destination_lat, destination_lon, parcels, delivery_method, cdek_tariff_code, status, courier_id, \
             carrier_reference, eta_expected_at, eta_earliest, eta_latest, eta_source, eta_computed_at, \
             tracking_token_hash, tracking_expires_at, created_at, updated_at, version) VALUES (",
        );
        out.push_bind_param::<SqlUuid, _>(&row.id)?;
        for text in [
            &row.store_id,
            &row.store_order_number,
            &row.customer_name,
            &row.customer_phone,
            &row.customer_email,
            &row.pickup_address,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(text)?;
        }
        for number in [&row.pickup_lat, &row.pickup_lon] {
            out.push_sql(", ");
            out.push_bind_param::<Float8, _>(number)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.destination_address)?;
        for number in [&row.destination_lat, &row.destination_lon] {
            out.push_sql(", ");
            out.push_bind_param::<Float8, _>(number)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&row.parcels)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.delivery_method)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Int4>, _>(&row.cdek_tariff_code)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.status)?;
        for text in [&row.courier_id, &row.carrier_reference] {
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(text)?;
        }
        for time in [&row.eta_expected_at, &row.eta_earliest, &row.eta_latest] {
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Timestamptz>, _>(time)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&row.eta_source)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&row.eta_computed_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Bytea, _>(&row.tracking_token_hash)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&row.tracking_expires_at)?;
        for time in [&row.created_at, &row.updated_at] {
            out.push_sql(", ");
            out.push_bind_param::<Timestamptz, _>(time)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Int8, _>(&row.version)?;
        out.push_sql(") RETURNING id), new_entry AS (INSERT INTO order_timeline (order_id, version, status, actor, at, carrier_status, note) SELECT id, ");
        out.push_bind_param::<Int8, _>(&entry.version)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&entry.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&entry.actor)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&entry.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&entry.carrier_status)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&entry.note)?;
        out.push_sql(" FROM new_order)");
        if let Some(saved) = self.saved.filter(|_| SAVE) {
            out.push_sql(", saved AS (UPDATE idempotency_keys SET response_status = ");
            out.push_bind_param::<Int2, _>(&saved.status)?;
            out.push_sql(", response_body = ");
            out.push_bind_param::<Jsonb, _>(&saved.body)?;
            out.push_sql(" WHERE store_id = ");
            out.push_bind_param::<Text, _>(saved.store_id)?;
            out.push_sql(" AND idempotency_key = ");
            out.push_bind_param::<Text, _>(saved.key)?;
            out.push_sql(")");
        }
        out.push_sql(" INSERT INTO outbox (topic, message_key, payload) SELECT ");
        out.push_bind_param::<Text, _>(self.insert.topic)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.insert.key)?;
        out.push_sql(", ");
        out.push_bind_param::<Bytea, _>(self.insert.payload)?;
        out.push_sql(" FROM new_order");
        Ok(())
    }
}

fn rejected(error: &CommandError) -> CommandOutcome {
    CommandOutcome::Rejected { code: error.code().to_owned(), reason: error.to_string() }
}

async fn replay(conn: &mut AsyncPgConnection, store_id: &str, key: &IdempotencyKey) -> Result<Created, StoreError> {
    let (hash, status, body): (Vec<u8>, i16, serde_json::Value) = idempotency_keys::table
        .find((store_id, &key.key))
        .select((idempotency_keys::request_hash, idempotency_keys::response_status, idempotency_keys::response_body))
        .first(conn)
        .await?;
    if hash != key.request_hash {
        return Err(StoreError::IdempotencyKeyReused);
    }
    Ok(Created::Replayed { status: u16::try_from(status).unwrap_or(201), body })
}

async fn load(conn: &mut AsyncPgConnection, id: OrderId, for_update: bool) -> Result<OrderRow, StoreError> {
    let query = orders::table.find(id.as_uuid()).select(OrderRow::as_select());
    let row = if for_update { query.for_update().first(conn).await } else { query.first(conn).await };
    row.optional()?.ok_or(StoreError::NotFound(id))
}

async fn load_timeline(conn: &mut AsyncPgConnection, id: OrderId) -> Result<Vec<TimelineEntry>, StoreError> {
    let rows: Vec<TimelineRow> = order_timeline::table
        .filter(order_timeline::order_id.eq(id.as_uuid()))
        .order(order_timeline::version.asc())
        .select(TimelineRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.iter().map(TimelineRow::to_domain).collect::<Result<Vec<_>, _>>()?)
}

async fn courier_position(conn: &mut AsyncPgConnection, courier: &str) -> Result<Option<Position>, StoreError> {
    let row: Option<CourierPositionRow> =
        courier_positions::table.find(courier).select(CourierPositionRow::as_select()).first(conn).await.optional()?;
    Ok(row.and_then(|row| row.to_domain()))
}

async fn track_of(conn: &mut AsyncPgConnection, details: OrderDetails) -> Result<Track, StoreError> {
    let courier_position = match &details.order.courier_id {
        Some(courier) if !details.order.status.is_final() => courier_position(conn, courier.as_str()).await?,
        _ => None,
    };
    // The newest points, returned oldest first.
    let mut rows: Vec<(f64, f64, DateTime<Utc>)> = track_points::table
        .filter(track_points::order_id.eq(details.order.id.as_uuid()))
        .order(track_points::recorded_at.desc())
        .limit(PATH_LIMIT)
        .select((track_points::lat, track_points::lon, track_points::recorded_at))
        .load(conn)
        .await?;
    rows.reverse();
    let path = rows
        .into_iter()
        .filter_map(|(lat, lon, recorded_at)| {
            Coordinates::parse(lat, lon).ok().map(|point| TrackPoint { point, recorded_at })
        })
        .collect();
    Ok(Track { details, courier_position, path })
}

/// The `[orders]` configuration section, shared by order-api and order-grpc.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersSettings {
    /// How long a tracking link keeps working after its order became final.
    pub link_retention_days: u32,
    /// How long a cached order view lives in Redis (changes invalidate it sooner).
    pub cache_ttl_secs: u64,
    /// A courier position joins an order's path when this far from the last point kept...
    pub track_min_distance_m: f64,
    /// ...or this much later.
    pub track_min_interval_secs: u64,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        Self { link_retention_days: 7, cache_ttl_secs: 300, track_min_distance_m: 25.0, track_min_interval_secs: 15 }
    }
}

impl OrdersSettings {
    pub fn validate(&self) -> Result<(), platform::config::ConfigError> {
        use platform::config::ConfigError;
        if self.link_retention_days == 0 {
            return Err(ConfigError::invalid("orders.link_retention_days", "must be at least 1"));
        }
        if self.cache_ttl_secs == 0 {
            return Err(ConfigError::invalid("orders.cache_ttl_secs", "must be at least 1"));
        }
        if !(self.track_min_distance_m.is_finite() && self.track_min_distance_m >= 0.0) {
            return Err(ConfigError::invalid("orders.track_min_distance_m", "must be a distance in metres, 0 or more"));
        }
        Ok(())
    }

    /// The store's configuration for a service producing events as `producer`.
    pub fn store_config(&self, topic_prefix: &str, producer: &'static str) -> OrdersConfig {
        OrdersConfig {
            tracking_retention: chrono::Duration::days(i64::from(self.link_retention_days)),
            track_min_distance_m: self.track_min_distance_m,
            track_min_interval: chrono::Duration::seconds(
                i64::try_from(self.track_min_interval_secs).unwrap_or(i64::MAX),
            ),
            ..OrdersConfig::new(topic_prefix, producer)
        }
    }
}

/// The `[auth]` section shared by the two front doors of the orders context: order-api
/// uses the storefront keys, order-grpc the service keys.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Storefront API keys: store id → key (16+ characters). The store id is recorded on
    /// the orders a key creates, and a key sees only its store's orders.
    pub storefront_keys: std::collections::BTreeMap<String, platform::Secret>,
    /// Keys of the internal services allowed to call order-grpc: name → key (16+ characters).
    pub service_keys: std::collections::BTreeMap<String, platform::Secret>,
}

impl AuthSettings {
    /// The storefront keys; at least one is required. A key's name is its store id.
    pub fn storefront_keys(&self) -> Result<platform::keys::KeySet, platform::config::ConfigError> {
        for name in self.storefront_keys.keys() {
            StoreId::parse(name).map_err(|e| {
                platform::config::ConfigError::invalid(format!("auth.storefront_keys.{name}"), e.message)
            })?;
        }
        platform::keys::KeySet::from_config("auth.storefront_keys", &self.storefront_keys)
    }

    /// The service keys; at least one is required.
    pub fn service_keys(&self) -> Result<platform::keys::KeySet, platform::config::ConfigError> {
        platform::keys::KeySet::from_config("auth.service_keys", &self.service_keys)
    }
}
