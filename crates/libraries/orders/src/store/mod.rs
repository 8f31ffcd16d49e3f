//! Persistence of the orders context: the schema, the rows, the statements the use cases
//! run (each a function on a connection, so the use cases keep the transaction
//! boundary), the outbox and its relay, and the Redis cache of rendered order views.
//! Nothing here decides: the use cases (`crate::use_cases`) and the domain do.

pub mod cache;
pub mod idempotency_pruner;
mod new_order;
pub mod outbox;
pub(crate) mod rows;
pub mod schema;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Float4, Float8, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::geo::Coordinates;
use domain::ids::{CourierId, CourierKey, OrderId, StoreId};
use domain::order::TimelineEntry;
use domain::position::Position;
use domain::status::OrderStatus;
use uuid::Uuid;

pub(crate) use self::new_order::{NewOrderInsert, SavedResponse};
use crate::error::OrdersError;
use crate::store::rows::{CourierPositionRow, NewTrackPoint, OrderRow, TimelineRow};
use crate::store::schema::{
    courier_positions, idempotency_keys, order_timeline, orders, processed_commands, track_points,
};
use crate::use_cases::{ListFilter, TrackPoint};

/// An order's row, locked for the transaction's update when `for_update`.
pub(crate) async fn load(conn: &mut AsyncPgConnection, id: OrderId, for_update: bool) -> Result<OrderRow, OrdersError> {
    let query = orders::table.find(id.as_uuid()).select(OrderRow::as_select());
    let row = if for_update { query.for_update().first(conn).await } else { query.first(conn).await };
    row.optional()?.ok_or(OrdersError::NotFound(id))
}

/// An order's timeline, oldest first.
pub(crate) async fn load_timeline(
    conn: &mut AsyncPgConnection,
    id: OrderId,
) -> Result<Vec<TimelineEntry>, OrdersError> {
    let rows: Vec<TimelineRow> = order_timeline::table
        .filter(order_timeline::order_id.eq(id.as_uuid()))
        .order(order_timeline::version.asc())
        .select(TimelineRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.iter().map(TimelineRow::to_domain).collect::<Result<Vec<_>, _>>()?)
}

