//! gRPC requests to domain values and domain values to gRPC messages. Field errors name
//! the request field (`destination.point.lat`).

use domain::customer::Customer;
use domain::events as pb;
use domain::geo::Place;
use domain::ids::{CourierId, CourierKey, OrderId, StoreId, StoreOrderNumber};
use domain::order::NewOrder;
use domain::parcel::{DeliveryMethod, Parcel};
use domain::status::{Actor, OrderStatus};
use domain::validation::FieldError;
use orders::OrderDetails;
use tonic::{Code, Status};

use super::error;
use crate::proto;

pub fn order_id(raw: &str) -> Result<OrderId, Status> {
    raw.parse().map_err(|_| {
        error::status(Code::InvalidArgument, "invalid_order_id", format!("{raw:?} is not an order id (a UUID)"))
    })
}

pub fn courier_id(raw: &str) -> Result<CourierId, Status> {
    CourierId::parse(raw).map_err(|e| error::invalid(&e))
}

/// The courier named by a request's `store_id` and `courier_id` (both required).
pub fn courier_key(store: &str, courier: &str) -> Result<CourierKey, Status> {
    let store = StoreId::parse(store).map_err(|e| error::invalid(&e))?;
    Ok(CourierKey::new(store, courier_id(courier)?))
}

/// An optional time of a request: absent is `None`; a timestamp protobuf does not allow
/// (nanos outside 0..=999,999,999, seconds outside years 1 to 9999) is refused, naming
/// `field`, instead of being read as absent.
pub fn time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Status> {
    let Some(value) = value else { return Ok(None) };
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range google.protobuf.Timestamp allows.
    let seconds_in_range = (-62_135_596_800..=253_402_300_799).contains(&value.seconds);
    let nanos_in_range = (0..=999_999_999).contains(&value.nanos);
    match domain::convert::from_timestamp(Some(value)) {
        Some(at) if seconds_in_range && nanos_in_range => Ok(Some(at)),
        _ => Err(error::invalid(&FieldError::new(
            field,
            "out_of_range",
            "not a valid timestamp: nanos must be 0 to 999999999 and the time within years 1 to 9999",
        ))),
    }
}

pub fn status(raw: i32) -> Result<OrderStatus, Status> {
    pb::OrderStatus::try_from(raw)
        .ok()
        .and_then(pb::OrderStatus::to_domain)
        .ok_or_else(|| error::invalid(&FieldError::new("status", "invalid_value", "not a known status")))
}

/// The actor of a request; unspecified means the system.
pub fn actor(raw: i32) -> Actor {
    pb::Actor::try_from(raw).ok().and_then(pb::Actor::to_domain).unwrap_or(Actor::System)
}

fn place(field: &str, place: Option<&pb::Place>) -> Result<Place, FieldError> {
    let place = place.ok_or_else(|| FieldError::new(field, "required", "missing"))?;
    let point = place.point.as_ref().ok_or_else(|| FieldError::new(format!("{field}.point"), "required", "missing"))?;
    Place::parse(&place.address, point.lat, point.lon)
        .map_err(|e| if e.field == "address" { e.within(field) } else { e.within(&format!("{field}.point")) })
}

pub fn new_order(request: &proto::CreateOrderRequest) -> Result<NewOrder, FieldError> {
    let customer = request.customer.as_ref().ok_or_else(|| FieldError::new("customer", "required", "missing"))?;
    let delivery = request.delivery.as_ref().ok_or_else(|| FieldError::new("delivery", "required", "missing"))?;
    let method = match pb::DeliveryMethod::try_from(delivery.method) {
        Ok(pb::DeliveryMethod::OwnCourier) => "own_courier",
        Ok(pb::DeliveryMethod::Cdek) => "cdek",
        _ => "",
    };
    let tariff = (delivery.cdek_tariff_code != 0).then_some(i64::from(delivery.cdek_tariff_code));
    let parcels = request
        .parcels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Parcel::parse(p.weight_grams.into(), p.length_cm.into(), p.width_cm.into(), p.height_cm.into())
                .map_err(|e| e.within(&format!("parcels[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    NewOrder {
        store_id: StoreId::parse(&request.store_id)?,
        store_order_number: StoreOrderNumber::parse(request.store_order_number.trim())?,
        customer: Customer::parse(&customer.name, &customer.phone, &customer.email)
            .map_err(|e| e.within("customer"))?,
        pickup: place("pickup", request.pickup.as_ref())?,
        destination: place("destination", request.destination.as_ref())?,
        parcels,
        delivery: DeliveryMethod::parse(method, tariff).map_err(|e| e.within("delivery"))?,
    }
    .validate()
}

pub fn details(details: &OrderDetails) -> proto::OrderDetails {
    proto::OrderDetails {
        order: Some((&details.order).into()),
        timeline: details.timeline.iter().map(pb::TimelineEntry::from).collect(),
    }
}
