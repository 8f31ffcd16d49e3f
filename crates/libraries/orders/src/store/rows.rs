//! Database rows and their conversions to and from the domain types. Rows are read
//! back through the domain's parsers, so a row that no longer makes a valid order is
//! reported, not passed on.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::customer::Customer;
use domain::eta::{Eta, EtaSource};
use domain::geo::Place;
use domain::ids::{CourierId, OrderId, StoreId, StoreOrderNumber};
use domain::order::{Order, TimelineEntry};
use domain::parcel::{DeliveryMethod, Parcel};
use domain::status::{Actor, OrderStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::schema::{courier_positions, order_timeline, orders, track_points};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct OrderRow {
    pub id: Uuid,
    pub store_id: String,
    pub store_order_number: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_email: String,
    pub pickup_address: String,
    pub pickup_lat: f64,
    pub pickup_lon: f64,
    pub destination_address: String,
    pub destination_lat: f64,
    pub destination_lon: f64,
    pub parcels: serde_json::Value,
    pub delivery_method: String,
    pub cdek_tariff_code: Option<i32>,
    pub status: String,
    pub courier_id: Option<String>,
    pub carrier_reference: Option<String>,
    pub eta_expected_at: Option<DateTime<Utc>>,
    pub eta_earliest: Option<DateTime<Utc>>,
    pub eta_latest: Option<DateTime<Utc>>,
    pub eta_source: Option<String>,
    pub eta_computed_at: Option<DateTime<Utc>>,
    pub tracking_token_hash: Vec<u8>,
    pub tracking_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// How parcels are kept in the `parcels` JSONB column.
#[derive(Debug, Serialize, Deserialize)]
struct ParcelJson {
    weight_grams: i64,
    length_cm: i64,
    width_cm: i64,
    height_cm: i64,
}

/// A row that does not make a valid domain value.
#[derive(Debug, thiserror::Error)]
#[error("order row {id} is not a valid order: {reason}")]
pub struct CorruptRow {
    pub id: Uuid,
    pub reason: String,
}

impl OrderRow {
    pub fn from_domain(
        order: &Order,
        tracking_token_hash: Vec<u8>,
        tracking_expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        let parcels: Vec<ParcelJson> = order
            .parcels
            .iter()
            .map(|p| ParcelJson {
                weight_grams: p.weight_grams().into(),
                length_cm: p.length_cm().into(),
                width_cm: p.width_cm().into(),
                height_cm: p.height_cm().into(),
            })
            .collect();
        let (delivery_method, cdek_tariff_code) = match order.delivery {
            DeliveryMethod::OwnCourier => ("own_courier", None),
            DeliveryMethod::Cdek { tariff_code } => ("cdek", i32::try_from(tariff_code).ok()),
        };
        Self {
            id: order.id.as_uuid(),
            store_id: order.store_id.to_string(),
            store_order_number: order.store_order_number.to_string(),
            customer_name: order.customer.name().to_owned(),
            customer_phone: order.customer.phone().to_owned(),
            customer_email: order.customer.email().to_owned(),
            pickup_address: order.pickup.address().to_owned(),
            pickup_lat: order.pickup.point().lat(),
            pickup_lon: order.pickup.point().lon(),
            destination_address: order.destination.address().to_owned(),
            destination_lat: order.destination.point().lat(),
            destination_lon: order.destination.point().lon(),
            parcels: serde_json::to_value(parcels).unwrap_or(serde_json::Value::Null),
            delivery_method: delivery_method.to_owned(),
            cdek_tariff_code,
            status: order.status.as_str().to_owned(),
            courier_id: order.courier_id.as_ref().map(ToString::to_string),
            carrier_reference: order.carrier_reference.clone(),
            eta_expected_at: order.eta.map(|e| e.expected_at()),
            eta_earliest: order.eta.map(|e| e.earliest()),
            eta_latest: order.eta.map(|e| e.latest()),
            eta_source: order.eta.map(|e| e.source().as_str().to_owned()),
            eta_computed_at: order.eta.map(|e| e.computed_at()),
            tracking_token_hash,
            tracking_expires_at,
            created_at: order.created_at,
            updated_at: order.updated_at,
            version: order.version,
        }
    }

    pub fn to_domain(&self) -> Result<Order, CorruptRow> {
        let corrupt = |reason: String| CorruptRow { id: self.id, reason };
        let field = |e: domain::validation::FieldError| corrupt(e.to_string());
        let parcels: Vec<ParcelJson> =
            serde_json::from_value(self.parcels.clone()).map_err(|e| corrupt(format!("parcels: {e}")))?;
        let parcels = parcels
            .iter()
            .map(|p| Parcel::parse(p.weight_grams, p.length_cm, p.width_cm, p.height_cm))
            .collect::<Result<Vec<_>, _>>()
            .map_err(field)?;
        let delivery =
            DeliveryMethod::parse(&self.delivery_method, self.cdek_tariff_code.map(i64::from)).map_err(field)?;
        let status = OrderStatus::parse(&self.status).ok_or_else(|| corrupt(format!("status {}", self.status)))?;
        let eta =
            match (self.eta_expected_at, self.eta_earliest, self.eta_latest, &self.eta_source, self.eta_computed_at) {
                (Some(expected), Some(earliest), Some(latest), Some(source), Some(computed)) => {
                    let source = EtaSource::parse(source).ok_or_else(|| corrupt(format!("eta source {source}")))?;
                    Some(Eta::new(expected, earliest, latest, source, computed).map_err(field)?)
                }
                _ => None,
            };
        Ok(Order {
            id: OrderId::from_uuid(self.id),
            store_id: StoreId::parse(&self.store_id).map_err(field)?,
            store_order_number: StoreOrderNumber::parse(&self.store_order_number).map_err(field)?,
            customer: Customer::parse(&self.customer_name, &self.customer_phone, &self.customer_email)
                .map_err(field)?,
            pickup: Place::parse(&self.pickup_address, self.pickup_lat, self.pickup_lon).map_err(field)?,
            destination: Place::parse(&self.destination_address, self.destination_lat, self.destination_lon)
                .map_err(field)?,
            parcels,
            delivery,
            status,
            courier_id: self.courier_id.as_deref().map(CourierId::parse).transpose().map_err(field)?,
            carrier_reference: self.carrier_reference.clone(),
            eta,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_timeline, check_for_backend(diesel::pg::Pg))]
pub struct TimelineRow {
    pub order_id: Uuid,
    pub version: i64,
    pub status: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub carrier_status: Option<String>,
    pub note: Option<String>,
}

impl TimelineRow {
    pub fn from_domain(order_id: OrderId, entry: &TimelineEntry) -> Self {
        Self {
            order_id: order_id.as_uuid(),
            version: entry.version,
            status: entry.status.as_str().to_owned(),
            actor: entry.actor.as_str().to_owned(),
            at: entry.at,
            carrier_status: entry.carrier_status.clone(),
            note: entry.note.clone(),
        }
    }

    pub fn to_domain(&self) -> Result<TimelineEntry, CorruptRow> {
        let corrupt = |reason: String| CorruptRow { id: self.order_id, reason };
        Ok(TimelineEntry {
            status: OrderStatus::parse(&self.status)
                .ok_or_else(|| corrupt(format!("timeline status {}", self.status)))?,
            actor: Actor::parse(&self.actor).ok_or_else(|| corrupt(format!("timeline actor {}", self.actor)))?,
            at: self.at,
            carrier_status: self.carrier_status.clone(),
            note: self.note.clone(),
            version: self.version,
        })
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = track_points, check_for_backend(diesel::pg::Pg))]
pub struct NewTrackPoint {
    pub order_id: Uuid,
    pub courier_id: String,
    pub lat: f64,
    pub lon: f64,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = courier_positions, check_for_backend(diesel::pg::Pg))]
pub struct CourierPositionRow {
    pub lat: f64,
    pub lon: f64,
    pub recorded_at: DateTime<Utc>,
    pub accuracy_m: f32,
    pub speed_mps: Option<f32>,
    pub heading_deg: Option<f32>,
}

impl CourierPositionRow {
    /// The position, unless the stored coordinates are out of range.
    pub fn to_domain(&self) -> Option<domain::position::Position> {
        let point = domain::geo::Coordinates::parse(self.lat, self.lon).ok()?;
        Some(domain::position::Position {
            point,
            recorded_at: self.recorded_at,
            accuracy_m: self.accuracy_m,
            speed_mps: self.speed_mps,
            heading_deg: self.heading_deg,
        })
    }
}
