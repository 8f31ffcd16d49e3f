//! Estimated time of arrival: a point estimate with a range and where it came from, and
//! the travel-time arithmetic behind it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::geo::Coordinates;
use crate::validation::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EtaSource {
    /// Computed by the courier tracker from the courier's live track.
    Tracker,
    /// From CDEK's tariff calculator or status.
    Cdek,
    /// Given by the storefront.
    Storefront,
    /// ordertrack's static estimate from the distance, when nothing better is known.
    Estimate,
}

impl EtaSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Tracker => "tracker",
            Self::Cdek => "cdek",
            Self::Storefront => "storefront",
            Self::Estimate => "estimate",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Tracker, Self::Cdek, Self::Storefront, Self::Estimate].into_iter().find(|s| s.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Eta {
    expected_at: DateTime<Utc>,
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
    source: EtaSource,
    computed_at: DateTime<Utc>,
}

impl Eta {
    /// Requires `earliest <= expected_at <= latest`.
    pub fn new(
        expected_at: DateTime<Utc>,
        earliest: DateTime<Utc>,
        latest: DateTime<Utc>,
        source: EtaSource,
        computed_at: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        if !(earliest <= expected_at && expected_at <= latest) {
            return Err(FieldError::new("eta", "invalid_range", "earliest <= expected_at <= latest must hold"));
        }
        Ok(Self { expected_at, earliest, latest, source, computed_at })
    }

    pub fn expected_at(&self) -> DateTime<Utc> {
        self.expected_at
    }

    pub fn earliest(&self) -> DateTime<Utc> {
        self.earliest
    }

    pub fn latest(&self) -> DateTime<Utc> {
        self.latest
    }

    pub fn source(&self) -> EtaSource {
        self.source
    }

    pub fn computed_at(&self) -> DateTime<Utc> {
        self.computed_at
    }

    /// Same estimate, ignoring when it was computed.
    pub fn same_estimate(&self, other: &Eta) -> bool {
        self.expected_at == other.expected_at
            && self.earliest == other.earliest
            && self.latest == other.latest
            && self.source == other.source
    }
}

/// Assumptions for a static estimate from distance alone.
#[derive(Debug, Clone, Copy)]
pub struct TravelAssumptions {
    /// Road distance over great-circle distance.
    pub detour_factor: f64,
    /// Average door-to-door speed in a city, m/s.
    pub speed_mps: f64,
    /// Fixed time for pickup, parking and handover.
    pub handling: Duration,
    /// The range spans this fraction of the travel time on each side.
    pub spread: f64,
}

impl Default for TravelAssumptions {
    fn default() -> Self {
        // 1.35 detour and 20 km/h door to door are typical of dense cities.
        Self { detour_factor: 1.35, speed_mps: 20.0 / 3.6, handling: Duration::minutes(10), spread: 0.3 }
    }
}

/// Travel time over the great-circle distance `from` → `to` with the assumptions.
pub fn travel_time(from: &Coordinates, to: &Coordinates, assumptions: &TravelAssumptions) -> Duration {
    let seconds = from.distance_m(to) * assumptions.detour_factor / assumptions.speed_mps.max(0.1);
    Duration::milliseconds((seconds * 1000.0).round() as i64)
}

/// A static estimate for a trip starting `now`: expected arrival after the travel time
/// plus handling, with a range of ±`spread` of the travel time.
pub fn estimate(from: &Coordinates, to: &Coordinates, now: DateTime<Utc>, assumptions: &TravelAssumptions) -> Eta {
    let travel = travel_time(from, to, assumptions);
    let margin = Duration::milliseconds((travel.num_milliseconds() as f64 * assumptions.spread).round() as i64);
    let expected = now + travel + assumptions.handling;
    Eta {
        expected_at: expected,
        earliest: expected - margin,
        latest: expected + margin,
        source: EtaSource::Estimate,
        computed_at: now,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges_must_hold_the_estimate() {
        let now = Utc::now();
        assert!(Eta::new(now, now, now, EtaSource::Tracker, now).is_ok());
        let later = now + Duration::minutes(5);
        assert_eq!(Eta::new(now, later, later, EtaSource::Tracker, now).unwrap_err().code, "invalid_range");
    }

    #[test]
    fn estimates_grow_with_distance() {
        let now = Utc::now();
        let a = Coordinates::parse(55.75, 37.61).unwrap();
        let near = Coordinates::parse(55.76, 37.61).unwrap();
        let far = Coordinates::parse(55.85, 37.61).unwrap();
        let assumptions = TravelAssumptions::default();
        let to_near = estimate(&a, &near, now, &assumptions);
        let to_far = estimate(&a, &far, now, &assumptions);
        assert!(to_near.expected_at() < to_far.expected_at());
        assert!(to_far.earliest() < to_far.expected_at() && to_far.expected_at() < to_far.latest());
        // 11.1 km * 1.35 at 20 km/h is 45 minutes, plus 10 of handling.
        let minutes = (to_far.expected_at() - now).num_minutes();
        assert!((53..=57).contains(&minutes), "{minutes}");
    }
}
