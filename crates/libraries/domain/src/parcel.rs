//! Parcels and how an order is delivered.

use serde::Serialize;

use crate::validation::FieldError;

/// One parcel: weight in grams (1 g to 1 t) and size in centimetres (1 to 1500 each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Parcel {
    weight_grams: u32,
    length_cm: u32,
    width_cm: u32,
    height_cm: u32,
}

impl Parcel {
    pub fn parse(weight_grams: i64, length_cm: i64, width_cm: i64, height_cm: i64) -> Result<Self, FieldError> {
        let ranged = |field: &str, value: i64, max: i64| {
            u32::try_from(value)
                .ok()
                .filter(|v| (1..=max).contains(&i64::from(*v)))
                .ok_or_else(|| FieldError::new(field, "out_of_range", format!("must be between 1 and {max}")))
        };
        Ok(Self {
            weight_grams: ranged("weight_grams", weight_grams, 1_000_000)?,
            length_cm: ranged("length_cm", length_cm, 1500)?,
            width_cm: ranged("width_cm", width_cm, 1500)?,
            height_cm: ranged("height_cm", height_cm, 1500)?,
        })
    }

    pub fn weight_grams(&self) -> u32 {
        self.weight_grams
    }

    pub fn length_cm(&self) -> u32 {
        self.length_cm
    }

    pub fn width_cm(&self) -> u32 {
        self.width_cm
    }

    pub fn height_cm(&self) -> u32 {
        self.height_cm
    }
}

/// The most parcels one order may have.
pub const MAX_PARCELS: usize = 50;

/// How an order travels: with the store's own couriers, or shipped with CDEK under a
/// CDEK tariff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum DeliveryMethod {
    OwnCourier,
    Cdek { tariff_code: u32 },
}

impl DeliveryMethod {
    /// `method` is "own_courier" or "cdek"; CDEK needs a tariff code (1 to 10000), the
    /// own courier must not have one.
    pub fn parse(method: &str, tariff_code: Option<i64>) -> Result<Self, FieldError> {
        match (method, tariff_code) {
            ("own_courier", None) => Ok(Self::OwnCourier),
            ("own_courier", Some(_)) => {
                Err(FieldError::new("cdek_tariff_code", "not_allowed", "only CDEK deliveries have a tariff"))
            }
            ("cdek", Some(code)) => u32::try_from(code)
                .ok()
                .filter(|c| (1..=10_000).contains(c))
                .map(|tariff_code| Self::Cdek { tariff_code })
                .ok_or_else(|| FieldError::new("cdek_tariff_code", "out_of_range", "must be between 1 and 10000")),
            ("cdek", None) => {
                Err(FieldError::new("cdek_tariff_code", "required", "CDEK deliveries need a tariff code"))
            }
            _ => Err(FieldError::new("method", "invalid_value", "must be own_courier or cdek")),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::OwnCourier => "own_courier",
            Self::Cdek { .. } => "cdek",
        }
    }

    pub fn is_cdek(&self) -> bool {
        matches!(self, Self::Cdek { .. })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parcels_are_range_checked() {
        assert!(Parcel::parse(1200, 30, 20, 10).is_ok());
        assert_eq!(Parcel::parse(0, 30, 20, 10).unwrap_err().field, "weight_grams");
        assert_eq!(Parcel::parse(10, 30, -1, 10).unwrap_err().field, "width_cm");
        assert_eq!(Parcel::parse(10, 30, 20, 1501).unwrap_err().field, "height_cm");
        assert_eq!(Parcel::parse(i64::MAX, 1, 1, 1).unwrap_err().code, "out_of_range");
    }

    #[test]
    fn delivery_methods_are_checked() {
        assert_eq!(DeliveryMethod::parse("own_courier", None).unwrap(), DeliveryMethod::OwnCourier);
        assert_eq!(DeliveryMethod::parse("cdek", Some(136)).unwrap(), DeliveryMethod::Cdek { tariff_code: 136 });
        assert_eq!(DeliveryMethod::parse("cdek", None).unwrap_err().code, "required");
        assert_eq!(DeliveryMethod::parse("own_courier", Some(1)).unwrap_err().code, "not_allowed");
        assert_eq!(DeliveryMethod::parse("drone", None).unwrap_err().field, "method");
    }
}
