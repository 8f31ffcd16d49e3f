//! The structural checks `POST /v2/orders` makes before answering 202. Every problem
//! found is reported, each as a CDEK error naming the field.
//!
//! | rule | code |
//! | --- | --- |
//! | body is not JSON, or not an object | `v2_invalid_format` |
//! | a field has the wrong JSON type | `v2_invalid_value_type` |
//! | `type` not 1 or 2 | `v2_invalid_format` |
//! | `number` longer than 40 or not ASCII | `v2_invalid_format` |
//! | `tariff_code` missing | `v2_field_is_empty` |
//! | both `shipment_point` and `from_location` | `v2_shipment_address_multivalued` |
//! | neither of them | `v2_field_is_empty` |
//! | both `delivery_point` and `to_location` | `v2_delivery_address_multivalued` |
//! | neither of them | `v2_field_is_empty` |
//! | `from_location.address` / `to_location.address` missing | `v2_field_is_empty` |
//! | `recipient` or `recipient.name` (or a given `sender`'s `name`) missing | `v2_field_is_empty` |
//! | more than 10 phones, a phone number longer than 24 | `v2_invalid_format` |
//! | a phone without `number` | `v2_field_is_empty` |
//! | `packages` missing or empty | `v2_field_is_empty` |
//! | more than 255 packages, a package `number` used twice | `v2_invalid_format` |
//! | a package without `number` or `weight` | `v2_field_is_empty` |
//! | `weight` not positive | `v2_invalid_format` |
//! | a dimension missing while another is given, or while `weight` ≥ 100 g | `v2_field_is_empty` |
//! | online-store order (type 1) with a package without `items` | `v2_field_is_empty` |
//! | an item's `amount` outside 1..999 | `v2_invalid_format` |
//! | more than 126 items in the order | `v2_number_items_is_more_126` |

use serde::Deserialize;
use serde_json::Value;

use crate::errors::{CdekError, codes};
use crate::statuses;
use crate::tariffs::{self, Parcel};

pub const MAX_NUMBER_LEN: usize = 40;
pub const MAX_PHONE_LEN: usize = 24;
pub const MAX_PHONES: usize = 10;
pub const MAX_PACKAGES: usize = 255;
pub const MAX_ITEMS: usize = 126;
/// From this weight on (grams), a package needs its dimensions.
pub const DIMENSIONS_FROM_GRAMS: i64 = 100;

#[derive(Debug, Deserialize)]
struct OrderRequest {
    #[serde(rename = "type")]
    order_type: Option<i64>,
    number: Option<String>,
    tariff_code: Option<i64>,
    shipment_point: Option<String>,
    delivery_point: Option<String>,
    from_location: Option<Location>,
    to_location: Option<Location>,
    recipient: Option<Contact>,
    sender: Option<Contact>,
    packages: Option<Vec<Package>>,
}

#[derive(Debug, Deserialize)]
pub struct Location {
    pub address: Option<String>,
    pub code: Option<i64>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
}

impl Location {
    /// What the tariff arithmetic uses to tell places apart.
    pub fn key(&self) -> String {
        if let Some(code) = self.code {
            return code.to_string();
        }
        self.postal_code.clone().or_else(|| self.city.clone()).or_else(|| self.address.clone()).unwrap_or_default()
    }

    /// The city's name, if it can be told.
    pub fn city_name(&self) -> Option<String> {
        self.city.clone().or_else(|| self.code.and_then(statuses::city_by_code).map(str::to_owned))
    }

    pub fn is_empty(&self) -> bool {
        self.code.is_none() && blank(&self.postal_code) && blank(&self.city) && blank(&self.address)
    }
}

#[derive(Debug, Deserialize)]
struct Contact {
    name: Option<String>,
    phones: Option<Vec<Phone>>,
}

#[derive(Debug, Deserialize)]
struct Phone {
    number: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Package {
    pub number: Option<String>,
    pub weight: Option<i64>,
    pub length: Option<i64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    items: Option<Vec<Item>>,
}

impl Package {
    pub fn parcel(&self) -> Parcel {
        let dimensions = match (self.length, self.width, self.height) {
            (Some(length), Some(width), Some(height)) => Some((length, width, height)),
            _ => None,
        };
        Parcel { weight: self.weight.unwrap_or(0), dimensions }
    }
}

#[derive(Debug, Deserialize)]
struct Item {
    amount: Option<i64>,
}

/// What the rest of the double needs from an order that passed the checks.
#[derive(Debug, Clone)]
pub struct ValidOrder {
    pub order_type: i64,
    pub number: Option<String>,
    pub tariff_code: i64,
    pub recipient_name: String,
    pub delivery_mode: String,
    pub origin_city: String,
    pub from_key: String,
    pub to_key: String,
    pub parcels: Vec<Parcel>,
}

fn blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|text| text.trim().is_empty())
}

