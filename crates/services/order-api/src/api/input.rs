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

use super::schema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    #[schema(schema_with = schema::store_order_number)]
    pub store_order_number: String,
    pub customer: CustomerInput,
    pub pickup: PlaceInput,
    pub destination: PlaceInput,
    /// One to fifty parcels.
    #[schema(min_items = 1, max_items = 50)]
    pub parcels: Vec<ParcelInput>,
    #[schema(schema_with = schema::delivery)]
    pub delivery: DeliveryInput,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    #[schema(schema_with = schema::name)]
    pub name: String,
    #[schema(schema_with = schema::phone)]
    pub phone: String,
    #[schema(schema_with = schema::email)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    #[schema(schema_with = schema::address)]
    pub address: String,
    #[schema(example = 55.7575, minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(example = 37.6136, minimum = -180, maximum = 180)]
    pub lon: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParcelInput {
    #[schema(example = 1200, minimum = 1, maximum = 1_000_000)]
    #[serde(deserialize_with = "whole::number")]
    pub weight_grams: i64,
    #[schema(example = 30, minimum = 1, maximum = 1500)]
    #[serde(deserialize_with = "whole::number")]
    pub length_cm: i64,
    #[schema(example = 20, minimum = 1, maximum = 1500)]
    #[serde(deserialize_with = "whole::number")]
    pub width_cm: i64,
    #[schema(example = 10, minimum = 1, maximum = 1500)]
    #[serde(deserialize_with = "whole::number")]
    pub height_cm: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryInput {
    /// `own_courier` or `cdek`.
    #[schema(example = "own_courier")]
    pub method: String,
    /// Required for `cdek`, absent otherwise.
    #[serde(default, deserialize_with = "whole::optional")]
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
    #[schema(schema_with = schema::status)]
    pub status: String,
    #[schema(schema_with = schema::note)]
    pub note: Option<String>,
    /// Refuse the change (409 `version_conflict`) unless the order is at this version.
    #[serde(default, deserialize_with = "whole::optional")]
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
    #[schema(schema_with = schema::courier_id)]
    pub courier_id: String,
    #[serde(default, deserialize_with = "whole::optional")]
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
    #[schema(schema_with = schema::message)]
    pub message: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(schema_with = schema::status_filter)]
    pub status: Option<String>,
    #[param(schema_with = schema::optional_courier_id)]
    pub courier_id: Option<String>,
    /// Created at or after (RFC 3339).
    #[param(format = DateTime)]
    pub created_from: Option<String>,
    /// Created before (RFC 3339).
    #[param(format = DateTime)]
    pub created_to: Option<String>,
    pub store_order_number: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    #[param(schema_with = schema::reason)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CourierOrdersQuery {
    /// Only orders the courier is delivering now (default true).
    pub active_only: Option<bool>,
}

/// JSON has one kind of number: `5`, `5.0` and `5e0` are the same integer (JSON Schema's
/// `integer` says so too), so the integer fields take a whole number written any way.
mod whole {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};
    use serde_json::Number;

    pub fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let number = Number::deserialize(deserializer)?;
        integer(&number).ok_or_else(|| D::Error::custom(format!("invalid value: {number}, expected a whole number")))
    }

    pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Option::<Number>::deserialize(deserializer)?
            .map(|number| {
                integer(&number)
                    .ok_or_else(|| D::Error::custom(format!("invalid value: {number}, expected a whole number")))
            })
            .transpose()
    }

    /// The number as an i64, if it is whole and within range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    fn integer(number: &Number) -> Option<i64> {
        number.as_i64().or_else(|| {
            // -2^63 ≤ x < 2^63: the bounds are exact as f64, so the cast cannot saturate.
            let limit = 9_223_372_036_854_775_808.0_f64;
            number.as_f64().filter(|x| x.fract() == 0.0 && (-limit..limit).contains(x)).map(|x| x as i64)
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn whole_numbers_are_taken_however_written() {
            let read = |json: &str| integer(&serde_json::from_str::<Number>(json).ok()?);
            assert_eq!(read("25833"), Some(25833));
            assert_eq!(read("25833.0"), Some(25833));
            assert_eq!(read("2.5833e4"), Some(25833));
            assert_eq!(read("-3.0"), Some(-3));
            assert_eq!(read("1.5"), None);
            assert_eq!(read("1e19"), None);
            assert_eq!(read("18446744073709551615"), None);
        }
    }
}
