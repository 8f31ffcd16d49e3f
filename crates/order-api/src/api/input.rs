//! Request bodies and query strings, and their conversion to domain values. A failed
//! conversion names the field by its path in the request (`destination.lat`).

use domain::customer::Customer;
use domain::geo::Place;
use domain::ids::{CourierId, StoreId, StoreOrderNumber};
use domain::order::NewOrder;
use domain::parcel::{DeliveryMethod, Parcel};
use domain::status::OrderStatus;
use domain::validation::FieldError;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    /// The store's own number for the order, unique per store.
    #[schema(example = "A-10025")]
    pub store_order_number: String,
    pub customer: CustomerInput,
    pub pickup: PlaceInput,
    pub destination: PlaceInput,
    /// One to fifty parcels.
    pub parcels: Vec<ParcelInput>,
    pub delivery: DeliveryInput,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    #[schema(example = "Anna Petrova")]
    pub name: String,
    /// International format: + and 7 to 15 digits.
    #[schema(example = "+79161234567")]
    pub phone: String,
    #[schema(example = "anna@example.com")]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    #[schema(example = "Tverskaya 1, Moscow")]
    pub address: String,
    #[schema(example = 55.7575)]
    pub lat: f64,
    #[schema(example = 37.6136)]
    pub lon: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParcelInput {
    #[schema(example = 1200)]
    pub weight_grams: i64,
    #[schema(example = 30)]
    pub length_cm: i64,
    #[schema(example = 20)]
    pub width_cm: i64,
    #[schema(example = 10)]
    pub height_cm: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryInput {
    /// `own_courier` or `cdek`.
    #[schema(example = "own_courier")]
    pub method: String,
    /// Required for `cdek`, absent otherwise.
    pub cdek_tariff_code: Option<i64>,
}

impl CreateOrder {
    pub fn into_domain(self, store_id: StoreId) -> Result<NewOrder, FieldError> {
        let parcels = self
            .parcels
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Parcel::parse(p.weight_grams, p.length_cm, p.width_cm, p.height_cm)
                    .map_err(|e| e.within(&format!("parcels[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        NewOrder {
            store_id,
            store_order_number: StoreOrderNumber::parse(self.store_order_number.trim())?,
            customer: Customer::parse(&self.customer.name, &self.customer.phone, &self.customer.email)
                .map_err(|e| e.within("customer"))?,
            pickup: Place::parse(&self.pickup.address, self.pickup.lat, self.pickup.lon)
                .map_err(|e| e.within("pickup"))?,
            destination: Place::parse(&self.destination.address, self.destination.lat, self.destination.lon)
                .map_err(|e| e.within("destination"))?,
            parcels,
            delivery: DeliveryMethod::parse(&self.delivery.method, self.delivery.cdek_tariff_code)
                .map_err(|e| e.within("delivery"))?,
        }
        .validate()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStatus {
    /// The new status (see the status machine in the README).
    #[schema(example = "picked_up")]
    pub status: String,
    pub note: Option<String>,
    /// Refuse the change (409 `version_conflict`) unless the order is at this version.
    pub expected_version: Option<i64>,
}

impl UpdateStatus {
    pub fn status(&self) -> Result<OrderStatus, FieldError> {
        OrderStatus::parse(&self.status)
            .ok_or_else(|| FieldError::new("status", "invalid_value", "not a known status (see the README)"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignCourier {
    #[schema(example = "courier-17")]
    pub courier_id: String,
    pub expected_version: Option<i64>,
}

impl AssignCourier {
    pub fn courier_id(&self) -> Result<CourierId, FieldError> {
        CourierId::parse(&self.courier_id)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Up to 1000 characters, shown to the customer on the tracking page.
    #[schema(example = "The courier will call you 10 minutes before arrival.")]
    pub message: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only orders in this status.
    pub status: Option<String>,
    /// Only orders of this courier.
    pub courier_id: Option<String>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<String>,
    /// Created before (RFC 3339).
    pub created_to: Option<String>,
    pub store_order_number: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// Why the order is cancelled (kept in the timeline).
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CourierOrdersQuery {
    /// Only orders the courier is delivering now (default true).
    pub active_only: Option<bool>,
}