/// Parses a request body as JSON, refusing anything else with `v2_invalid_format`.
pub fn parse_json(body: &[u8]) -> Result<Value, CdekError> {
    serde_json::from_slice::<Value>(body)
        .map_err(|error| CdekError::new(codes::INVALID_FORMAT, format!("Request body is not valid JSON: {error}")))
}

/// Reads `value` as `T`, reporting the path of a field of the wrong type.
pub fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, CdekError> {
    if !value.is_object() {
        return Err(CdekError::new(codes::INVALID_FORMAT, "Request body must be a JSON object"));
    }
    serde_path_to_error::deserialize(value.clone()).map_err(|error| {
        CdekError::new(
            codes::INVALID_VALUE_TYPE,
            format!("Field [{}] has a wrong type: {}", error.path(), error.inner()),
        )
    })
}

/// Checks an order registration body.
pub fn order(body: &Value) -> Result<ValidOrder, Vec<CdekError>> {
    let request: OrderRequest = typed(body).map_err(|error| vec![error])?;
    let mut errors = Vec::new();

    let order_type = request.order_type.unwrap_or(1);
    if order_type != 1 && order_type != 2 {
        errors.push(CdekError::invalid("type", "must be 1 (online store) or 2 (delivery)"));
    }
    if let Some(number) = &request.number {
        if number.len() > MAX_NUMBER_LEN {
            errors.push(CdekError::invalid("number", "longer than 40 characters"));
        }
        if !number.is_ascii() {
            errors.push(CdekError::invalid("number", "only ASCII characters are allowed"));
        }
    }
    if request.tariff_code.is_none() {
        errors.push(CdekError::empty("tariff_code"));
    }

    check_origin(&request, &mut errors);
    check_destination(&request, &mut errors);
    match &request.recipient {
        None => errors.push(CdekError::empty("recipient")),
        Some(recipient) => check_contact("recipient", recipient, &mut errors),
    }
    if let Some(sender) = &request.sender {
        check_contact("sender", sender, &mut errors);
    }
    check_packages(request.packages.as_deref(), order_type, &mut errors);

    if !errors.is_empty() {
        return Err(errors);
    }
    let origin_city = request
        .from_location
        .as_ref()
        .and_then(Location::city_name)
        .or_else(|| request.shipment_point.as_deref().and_then(statuses::city_of_office).map(str::to_owned))
        .unwrap_or_else(|| "Москва".to_owned());
    let from_door = request.from_location.is_some();
    let to_door = request.to_location.is_some();
    let tariff_code = request.tariff_code.unwrap_or_default();
    Ok(ValidOrder {
        order_type,
        number: request.number.filter(|number| !number.is_empty()),
        tariff_code,
        recipient_name: request.recipient.and_then(|recipient| recipient.name).unwrap_or_default(),
        delivery_mode: tariffs::delivery_mode(tariff_code, from_door, to_door).to_string(),
        origin_city,
        from_key: request
            .from_location
            .as_ref()
            .map_or_else(|| request.shipment_point.clone().unwrap_or_default(), Location::key),
        to_key: request
            .to_location
            .as_ref()
            .map_or_else(|| request.delivery_point.clone().unwrap_or_default(), Location::key),
        parcels: request.packages.unwrap_or_default().iter().map(Package::parcel).collect(),
    })
}

fn check_origin(request: &OrderRequest, errors: &mut Vec<CdekError>) {
    let point = !blank(&request.shipment_point);
    match (&request.from_location, point) {
        (Some(_), true) => errors.push(CdekError::new(
            codes::SHIPMENT_ADDRESS_MULTIVALUED,
            "Both [shipment_point] and [from_location] are given: send only one of them",
        )),
        (None, false) => errors.push(CdekError::new(
            codes::FIELD_IS_EMPTY,
            "Field [shipment_point] or [from_location] is empty: send one of them",
        )),
        (Some(location), false) => check_location("from_location", location, errors),
        (None, true) => {}
    }
}

fn check_destination(request: &OrderRequest, errors: &mut Vec<CdekError>) {
    let point = !blank(&request.delivery_point);
    match (&request.to_location, point) {
        (Some(_), true) => errors.push(CdekError::new(
            codes::DELIVERY_ADDRESS_MULTIVALUED,
            "Both [delivery_point] and [to_location] are given: send only one of them",
        )),
        (None, false) => errors.push(CdekError::new(
            codes::FIELD_IS_EMPTY,
            "Field [delivery_point] or [to_location] is empty: send one of them",
        )),
        (Some(location), false) => check_location("to_location", location, errors),
        (None, true) => {}
    }
}

fn check_location(field: &str, location: &Location, errors: &mut Vec<CdekError>) {
    if blank(&location.address) {
        errors.push(CdekError::empty(&format!("{field}.address")));
    }
}

