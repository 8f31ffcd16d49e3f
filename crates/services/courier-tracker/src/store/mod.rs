//! The tracker's own tables (`migrations/tracker`), never read by another service: the
//! orders each courier is delivering, kept from `order_created` / `order_updated`.

pub mod schema;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use domain::events as pb;
use domain::geo::Coordinates;
use domain::ids::{CourierId, CourierKey, OrderId, StoreId};
use domain::status::OrderStatus;
use platform::postgres::PgPool;
use uuid::Uuid;

use self::schema::active_orders;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../../migrations/tracker");

/// The statuses in which the tracker follows an order's courier.
const FOLLOWED: [OrderStatus; 4] =
    [OrderStatus::CourierAssigned, OrderStatus::PickedUp, OrderStatus::InTransit, OrderStatus::Arriving];

/// An order a courier is delivering, as the tracker knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveOrder {
    pub order_id: OrderId,
    pub status: OrderStatus,
    pub pickup: Coordinates,
    pub destination: Coordinates,
    pub picked_up_sent: bool,
    pub in_transit_sent: bool,
    pub arriving_sent: bool,
}

/// A status command the tracker sends at most once per order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    PickedUp,
    InTransit,
    Arriving,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = active_orders, check_for_backend(diesel::pg::Pg))]
struct Row {
    order_id: Uuid,
    status: String,
    pickup_lat: f64,
    pickup_lon: f64,
    destination_lat: f64,
    destination_lon: f64,
    picked_up_sent: bool,
    in_transit_sent: bool,
    arriving_sent: bool,
}

impl Row {
    fn to_active(&self) -> Option<ActiveOrder> {
        Some(ActiveOrder {
            order_id: OrderId::from_uuid(self.order_id),
            status: OrderStatus::parse(&self.status)?,
            pickup: Coordinates::parse(self.pickup_lat, self.pickup_lon).ok()?,
            destination: Coordinates::parse(self.destination_lat, self.destination_lon).ok()?,
            picked_up_sent: self.picked_up_sent,
            in_transit_sent: self.in_transit_sent,
            arriving_sent: self.arriving_sent,
        })
    }
}

/// Couriers' active orders: in Postgres, with a short-lived cache per courier (the hot
/// path reads it for every batch of positions).
pub struct Assignments {
    pool: PgPool,
    cache: Mutex<HashMap<CourierKey, (Instant, Vec<ActiveOrder>)>>,
    ttl: Duration,
}

impl Assignments {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, cache: Mutex::new(HashMap::new()), ttl: Duration::from_secs(2) }
    }

    fn forget(&self, courier: &CourierKey) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(courier);
        }
    }

    /// Records an order as an event shows it; an event older than what is stored is
    /// ignored. Returns whether anything changed.
    pub async fn record(&self, order: &pb::Order) -> anyhow::Result<bool> {
        Ok(self.record_all(&[Assignment::from_event(order)?]).await? > 0)
    }

    /// Records orders as their events show them, in the order given, in one transaction
    /// (one commit for a whole batch of events). Returns how many changed anything.
    pub async fn record_all(&self, orders: &[Assignment]) -> anyhow::Result<usize> {
        if orders.is_empty() {
            return Ok(0);
        }
        let mut conn = self.pool.get().await?;
        let (changed, couriers) = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                let (mut changed, mut couriers) = (0, Vec::new());
                for order in orders {
                    if let Some(touched) = record_one(conn, order).await? {
                        changed += 1;
                        couriers.extend(touched);
                    }
                }
                Ok((changed, couriers))
            })
            .await?;
        for courier in couriers {
            self.forget(&courier);
        }
        Ok(changed)
    }

    /// The orders `courier` (of its store) is delivering now.
    pub async fn of_courier(&self, courier: &CourierKey) -> anyhow::Result<Vec<ActiveOrder>> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, orders)) = cache.get(courier) {
                if at.elapsed() < self.ttl {
                    return Ok(orders.clone());
                }
            }
        }
        let mut conn = self.pool.get().await?;
        let rows: Vec<Row> = active_orders::table
            .filter(active_orders::store_id.eq(courier.store.as_str()))
            .filter(active_orders::courier_id.eq(courier.courier.as_str()))
            .filter(active_orders::status.eq_any(FOLLOWED.map(|s| s.as_str())))
            .select(Row::as_select())
            .load(&mut conn)
            .await?;
        let orders: Vec<ActiveOrder> = rows.iter().filter_map(Row::to_active).collect();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(courier.clone(), (Instant::now(), orders.clone()));
        }
        Ok(orders)
    }

    /// Notes that `milestone` was sent for an order, so it is never sent again.
    pub async fn mark_sent(&self, courier: &CourierKey, order: OrderId, milestone: Milestone) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await?;
        let target = active_orders::table.find(order.as_uuid());
        match milestone {
            Milestone::PickedUp => {
                diesel::update(target).set(active_orders::picked_up_sent.eq(true)).execute(&mut conn).await?
            }
            Milestone::InTransit => {
                diesel::update(target).set(active_orders::in_transit_sent.eq(true)).execute(&mut conn).await?
            }
            Milestone::Arriving => {
                diesel::update(target).set(active_orders::arriving_sent.eq(true)).execute(&mut conn).await?
            }
        };
        self.forget(courier);
        Ok(())
    }
}

