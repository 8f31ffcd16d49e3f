//! The arithmetic of a live ETA: a speed learned from the courier's own track, bounded
//! by city limits; the road distance to go (great-circle times a detour factor, through
//! the pickup point when the parcel is not picked up yet); and the rule for when a new
//! estimate is worth sending.

use chrono::{DateTime, Duration, Utc};
use domain::eta::{Eta, EtaSource};
use domain::geo::Coordinates;

use super::MotionConfig;

/// The courier's speed after one more segment: an exponentially weighted moving average.
pub fn learn_speed(previous: Option<f64>, segment_speed: f64, smoothing: f64) -> f64 {
    match previous {
        Some(previous) => smoothing * segment_speed + (1.0 - smoothing) * previous,
        None => segment_speed,
    }
}

/// The route still to go.
pub enum Remaining {
    /// To the pickup point, then on to the destination.
    ViaPickup { pickup: Coordinates, destination: Coordinates },
    /// Straight on to the destination.
    ToDestination { destination: Coordinates },
}

/// The estimate for a courier seen at `from` at time `at`, moving at `speed` (m/s,
/// learned). Its `computed_at` is `at`: the estimate is as of that position.
pub fn estimate(
    config: &MotionConfig,
    at: DateTime<Utc>,
    from: &Coordinates,
    remaining: &Remaining,
    speed: Option<f64>,
) -> Eta {
    let speed = speed.unwrap_or(config.default_speed_mps).clamp(config.min_speed_mps, config.max_speed_mps);
    let (distance, handling) = match remaining {
        Remaining::ViaPickup { pickup, destination } => {
            (from.distance_m(pickup) + pickup.distance_m(destination), config.handling_secs as f64)
        }
        Remaining::ToDestination { destination } => (from.distance_m(destination), 0.0),
    };
    let seconds = distance * config.detour_factor / speed + handling;
    let expected = at + Duration::milliseconds((seconds * 1000.0) as i64);
    let spread = Duration::milliseconds((seconds * config.eta_spread * 1000.0) as i64);
    let earliest = (expected - spread).max(at);
    // Safe by construction: earliest <= expected <= latest.
    Eta::new(expected, earliest, expected + spread, EtaSource::Tracker, at)
        .unwrap_or_else(|_| domain::eta::estimate(from, from, at, &domain::eta::TravelAssumptions::default()))
}

/// Whether `new` differs enough from the last estimate sent to be worth sending: by at
/// least `eta_min_change_secs`, or by `eta_min_change_ratio` of the time still to go.
pub fn material(config: &MotionConfig, previous: Option<DateTime<Utc>>, new: DateTime<Utc>, at: DateTime<Utc>) -> bool {
    let Some(previous) = previous else { return true };
    let change = (new - previous).num_milliseconds().abs() as f64 / 1000.0;
    let to_go = ((new - at).num_milliseconds() as f64 / 1000.0).max(1.0);
    change >= config.eta_min_change_secs as f64 || change >= config.eta_min_change_ratio * to_go
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn speed_is_smoothed() {
        assert_eq!(learn_speed(None, 10.0, 0.3), 10.0);
        assert!((learn_speed(Some(10.0), 20.0, 0.3) - 13.0).abs() < 1e-9);
    }

    #[test]
    fn estimates_follow_distance_speed_and_limits() {
        let config = MotionConfig::default();
        let destination = Coordinates::parse(55.75, 37.60).unwrap();
        let far = Coordinates::parse(55.70, 37.60).unwrap(); // 5.56 km
        let near = Coordinates::parse(55.74, 37.60).unwrap(); // 1.11 km
        let to = Remaining::ToDestination { destination };
        let from_far = estimate(&config, at(), &far, &to, Some(10.0));
        let from_near = estimate(&config, at(), &near, &to, Some(10.0));
        let minutes = |eta: &Eta| (eta.expected_at() - at()).num_seconds() as f64 / 60.0;
        assert!((minutes(&from_far) - 5560.0 * 1.35 / 10.0 / 60.0).abs() < 0.2, "{}", minutes(&from_far));
        assert!(minutes(&from_near) < minutes(&from_far));
        assert!(from_far.earliest() < from_far.expected_at() && from_far.expected_at() < from_far.latest());
        // A learned 100 m/s is clamped to the city's limit; no speed yet uses the default.
        assert_eq!(
            estimate(&config, at(), &far, &to, Some(100.0)),
            estimate(&config, at(), &far, &to, Some(config.max_speed_mps))
        );
        assert_eq!(
            estimate(&config, at(), &far, &to, None),
            estimate(&config, at(), &far, &to, Some(config.default_speed_mps))
        );
        // Not yet picked up: the way through the pickup point plus the handling time.
        let via = Remaining::ViaPickup { pickup: near, destination };
        assert!(
            minutes(&estimate(&config, at(), &far, &via, Some(10.0)))
                > minutes(&from_far) + config.handling_secs as f64 / 60.0 - 0.1
        );
    }

    #[test]
    fn only_material_changes_are_sent() {
        let config = MotionConfig::default();
        let first = at() + Duration::minutes(30);
        assert!(material(&config, None, first, at()));
        assert!(!material(&config, Some(first), first + Duration::seconds(30), at()), "30 s of 30 min");
        assert!(material(&config, Some(first), first + Duration::seconds(61), at()), "over a minute");
        let soon = at() + Duration::minutes(3);
        assert!(material(&config, Some(soon), soon - Duration::seconds(20), at()), "11 % of 3 minutes");
    }
}
