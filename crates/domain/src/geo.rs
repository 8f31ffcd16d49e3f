//! Coordinates, places and the geometry the tracker and the ETA need.

use serde::Serialize;

use crate::validation::{self, FieldError};

/// Mean Earth radius in metres (IUGG), good to ~0.5% for great-circle distances.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A WGS84 point. Latitude in [-90, 90], longitude in [-180, 180], both finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coordinates {
    lat: f64,
    lon: f64,
}

impl Coordinates {
    pub fn parse(lat: f64, lon: f64) -> Result<Self, FieldError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(FieldError::new("lat", "out_of_range", "must be between -90 and 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(FieldError::new("lon", "out_of_range", "must be between -180 and 180"));
        }
        Ok(Self { lat, lon })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle (haversine) distance in metres.
    pub fn distance_m(&self, other: &Coordinates) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.lon - self.lon).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

/// An address with its coordinates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    address: String,
    point: Coordinates,
}

impl Place {
    pub fn parse(address: &str, lat: f64, lon: f64) -> Result<Self, FieldError> {
        Ok(Self { address: validation::text("address", address, 500)?, point: Coordinates::parse(lat, lon)? })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn point(&self) -> Coordinates {
        self.point
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn coordinates_are_range_checked() {
        assert!(Coordinates::parse(55.75, 37.62).is_ok());
        assert_eq!(Coordinates::parse(90.1, 0.0).unwrap_err().field, "lat");
        assert_eq!(Coordinates::parse(0.0, -180.5).unwrap_err().field, "lon");
        assert_eq!(Coordinates::parse(f64::NAN, 0.0).unwrap_err().code, "out_of_range");
    }

    #[test]
    fn distances_match_known_values() {
        // Moscow Kremlin to Saint Petersburg Palace Square: about 634 km.
        let moscow = Coordinates::parse(55.7520, 37.6175).unwrap();
        let spb = Coordinates::parse(59.9390, 30.3158).unwrap();
        let d = moscow.distance_m(&spb);
        assert!((630_000.0..640_000.0).contains(&d), "{d}");
        assert_eq!(moscow.distance_m(&moscow), 0.0);
        // One degree of latitude is about 111.2 km.
        let north = Coordinates::parse(56.7520, 37.6175).unwrap();
        assert!((moscow.distance_m(&north) - 111_195.0).abs() < 100.0);
    }
}