/// A page of orders, newest first: `limit` of them and one more (which says there is a
/// next page).
pub(crate) async fn list(
    conn: &mut AsyncPgConnection,
    store: Option<&StoreId>,
    filter: &ListFilter,
    limit: i64,
) -> Result<Vec<OrderRow>, OrdersError> {
    let mut query = orders::table.select(OrderRow::as_select()).order(orders::id.desc()).into_boxed();
    if let Some(store) = store {
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
    Ok(query.limit(limit + 1).load(conn).await?)
}

/// A courier's orders (the orders of its store it is assigned to), newest first (at most
/// 500), in the given statuses or in any.
pub(crate) async fn courier_orders(
    conn: &mut AsyncPgConnection,
    courier: &CourierKey,
    statuses: Option<&[OrderStatus]>,
) -> Result<Vec<OrderRow>, OrdersError> {
    let mut query = orders::table
        .filter(orders::store_id.eq(courier.store.as_str().to_owned()))
        .filter(orders::courier_id.eq(courier.courier.as_str().to_owned()))
        .select(OrderRow::as_select())
        .order(orders::id.desc())
        .limit(500)
        .into_boxed();
    if let Some(statuses) = statuses {
        query = query.filter(orders::status.eq_any(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
    }
    Ok(query.load(conn).await?)
}

/// Takes an idempotency key for a request (its response is saved later, in the same
/// transaction). False when the key was taken before and is younger than `ttl`: a
/// concurrent request with the same key waits on it until the first one commits. A key
/// older than `ttl` (not yet pruned) is taken over as if it were new.
pub(crate) async fn claim_idempotency_key(
    conn: &mut AsyncPgConnection,
    store_id: &str,
    key: &str,
    request_hash: &[u8],
    ttl: chrono::Duration,
) -> Result<bool, OrdersError> {
    // The upsert's `WHERE` (on its `DO UPDATE`) comes from this trait.
    use diesel::query_dsl::methods::FilterDsl;
    let now = chrono::Utc::now();
    let claim = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::store_id.eq(store_id),
            idempotency_keys::idempotency_key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::response_status.eq(0i16),
            idempotency_keys::response_body.eq(serde_json::Value::Null),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict((idempotency_keys::store_id, idempotency_keys::idempotency_key))
        .do_update()
        .set((
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::response_status.eq(0i16),
            idempotency_keys::response_body.eq(serde_json::Value::Null),
            idempotency_keys::created_at.eq(now),
        ));
    let inserted = FilterDsl::filter(claim, idempotency_keys::created_at.lt(now - ttl)).execute(conn).await?;
    Ok(inserted == 1)
}

/// Deletes up to `batch` idempotency keys older than `ttl` (rows another transaction
/// holds are skipped, not waited for); how many it deleted.
pub(crate) async fn prune_idempotency_keys(
    conn: &mut AsyncPgConnection,
    ttl: chrono::Duration,
    batch: i64,
) -> Result<usize, OrdersError> {
    use diesel::sql_types::BigInt;
    Ok(diesel::sql_query(
        "DELETE FROM idempotency_keys WHERE ctid IN \
         (SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(chrono::Utc::now() - ttl)
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await?)
}

/// What was saved under an idempotency key: the request's hash, the response's status
/// and body.
pub(crate) async fn saved_response(
    conn: &mut AsyncPgConnection,
    store_id: &str,
    key: &str,
) -> Result<(Vec<u8>, i16, serde_json::Value), OrdersError> {
    Ok(idempotency_keys::table
        .find((store_id, key))
        .select((idempotency_keys::request_hash, idempotency_keys::response_status, idempotency_keys::response_body))
        .first(conn)
        .await?)
}

/// Takes a command id for an order. False when the command was handled before.
pub(crate) async fn claim_command(
    conn: &mut AsyncPgConnection,
    command_id: &str,
    order: OrderId,
) -> Result<bool, OrdersError> {
    let inserted = diesel::insert_into(processed_commands::table)
        .values((
            processed_commands::command_id.eq(command_id),
            processed_commands::order_id.eq(order.as_uuid()),
            processed_commands::outcome.eq("applied"),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Records what became of a claimed command.
pub(crate) async fn record_command_outcome(
    conn: &mut AsyncPgConnection,
    command_id: &str,
    outcome: &str,
    reason: Option<String>,
) -> Result<(), OrdersError> {
    diesel::update(processed_commands::table.find(command_id))
        .set((processed_commands::outcome.eq(outcome), processed_commands::reason.eq(reason)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes an order's new row, if it is still at the version `before` was read at; false
/// when another writer came first.
pub(crate) async fn update_order(
    conn: &mut AsyncPgConnection,
    before: &OrderRow,
    row: &OrderRow,
) -> Result<bool, OrdersError> {
    let updated =
        diesel::update(orders::table.filter(orders::id.eq(before.id)).filter(orders::version.eq(before.version)))
            .set(row)
            .execute(conn)
            .await?;
    Ok(updated == 1)
}

pub(crate) async fn insert_timeline_entry(
    conn: &mut AsyncPgConnection,
    order: OrderId,
    entry: &TimelineEntry,
) -> Result<(), OrdersError> {
    diesel::insert_into(order_timeline::table).values(TimelineRow::from_domain(order, entry)).execute(conn).await?;
    Ok(())
}

/// The order whose tracking token has this hash.
pub(crate) async fn by_token_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> Result<Option<OrderRow>, OrdersError> {
    Ok(orders::table
        .filter(orders::tracking_token_hash.eq(hash))
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The id and the link's expiry of the order whose tracking token has this hash.
pub(crate) async fn id_by_token_hash(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> Result<Option<(OrderId, Option<DateTime<Utc>>)>, OrdersError> {
    let found: Option<(Uuid, Option<DateTime<Utc>>)> = orders::table
        .filter(orders::tracking_token_hash.eq(hash))
        .select((orders::id, orders::tracking_expires_at))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(id, expires)| (OrderId::from_uuid(id), expires)))
}

/// A courier's last known position.
pub(crate) async fn courier_position(
    conn: &mut AsyncPgConnection,
    courier: &CourierKey,
) -> Result<Option<Position>, OrdersError> {
    let row: Option<CourierPositionRow> = courier_positions::table
        .find((courier.store.as_str(), courier.courier.as_str()))
        .select(CourierPositionRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(|row| row.to_domain()))
}

/// The newest `limit` points of an order's path, oldest first.
pub(crate) async fn path(
    conn: &mut AsyncPgConnection,
    order: OrderId,
    limit: i64,
) -> Result<Vec<TrackPoint>, OrdersError> {
    let mut rows: Vec<(f64, f64, DateTime<Utc>)> = track_points::table
        .filter(track_points::order_id.eq(order.as_uuid()))
        .order(track_points::recorded_at.desc())
        .limit(limit)
        .select((track_points::lat, track_points::lon, track_points::recorded_at))
        .load(conn)
        .await?;
    rows.reverse();
    Ok(rows
        .into_iter()
        .filter_map(|(lat, lon, recorded_at)| {
            Coordinates::parse(lat, lon).ok().map(|point| TrackPoint { point, recorded_at })
        })
        .collect())
}

/// Stores each courier's newest position, unless the stored one is newer (batches may
/// arrive late or twice). One statement for all couriers, taken in the order given.
pub(crate) async fn upsert_courier_positions(
    conn: &mut AsyncPgConnection,
    latest: &[(&CourierKey, &Position)],
) -> Result<(), OrdersError> {
    diesel::sql_query(
        "INSERT INTO courier_positions (store_id, courier_id, lat, lon, recorded_at, accuracy_m, speed_mps, heading_deg, updated_at) \
         SELECT store_id, courier_id, lat, lon, recorded_at, accuracy_m, speed_mps, heading_deg, now() \
         FROM unnest($1::text[], $2::float8[], $3::float8[], $4::timestamptz[], $5::float4[], $6::float4[], $7::float4[], $8::text[]) \
           AS p (courier_id, lat, lon, recorded_at, accuracy_m, speed_mps, heading_deg, store_id) \
         ON CONFLICT (store_id, courier_id) DO UPDATE SET lat = EXCLUDED.lat, lon = EXCLUDED.lon, \
           recorded_at = EXCLUDED.recorded_at, accuracy_m = EXCLUDED.accuracy_m, speed_mps = EXCLUDED.speed_mps, \
           heading_deg = EXCLUDED.heading_deg, updated_at = now() \
         WHERE courier_positions.recorded_at < EXCLUDED.recorded_at",
    )
    .bind::<Array<Text>, _>(latest.iter().map(|(courier, _)| courier.courier.as_str()).collect::<Vec<_>>())
    .bind::<Array<Float8>, _>(latest.iter().map(|(_, p)| p.point.lat()).collect::<Vec<_>>())
    .bind::<Array<Float8>, _>(latest.iter().map(|(_, p)| p.point.lon()).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(latest.iter().map(|(_, p)| p.recorded_at).collect::<Vec<_>>())
    .bind::<Array<Float4>, _>(latest.iter().map(|(_, p)| p.accuracy_m).collect::<Vec<_>>())
    .bind::<Array<Nullable<Float4>>, _>(latest.iter().map(|(_, p)| p.speed_mps).collect::<Vec<_>>())
    .bind::<Array<Nullable<Float4>>, _>(latest.iter().map(|(_, p)| p.heading_deg).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(latest.iter().map(|(courier, _)| courier.store.as_str()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The orders of these couriers (each of its store) that are in one of `statuses`: each
/// order's id and its courier.
pub(crate) async fn orders_of_couriers(
    conn: &mut AsyncPgConnection,
    couriers: &[&CourierKey],
    statuses: &[OrderStatus],
) -> Result<Vec<(Uuid, CourierKey)>, OrdersError> {
    // Orders whose store is one of the couriers' stores and whose courier id is one of
    // theirs; of those, the orders of exactly one of the couriers (a store's "c-1" is not
    // another store's).
    let rows: Vec<(Uuid, String, Option<String>)> = orders::table
        .filter(orders::store_id.eq_any(couriers.iter().map(|c| c.store.as_str()).collect::<Vec<_>>()))
        .filter(orders::courier_id.eq_any(couriers.iter().map(|c| c.courier.as_str()).collect::<Vec<_>>()))
        .filter(orders::status.eq_any(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()))
        .select((orders::id, orders::store_id, orders::courier_id))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, store, courier)| {
            let key = CourierKey::new(StoreId::parse(&store).ok()?, CourierId::parse(&courier?).ok()?);
            couriers.contains(&&key).then_some((id, key))
        })
        .collect())
}

/// The newest point of each order's path.
pub(crate) async fn last_path_points(
    conn: &mut AsyncPgConnection,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, (Coordinates, DateTime<Utc>)>, OrdersError> {
    let points: Vec<LastTrackPoint> = diesel::sql_query(
        "SELECT DISTINCT ON (order_id) order_id, lat, lon, recorded_at FROM track_points \
         WHERE order_id = ANY($1) ORDER BY order_id, recorded_at DESC",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(orders)
    .load(conn)
    .await?;
    Ok(points
        .into_iter()
        .filter_map(|p| Coordinates::parse(p.lat, p.lon).ok().map(|point| (p.order_id, (point, p.recorded_at))))
        .collect())
}

pub(crate) async fn insert_path_points(
    conn: &mut AsyncPgConnection,
    points: &[NewTrackPoint],
) -> Result<(), OrdersError> {
    diesel::insert_into(track_points::table).values(points).execute(conn).await?;
    Ok(())
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