fn check_contact(field: &str, contact: &Contact, errors: &mut Vec<CdekError>) {
    if blank(&contact.name) {
        errors.push(CdekError::empty(&format!("{field}.name")));
    }
    let phones = contact.phones.as_deref().unwrap_or_default();
    if phones.len() > MAX_PHONES {
        errors.push(CdekError::invalid(&format!("{field}.phones"), "at most 10 phones"));
    }
    for (index, phone) in phones.iter().enumerate() {
        match &phone.number {
            None => errors.push(CdekError::empty(&format!("{field}.phones[{index}].number"))),
            Some(number) if number.trim().is_empty() => {
                errors.push(CdekError::empty(&format!("{field}.phones[{index}].number")));
            }
            Some(number) if number.chars().count() > MAX_PHONE_LEN => {
                errors
                    .push(CdekError::invalid(&format!("{field}.phones[{index}].number"), "longer than 24 characters"));
            }
            Some(_) => {}
        }
    }
}

fn check_packages(packages: Option<&[Package]>, order_type: i64, errors: &mut Vec<CdekError>) {
    let packages = match packages {
        Some(packages) if !packages.is_empty() => packages,
        _ => {
            errors.push(CdekError::empty("packages"));
            return;
        }
    };
    if packages.len() > MAX_PACKAGES {
        errors.push(CdekError::invalid("packages", "at most 255 packages"));
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut items_total = 0usize;
    for (index, package) in packages.iter().enumerate() {
        let field = format!("packages[{index}]");
        match package.number.as_deref().map(str::trim) {
            None | Some("") => errors.push(CdekError::empty(&format!("{field}.number"))),
            Some(number) if seen.contains(&number) => {
                errors.push(CdekError::invalid(&format!("{field}.number"), "must be unique within the order"));
            }
            Some(number) => seen.push(number),
        }
        match package.weight {
            None => errors.push(CdekError::empty(&format!("{field}.weight"))),
            Some(weight) if weight <= 0 => {
                errors.push(CdekError::invalid(&format!("{field}.weight"), "must be positive (grams)"));
            }
            Some(_) => {}
        }
        let dimensions = [("length", package.length), ("width", package.width), ("height", package.height)];
        let any_given = dimensions.iter().any(|(_, value)| value.is_some());
        let heavy = package.weight.is_some_and(|weight| weight >= DIMENSIONS_FROM_GRAMS);
        if any_given || heavy {
            for (name, value) in dimensions {
                if value.is_none() {
                    errors.push(CdekError::empty(&format!("{field}.{name}")));
                }
            }
        }
        match &package.items {
            None if order_type == 1 => errors.push(CdekError::empty(&format!("{field}.items"))),
            Some(items) if items.is_empty() && order_type == 1 => {
                errors.push(CdekError::empty(&format!("{field}.items")));
            }
            Some(items) => {
                items_total += items.len();
                for (item_index, item) in items.iter().enumerate() {
                    if item.amount.is_some_and(|amount| !(1..=999).contains(&amount)) {
                        errors
                            .push(CdekError::invalid(&format!("{field}.items[{item_index}].amount"), "must be 1..999"));
                    }
                }
            }
            None => {}
        }
    }
    if items_total > MAX_ITEMS {
        errors.push(CdekError::new(codes::TOO_MANY_ITEMS, "More than 126 items in the order"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "number": "A-1",
            "tariff_code": 136,
            "shipment_point": "MSK65",
            "delivery_point": "NSK12",
            "recipient": {"name": "Иван", "phones": [{"number": "+79990000000"}]},
            "packages": [{"number": "1", "weight": 50, "items": [{"name": "x", "amount": 1}]}]
        })
    }

    fn codes_of(body: &Value) -> Vec<String> {
        order(body).err().unwrap_or_default().into_iter().map(|error| error.code).collect()
    }

    #[test]
    fn a_minimal_order_passes() {
        let valid = order(&valid()).unwrap();
        assert_eq!(valid.delivery_mode, "4");
        assert_eq!(valid.origin_city, "Москва");
    }

    #[test]
    fn wrong_types_name_the_path() {
        let mut body = valid();
        body["packages"][0]["weight"] = json!("heavy");
        let errors = order(&body).unwrap_err();
        assert_eq!(errors[0].code, codes::INVALID_VALUE_TYPE);
        assert!(errors[0].message.contains("packages[0].weight"), "{}", errors[0].message);
    }

    #[test]
    fn heavy_packages_need_dimensions() {
        let mut body = valid();
        body["packages"][0]["weight"] = json!(100);
        assert_eq!(codes_of(&body), vec![codes::FIELD_IS_EMPTY; 3]);
        body["packages"][0]["length"] = json!(10);
        body["packages"][0]["width"] = json!(10);
        body["packages"][0]["height"] = json!(10);
        assert!(codes_of(&body).is_empty());
    }

    #[test]
    fn delivery_orders_need_no_items() {
        let mut body = valid();
        body["type"] = json!(2);
        body["packages"][0].as_object_mut().unwrap().remove("items");
        assert!(codes_of(&body).is_empty());
        body["type"] = json!(1);
        assert_eq!(codes_of(&body), vec![codes::FIELD_IS_EMPTY]);
    }
}
