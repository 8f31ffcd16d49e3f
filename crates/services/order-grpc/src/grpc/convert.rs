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
