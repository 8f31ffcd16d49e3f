//! Conversions between the domain types and the event types of `proto/events.proto`.

use chrono::{DateTime, TimeZone, Utc};

use crate::eta::{Eta, EtaSource};
use crate::events as pb;
use crate::ids::{CourierId, CourierKey, StoreId};
use crate::order::{Change, Order, TimelineEntry};
use crate::parcel::DeliveryMethod;
use crate::status::{Actor, OrderStatus};
use crate::validation::FieldError;

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: at.timestamp(), nanos: at.timestamp_subsec_nanos() as i32 }
}

/// A protobuf timestamp as a time, `None` when absent or out of range.
pub fn from_timestamp(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    Utc.timestamp_opt(ts.seconds, u32::try_from(ts.nanos).ok()?).single()
}

impl pb::CourierLocations {
    /// The courier of the batch: its store and its id. A batch of the time before couriers
    /// belonged to stores has no store and is refused (it cannot be told whose it is).
    pub fn courier(&self) -> Result<CourierKey, FieldError> {
        Ok(CourierKey::new(StoreId::parse(&self.store_id)?, CourierId::parse(&self.courier_id)?))
    }
}

impl From<OrderStatus> for pb::OrderStatus {
    fn from(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Created => Self::Created,
            OrderStatus::CourierAssigned => Self::CourierAssigned,
            OrderStatus::HandedToCarrier => Self::HandedToCarrier,
            OrderStatus::RegistrationFailed => Self::RegistrationFailed,
            OrderStatus::PickedUp => Self::PickedUp,
            OrderStatus::InTransit => Self::InTransit,
            OrderStatus::Arriving => Self::Arriving,
            OrderStatus::Delivered => Self::Delivered,
            OrderStatus::DeliveryFailed => Self::DeliveryFailed,
            OrderStatus::Returned => Self::Returned,
            OrderStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl pb::OrderStatus {
    /// The domain status, `None` for UNSPECIFIED.
    pub fn to_domain(self) -> Option<OrderStatus> {
        Some(match self {
            Self::Unspecified => return None,
            Self::Created => OrderStatus::Created,
            Self::CourierAssigned => OrderStatus::CourierAssigned,
            Self::HandedToCarrier => OrderStatus::HandedToCarrier,
            Self::RegistrationFailed => OrderStatus::RegistrationFailed,
            Self::PickedUp => OrderStatus::PickedUp,
            Self::InTransit => OrderStatus::InTransit,
            Self::Arriving => OrderStatus::Arriving,
            Self::Delivered => OrderStatus::Delivered,
            Self::DeliveryFailed => OrderStatus::DeliveryFailed,
            Self::Returned => OrderStatus::Returned,
            Self::Cancelled => OrderStatus::Cancelled,
        })
    }
}

impl From<Actor> for pb::Actor {
    fn from(actor: Actor) -> Self {
        match actor {
            Actor::Storefront => Self::Storefront,
            Actor::Courier => Self::Courier,
            Actor::Carrier => Self::Carrier,
            Actor::System => Self::System,
        }
    }
}

impl pb::Actor {
    pub fn to_domain(self) -> Option<Actor> {
        Some(match self {
            Self::Unspecified => return None,
            Self::Storefront => Actor::Storefront,
            Self::Courier => Actor::Courier,
            Self::Carrier => Actor::Carrier,
            Self::System => Actor::System,
        })
    }
}

impl From<EtaSource> for pb::EtaSource {
    fn from(source: EtaSource) -> Self {
        match source {
            EtaSource::Tracker => Self::Tracker,
            EtaSource::Cdek => Self::Cdek,
            EtaSource::Storefront => Self::Storefront,
            EtaSource::Estimate => Self::Estimate,
        }
    }
}

impl From<&Eta> for pb::Eta {
    fn from(eta: &Eta) -> Self {
        Self {
            expected_at: Some(timestamp(eta.expected_at())),
            earliest: Some(timestamp(eta.earliest())),
            latest: Some(timestamp(eta.latest())),
            source: pb::EtaSource::from(eta.source()) as i32,
            computed_at: Some(timestamp(eta.computed_at())),
        }
    }
}

impl pb::Eta {
    /// The domain ETA, or why this one is not valid.
    pub fn to_domain(&self) -> Result<Eta, crate::validation::FieldError> {
        let missing = |field: &str| crate::validation::FieldError::new(field, "required", "missing");
        let source = match pb::EtaSource::try_from(self.source) {
            Ok(pb::EtaSource::Tracker) => EtaSource::Tracker,
            Ok(pb::EtaSource::Cdek) => EtaSource::Cdek,
            Ok(pb::EtaSource::Storefront) => EtaSource::Storefront,
            Ok(pb::EtaSource::Estimate) => EtaSource::Estimate,
            _ => return Err(missing("eta.source")),
        };
        Eta::new(
            from_timestamp(self.expected_at.as_ref()).ok_or_else(|| missing("eta.expected_at"))?,
            from_timestamp(self.earliest.as_ref()).ok_or_else(|| missing("eta.earliest"))?,
            from_timestamp(self.latest.as_ref()).ok_or_else(|| missing("eta.latest"))?,
            source,
            from_timestamp(self.computed_at.as_ref()).ok_or_else(|| missing("eta.computed_at"))?,
        )
    }
}

impl From<&TimelineEntry> for pb::TimelineEntry {
    fn from(entry: &TimelineEntry) -> Self {
        Self {
            status: pb::OrderStatus::from(entry.status) as i32,
            actor: pb::Actor::from(entry.actor) as i32,
            at: Some(timestamp(entry.at)),
            carrier_status: entry.carrier_status.clone().unwrap_or_default(),
            note: entry.note.clone().unwrap_or_default(),
        }
    }
}

impl From<&Order> for pb::Order {
    fn from(order: &Order) -> Self {
        let place = |place: &crate::geo::Place| pb::Place {
            address: place.address().to_owned(),
            point: Some(pb::GeoPoint { lat: place.point().lat(), lon: place.point().lon() }),
        };
        let delivery = match order.delivery {
            DeliveryMethod::OwnCourier => {
                pb::Delivery { method: pb::DeliveryMethod::OwnCourier as i32, cdek_tariff_code: 0 }
            }
            DeliveryMethod::Cdek { tariff_code } => {
                pb::Delivery { method: pb::DeliveryMethod::Cdek as i32, cdek_tariff_code: tariff_code }
            }
        };
        Self {
            id: order.id.to_string(),
            store_order_number: order.store_order_number.to_string(),
            customer: Some(pb::Customer {
                name: order.customer.name().to_owned(),
                phone: order.customer.phone().to_owned(),
                email: order.customer.email().to_owned(),
            }),
            pickup: Some(place(&order.pickup)),
            destination: Some(place(&order.destination)),
            parcels: order
                .parcels
                .iter()
                .map(|p| pb::Parcel {
                    weight_grams: p.weight_grams(),
                    length_cm: p.length_cm(),
                    width_cm: p.width_cm(),
                    height_cm: p.height_cm(),
                })
                .collect(),
            delivery: Some(delivery),
            status: pb::OrderStatus::from(order.status) as i32,
            courier_id: order.courier_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            eta: order.eta.as_ref().map(pb::Eta::from),
            created_at: Some(timestamp(order.created_at)),
            updated_at: Some(timestamp(order.updated_at)),
            version: order.version,
            carrier_reference: order.carrier_reference.clone().unwrap_or_default(),
            store_id: order.store_id.to_string(),
        }
    }
}

/// The `order_created` payload of a new order.
pub fn order_created(order: &Order) -> pb::envelope::Payload {
    pb::envelope::Payload::OrderCreated(pb::OrderCreated { order: Some(order.into()) })
}

/// The `order_updated` payload of a change.
pub fn order_updated(change: &Change) -> pb::envelope::Payload {
    pb::envelope::Payload::OrderUpdated(pb::OrderUpdated {
        order: Some((&change.order).into()),
        changed: change.changed.iter().map(|f| f.as_str().to_owned()).collect(),
        transition: change.transition.as_ref().map(pb::TimelineEntry::from),
        previous_courier_id: change.previous_courier.as_ref().map(ToString::to_string).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_both_ways() {
        for status in OrderStatus::ALL {
            assert_eq!(pb::OrderStatus::from(status).to_domain(), Some(status));
        }
        assert_eq!(pb::OrderStatus::Unspecified.to_domain(), None);
    }

    #[test]
    fn timestamps_round_trip() {
        let now = Utc::now();
        assert_eq!(from_timestamp(Some(&timestamp(now))), Some(now));
        assert_eq!(from_timestamp(None), None);
        assert_eq!(from_timestamp(Some(&prost_types::Timestamp { seconds: 0, nanos: -1 })), None);
    }
}
