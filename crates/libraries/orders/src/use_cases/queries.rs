//! The queries: an order (read through the cache of rendered views), a page of orders,
//! an order's track, what a tracking link opens, a courier's position and orders, the
//! static delivery estimate.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use domain::ids::{CourierKey, OrderId};
use domain::order::Order;
use domain::position::Position;

use super::{FOLLOWS_COURIER, ListFilter, OrderDetails, Orders, Page, Scope, Track, Tracked};
use crate::error::OrdersError;
use crate::store::rows::OrderRow;
use crate::{store, tracking_token};

/// The most path points returned with a track.
const PATH_LIMIT: i64 = 2000;

impl Orders {
    /// An order with its timeline.
    pub async fn get(&self, scope: &Scope, id: OrderId) -> Result<OrderDetails, OrdersError> {
        let mut conn = self.pool.get().await?;
        let row = store::load(&mut conn, id, false).await?;
        scope.check(id, &row.store_id)?;
        let order = row.to_domain()?;
        let timeline = store::load_timeline(&mut conn, id).await?;
        Ok(OrderDetails { order, timeline })
    }

    /// An order rendered by `render` (a front door's view of it), read through the cache
    /// of rendered views: a hit costs no database query; a miss reads the order and
    /// caches the rendering at the order's version (every change invalidates it).
    pub async fn get_rendered<E>(
        &self,
        scope: &Scope,
        id: OrderId,
        render: impl FnOnce(&OrderDetails) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, OrdersError>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        if let Some(cached) = self.cache.get(id).await {
            scope.check(id, &cached.store_id)?;
            return Ok(cached.body);
        }
        let details = self.get(scope, id).await?;
        let body = render(&details).map_err(|error| OrdersError::Internal(error.into()))?;
        self.cache.fill(id, details.order.version, details.order.store_id.as_str(), &body).await;
        Ok(body)
    }

    pub async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Page, OrdersError> {
        let mut conn = self.pool.get().await?;
        let limit = filter.limit.clamp(1, 100);
        let rows = store::list(&mut conn, scope.store(), filter, limit).await?;
        let more = rows.len() as i64 > limit;
        let orders = rows.iter().take(limit as usize).map(OrderRow::to_domain).collect::<Result<Vec<_>, _>>()?;
        let next = if more { orders.last().map(|order| order.id) } else { None };
        Ok(Page { orders, next })
    }

    /// The order, its courier's last position and the path so far.
    pub async fn track(&self, scope: &Scope, id: OrderId) -> Result<Track, OrdersError> {
        let details = self.get(scope, id).await?;
        let mut conn = self.pool.get().await?;
        track_of(&mut conn, details).await
    }

    /// What the tracking token opens: the order's track, unless the link expired.
    pub async fn by_tracking_token(&self, token: &str) -> Result<Tracked, OrdersError> {
        if !tracking_token::looks_valid(token) {
            return Ok(Tracked::NotFound);
        }
        let mut conn = self.pool.get().await?;
        let Some(row) = store::by_token_hash(&mut conn, &tracking_token::hash(token)).await? else {
            return Ok(Tracked::NotFound);
        };
        if row.tracking_expires_at.is_some_and(|expires| expires <= Utc::now()) {
            return Ok(Tracked::Expired);
        }
        let order = row.to_domain()?;
        let timeline = store::load_timeline(&mut conn, order.id).await?;
        Ok(Tracked::Found(Box::new(track_of(&mut conn, OrderDetails { order, timeline }).await?)))
    }

    /// The order id a tracking token opens (for cached public views); `None` when the
    /// token opens nothing or has expired.
    pub async fn tracked_order_id(&self, token: &str) -> Result<Option<OrderId>, OrdersError> {
        if !tracking_token::looks_valid(token) {
            return Ok(None);
        }
        let mut conn = self.pool.get().await?;
        let found = store::id_by_token_hash(&mut conn, &tracking_token::hash(token)).await?;
        Ok(found.filter(|(_, expires)| expires.is_none_or(|e| e > Utc::now())).map(|(id, _)| id))
    }

    /// The courier's last known position.
    pub async fn courier_location(&self, courier: &CourierKey) -> Result<Option<Position>, OrdersError> {
        let mut conn = self.pool.get().await?;
        store::courier_position(&mut conn, courier).await
    }

    /// The courier's orders, newest first: the active ones, or all of them. A store sees
    /// only its own couriers (another store's courier has no orders for it).
    pub async fn courier_orders(
        &self,
        scope: &Scope,
        courier: &CourierKey,
        active_only: bool,
    ) -> Result<Vec<Order>, OrdersError> {
        if scope.store().is_some_and(|store| *store != courier.store) {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.get().await?;
        let statuses = active_only.then_some(&FOLLOWS_COURIER[..]);
        let rows = store::courier_orders(&mut conn, courier, statuses).await?;
        Ok(rows.iter().map(OrderRow::to_domain).collect::<Result<Vec<_>, _>>()?)
    }

    /// A static estimate of the delivery time from the distance, for orders with no ETA.
    pub fn estimate(&self, order: &Order, now: DateTime<Utc>) -> Option<domain::eta::Eta> {
        if order.delivery.is_cdek() || order.status.is_final() {
            return None;
        }
        Some(domain::eta::estimate(&order.pickup.point(), &order.destination.point(), now, &self.config.travel))
    }
}

/// The order's track: its courier's position while the order is open, and its path.
async fn track_of(conn: &mut AsyncPgConnection, details: OrderDetails) -> Result<Track, OrdersError> {
    let courier_position = match &details.order.courier_id {
        Some(courier) if !details.order.status.is_final() => {
            // The order's courier is the courier of the order's store.
            let courier = CourierKey::new(details.order.store_id.clone(), courier.clone());
            store::courier_position(conn, &courier).await?
        }
        _ => None,
    };
    let path = store::path(conn, details.order.id, PATH_LIMIT).await?;
    Ok(Track { details, courier_position, path })
}