/// An order as an event shows it, checked: what the tracker stores of it.
pub struct Assignment {
    id: Uuid,
    store: StoreId,
    courier: Option<CourierId>,
    status: OrderStatus,
    pickup: pb::GeoPoint,
    destination: pb::GeoPoint,
    version: i64,
}

impl Assignment {
    /// Fails for an event no retry can make usable (no id, status or points).
    pub fn from_event(order: &pb::Order) -> anyhow::Result<Self> {
        let id: Uuid = order.id.parse()?;
        let status = pb::OrderStatus::try_from(order.status)
            .ok()
            .and_then(pb::OrderStatus::to_domain)
            .ok_or_else(|| anyhow::anyhow!("order {id} has no known status"))?;
        let point = |place: Option<&pb::Place>| {
            place.and_then(|p| p.point).ok_or_else(|| anyhow::anyhow!("order {id} lacks a point"))
        };
        let (pickup, destination) = (point(order.pickup.as_ref())?, point(order.destination.as_ref())?);
        let store = StoreId::parse(&order.store_id).map_err(|e| anyhow::anyhow!("order {id}: {e}"))?;
        let courier = (!order.courier_id.is_empty())
            .then(|| CourierId::parse(&order.courier_id))
            .transpose()
            .map_err(|e| anyhow::anyhow!("order {id}: {e}"))?;
        Ok(Self { id, store, courier, status, pickup, destination, version: order.version })
    }

    fn courier_key(&self) -> Option<CourierKey> {
        self.courier.clone().map(|courier| CourierKey::new(self.store.clone(), courier))
    }
}

/// Stores one order unless what is stored is as new; the couriers whose cached orders it
/// changed (the new one and the one before), or `None` when the event was stale.
async fn record_one(
    conn: &mut diesel_async::AsyncPgConnection,
    order: &Assignment,
) -> Result<Option<Vec<CourierKey>>, diesel::result::Error> {
    // An order's events arrive in order on one partition and are handled one at a
    // time, so reading the stored version first is enough to skip a late, older one.
    let previous: Option<(String, Option<String>, i64)> = active_orders::table
        .find(order.id)
        .select((active_orders::store_id, active_orders::courier_id, active_orders::version))
        .first(conn)
        .await
        .optional()?;
    if previous.as_ref().is_some_and(|(_, _, version)| *version >= order.version) {
        return Ok(None);
    }
    diesel::insert_into(active_orders::table)
        .values((
            active_orders::order_id.eq(order.id),
            active_orders::store_id.eq(order.store.as_str()),
            active_orders::courier_id.eq(order.courier.as_ref().map(CourierId::as_str)),
            active_orders::status.eq(order.status.as_str()),
            active_orders::pickup_lat.eq(order.pickup.lat),
            active_orders::pickup_lon.eq(order.pickup.lon),
            active_orders::destination_lat.eq(order.destination.lat),
            active_orders::destination_lon.eq(order.destination.lon),
            active_orders::version.eq(order.version),
            active_orders::updated_at.eq(Utc::now()),
        ))
        .on_conflict(active_orders::order_id)
        .do_update()
        .set((
            active_orders::store_id.eq(excluded(active_orders::store_id)),
            active_orders::courier_id.eq(excluded(active_orders::courier_id)),
            active_orders::status.eq(excluded(active_orders::status)),
            active_orders::pickup_lat.eq(excluded(active_orders::pickup_lat)),
            active_orders::pickup_lon.eq(excluded(active_orders::pickup_lon)),
            active_orders::destination_lat.eq(excluded(active_orders::destination_lat)),
            active_orders::destination_lon.eq(excluded(active_orders::destination_lon)),
            active_orders::version.eq(excluded(active_orders::version)),
            active_orders::updated_at.eq(excluded(active_orders::updated_at)),
        ))
        .execute(conn)
        .await?;
    let before = previous.and_then(|(store, courier, _)| {
        Some(CourierKey::new(StoreId::parse(&store).ok()?, CourierId::parse(&courier?).ok()?))
    });
    Ok(Some([order.courier_key(), before].into_iter().flatten().collect()))
}
