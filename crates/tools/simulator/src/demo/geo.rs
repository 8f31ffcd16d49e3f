//! Points on a city's scale: a local flat-earth frame in metres around a point, which is
//! exact enough over the few kilometres the demo drives (the error is well under 0.1 %).

use rand::Rng;

const METRES_PER_DEGREE: f64 = 111_320.0;

/// The demo's city: Moscow, around the Kremlin.
pub const CENTRE: Point = Point { lat: 55.7522, lon: 37.6156 };
/// Couriers, pickups and destinations stay this close to the centre.
pub const CITY_RADIUS_M: f64 = 6_000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    /// The point `east_m` metres east and `north_m` metres north of this one.
    pub fn offset(self, east_m: f64, north_m: f64) -> Point {
        Point {
            lat: self.lat + north_m / METRES_PER_DEGREE,
            lon: self.lon + east_m / (METRES_PER_DEGREE * self.lat.to_radians().cos()),
        }
    }

    /// How far `other` lies east and north of this point, in metres.
    pub fn east_north_to(self, other: Point) -> (f64, f64) {
        let east = (other.lon - self.lon) * METRES_PER_DEGREE * self.lat.to_radians().cos();
        let north = (other.lat - self.lat) * METRES_PER_DEGREE;
        (east, north)
    }

    pub fn distance_m(self, other: Point) -> f64 {
        let (east, north) = self.east_north_to(other);
        east.hypot(north)
    }

    /// The direction to `other` in degrees clockwise from north, in [0, 360).
    pub fn heading_to(self, other: Point) -> f64 {
        let (east, north) = self.east_north_to(other);
        east.atan2(north).to_degrees().rem_euclid(360.0)
    }

    /// The point a fraction `t` (0 to 1) of the way to `other`.
    pub fn lerp(self, other: Point, t: f64) -> Point {
        Point { lat: self.lat + (other.lat - self.lat) * t, lon: self.lon + (other.lon - self.lon) * t }
    }

    pub fn in_city(self) -> bool {
        CENTRE.distance_m(self) <= CITY_RADIUS_M
    }
}

/// A random point within `radius_m` of `around` (uniform over the disc).
pub fn random_within(rng: &mut impl Rng, around: Point, radius_m: f64) -> Point {
    let distance = radius_m * rng.random::<f64>().sqrt();
    let angle = rng.random_range(0.0..std::f64::consts::TAU);
    around.offset(distance * angle.sin(), distance * angle.cos())
}

/// A random point between `min_m` and `max_m` from `from` that stays in the city. After
/// many misses (`from` near the edge, say) it takes the direction towards the centre,
/// which always works for a `from` inside the city and `max_m` under the city's radius.
pub fn random_at_distance(rng: &mut impl Rng, from: Point, min_m: f64, max_m: f64) -> Point {
    let mut distance = min_m;
    for _ in 0..50 {
        distance = rng.random_range(min_m..=max_m);
        let angle = rng.random_range(0.0..std::f64::consts::TAU);
        let candidate = from.offset(distance * angle.sin(), distance * angle.cos());
        if candidate.in_city() {
            return candidate;
        }
    }
    let (east, north) = from.east_north_to(CENTRE);
    let length = east.hypot(north).max(1.0);
    from.offset(east / length * distance, north / length * distance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn offsets_and_distances_agree() {
        let p = CENTRE.offset(300.0, -400.0);
        assert!((CENTRE.distance_m(p) - 500.0).abs() < 0.01);
        let (east, north) = CENTRE.east_north_to(p);
        assert!((east - 300.0).abs() < 0.01 && (north + 400.0).abs() < 0.01);
        assert!((CENTRE.heading_to(CENTRE.offset(0.0, 10.0)) - 0.0).abs() < 1e-9);
        assert!((CENTRE.heading_to(CENTRE.offset(10.0, 0.0)) - 90.0).abs() < 1e-9);
        assert!((CENTRE.heading_to(CENTRE.offset(-10.0, 0.0)) - 270.0).abs() < 1e-9);
    }

    #[test]
    fn random_destinations_keep_their_distance_and_stay_in_the_city() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let from = random_within(&mut rng, CENTRE, 5_500.0);
            assert!(from.in_city());
            let to = random_at_distance(&mut rng, from, 1_500.0, 4_000.0);
            let distance = from.distance_m(to);
            assert!((1_499.0..=4_001.0).contains(&distance), "{distance}");
            assert!(to.in_city() || CENTRE.distance_m(to) < CENTRE.distance_m(from), "{to:?}");
        }
    }
}
