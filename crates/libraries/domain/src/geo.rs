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

/// The shortest distance in metres from `center` to the segment `a`–`b`, on a local flat
/// projection around `center` (exact enough for segments of a few kilometres).
pub fn distance_to_segment_m(center: &Coordinates, a: &Coordinates, b: &Coordinates) -> f64 {
    let metres_per_degree = EARTH_RADIUS_M.to_radians();
    let cos_lat = center.lat.to_radians().cos();
    let project = |p: &Coordinates| {
        ((p.lon - center.lon) * metres_per_degree * cos_lat, (p.lat - center.lat) * metres_per_degree)
    };
    let ((ax, ay), (bx, by)) = (project(a), project(b));
    let (dx, dy) = (bx - ax, by - ay);
    let length_squared = dx * dx + dy * dy;
    let t = if length_squared == 0.0 { 0.0 } else { (-(ax * dx + ay * dy) / length_squared).clamp(0.0, 1.0) };
    let (x, y) = (ax + t * dx, ay + t * dy);
    (x * x + y * y).sqrt()
}

/// Whether a move from `from` to `to` touches the circle of `radius_m` around `center`,
/// even when both ends lie outside it (a sparse track that jumps over a geofence).
pub fn segment_enters_circle(from: &Coordinates, to: &Coordinates, center: &Coordinates, radius_m: f64) -> bool {
    distance_to_segment_m(center, from, to) <= radius_m
}

#[cfg(test)]
mod segment_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_segment_that_jumps_over_a_circle_enters_it() {
        let center = Coordinates::parse(55.7500, 37.6000).unwrap();
        // 1 km south to 1 km north of the centre: both ends far outside a 100 m fence.
        let south = Coordinates::parse(55.7410, 37.6000).unwrap();
        let north = Coordinates::parse(55.7590, 37.6000).unwrap();
        assert!(center.distance_m(&south) > 900.0 && center.distance_m(&north) > 900.0);
        assert!(segment_enters_circle(&south, &north, &center, 100.0));
        // The same move 500 m to the east passes by.
        let south_east = Coordinates::parse(55.7410, 37.6080).unwrap();
        let north_east = Coordinates::parse(55.7590, 37.6080).unwrap();
        assert!(!segment_enters_circle(&south_east, &north_east, &center, 100.0));
        assert!((distance_to_segment_m(&center, &south_east, &north_east) - 502.0).abs() < 10.0);
        // A point (a zero-length segment) inside counts; one outside does not.
        assert!(segment_enters_circle(&center, &center, &center, 1.0));
        assert!(!segment_enters_circle(&south, &south, &center, 100.0));
    }
}
