//! Typed identifiers, so an order id can never be passed where a courier id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::FieldError;

/// An order's id: a UUID v7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(Uuid);

impl OrderId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for OrderId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for OrderId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Checks an identifier made of letters, digits, `-`, `_`, `.` and `:`, 1 to 64 long.
fn identifier(field: &str, value: &str) -> Result<String, FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if value.len() > 64 {
        return Err(FieldError::new(field, "too_long", "must be at most 64 characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')) {
        return Err(FieldError::new(field, "invalid_format", "may hold only letters, digits, '-', '_', '.' and ':'"));
    }
    Ok(value.to_owned())
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, FieldError> {
                identifier($field, value).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// A courier's id as the courier apps and storefronts know it (ordertrack does not
    /// manage couriers; it follows the ids it is given).
    CourierId,
    "courier_id"
);

string_id!(
    /// The store an order belongs to: the name of the storefront's API key.
    StoreId,
    "store_id"
);

/// A courier as ordertrack knows it: couriers belong to a store (or a store's fleet), so
/// the same courier id in two stores names two couriers. Every position, every live view
/// and every query takes this pair; a store that assigns `c-7` names its own `c-7`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CourierKey {
    pub store: StoreId,
    pub courier: CourierId,
}

impl CourierKey {
    pub fn new(store: StoreId, courier: CourierId) -> Self {
        Self { store, courier }
    }

    /// Parses `<store>/<courier>` (the form of [`fmt::Display`]; `/` is in neither id).
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let (store, courier) = value
            .split_once('/')
            .ok_or_else(|| FieldError::new("courier", "invalid_format", "must be <store>/<courier id>"))?;
        Ok(Self { store: StoreId::parse(store)?, courier: CourierId::parse(courier)? })
    }
}

impl fmt::Display for CourierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.store, self.courier)
    }
}

string_id!(
    /// The store's own number for the order, unique per store.
    StoreOrderNumber,
    "store_order_number"
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn order_ids_sort_by_creation() {
        let first = OrderId::new();
        let second = OrderId::new();
        assert!(first < second);
        assert_eq!(first.to_string().parse::<OrderId>().unwrap(), first);
        assert!("not-a-uuid".parse::<OrderId>().is_err());
    }

    #[test]
    fn string_ids_are_checked() {
        assert_eq!(CourierId::parse("courier-42").unwrap().as_str(), "courier-42");
        assert_eq!(CourierId::parse("").unwrap_err().code, "required");
        assert_eq!(CourierId::parse("a b").unwrap_err().code, "invalid_format");
        assert_eq!(CourierId::parse(&"x".repeat(65)).unwrap_err().code, "too_long");
        assert_eq!(StoreOrderNumber::parse("A-1/2").unwrap_err().field, "store_order_number");
    }

    #[test]
    fn a_courier_key_is_its_store_and_its_id() {
        let key = CourierKey::parse("shop:eu/c-7").unwrap();
        assert_eq!((key.store.as_str(), key.courier.as_str()), ("shop:eu", "c-7"));
        assert_eq!(key.to_string(), "shop:eu/c-7");
        assert_ne!(key, CourierKey::parse("other/c-7").unwrap());
        assert_eq!(CourierKey::parse("c-7").unwrap_err().code, "invalid_format");
        assert_eq!(CourierKey::parse("/c-7").unwrap_err().field, "store_id");
        assert_eq!(CourierKey::parse("shop/a/b").unwrap_err().field, "courier_id");
    }
}
