//! Recording couriers' positions: each courier's latest position, and a downsampled path
//! for each of its active orders.

use std::collections::BTreeMap;
use std::sync::Arc;

use diesel_async::AsyncConnection;
use domain::ids::CourierKey;
use domain::position::Position;
use uuid::Uuid;

use super::{FOLLOWS_COURIER, Orders};
use crate::error::OrdersError;
use crate::store::{self, rows::NewTrackPoint};

impl Orders {
    /// Records a batch of a courier's positions: the latest becomes the courier's
    /// position; each active order of the courier (the orders of its store it carries)
    /// keeps a downsampled path. Replaying a batch changes nothing.
    pub async fn record_positions(&self, courier: &CourierKey, positions: &[Position]) -> Result<(), OrdersError> {
        self.record_many_positions(&[(courier.clone(), positions.to_vec())]).await
    }

    /// [`Orders::record_positions`] for the batches of many couriers at once, in one
    /// transaction of four statements whatever their number: the couriers' latest
    /// positions, their active orders, those orders' last path points, the new ones.
    /// Batches are taken in the order given (a courier's later batch after its earlier).
    pub async fn record_many_positions(&self, batches: &[(CourierKey, Vec<Position>)]) -> Result<(), OrdersError> {
        // Each courier's newest position of all its batches, by (store, courier id): every
        // batch locks the couriers' rows in the same order, so two instances writing
        // overlapping couriers (during a rebalance) wait for each other instead of
        // deadlocking.
        let mut latest: BTreeMap<&CourierKey, &Position> = BTreeMap::new();
        for (courier, positions) in batches {
            for position in positions {
                let newer = latest.get(courier).is_none_or(|held| held.recorded_at < position.recorded_at);
                if newer {
                    latest.insert(courier, position);
                }
            }
        }
        if latest.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        let config = Arc::clone(&self.config);
        conn.transaction::<(), OrdersError, _>(async move |conn| {
            let latest: Vec<(&CourierKey, &Position)> = latest.into_iter().collect();
            store::upsert_courier_positions(conn, &latest).await?;
            let couriers: Vec<&CourierKey> = latest.iter().map(|(courier, _)| *courier).collect();
            let active: Vec<(Uuid, CourierKey)> = store::orders_of_couriers(conn, &couriers, &FOLLOWS_COURIER).await?;
            if active.is_empty() {
                return Ok(());
            }
            let order_ids: Vec<Uuid> = active.iter().map(|(id, _)| *id).collect();
            let mut kept = store::last_path_points(conn, &order_ids).await?;
            let mut new_points = Vec::new();
            for (courier, positions) in batches {
                let mut sorted: Vec<&Position> = positions.iter().collect();
                sorted.sort_by_key(|p| p.recorded_at);
                for (order_id, _) in active.iter().filter(|(_, c)| c == courier) {
                    for position in &sorted {
                        // A point joins the path when it is newer than the last one kept
                        // and far enough from it or late enough after it.
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
                                courier_id: courier.courier.to_string(),
                                lat: position.point.lat(),
                                lon: position.point.lon(),
                                recorded_at: position.recorded_at,
                            });
                        }
                    }
                }
            }
            if !new_points.is_empty() {
                store::insert_path_points(conn, &new_points).await?;
            }
            Ok(())
        })
        .await
    }
}
