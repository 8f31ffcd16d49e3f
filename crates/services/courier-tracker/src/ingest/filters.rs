//! The filters that turn a courier app's noisy reports into trustworthy positions. Pure
//! functions of the configuration, the courier's last accepted point and the batch, so
//! every rule is tested on its own.
//!
//! Points are taken in time order (a batch may arrive shuffled). For each, in order:
//! coordinates and values in range; accuracy good enough; not in the future; not too old;
//! not an exact duplicate of the last accepted point; not older than it; not an
//! impossible jump from it; not too close to it in both time and distance (thinning).

use chrono::{DateTime, Duration, Utc};
use domain::geo::Coordinates;
use domain::position::Position;
use platform::config::ConfigError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// A point may be this much ahead of the server's clock (devices' clocks drift).
    pub max_future_secs: u64,
    /// Older points are dropped (a phone that was offline sends a backlog).
    pub max_age_secs: u64,
    /// Points less accurate than this (68 % radius, metres) are dropped.
    pub max_accuracy_m: f64,
    /// A move faster than this from the last accepted point is a GPS jump.
    pub max_speed_mps: f64,
    /// A point within this time of the last accepted one...
    pub min_period_ms: u64,
    /// ...and within this distance of it is thinned out.
    pub min_distance_m: f64,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            max_future_secs: 30,
            max_age_secs: 600,
            max_accuracy_m: 100.0,
            max_speed_mps: 70.0,
            min_period_ms: 1000,
            min_distance_m: 5.0,
        }
    }
}

impl FilterConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = ConfigError::require_positive;
        positive("filters.max_accuracy_m", self.max_accuracy_m)?;
        positive("filters.max_speed_mps", self.max_speed_mps)?;
        if !(self.min_distance_m.is_finite() && self.min_distance_m >= 0.0) {
            return Err(ConfigError::invalid("filters.min_distance_m", "must be 0 or more"));
        }
        ConfigError::require_at_least_one([("filters.max_age_secs", self.max_age_secs)])
    }
}

/// A point as the app reported it (already shaped by JSON parsing, not yet trusted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoint {
    pub lat: f64,
    pub lon: f64,
    pub recorded_at: DateTime<Utc>,
    /// Radius of the 68 % confidence circle, metres.
    pub accuracy_m: f64,
    #[serde(default)]
    pub speed_mps: Option<f64>,
    /// Degrees clockwise from north.
    #[serde(default)]
    pub heading_deg: Option<f64>,
}

/// The last accepted point of a courier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Last {
    pub point: Coordinates,
    pub recorded_at: DateTime<Utc>,
}

/// Why a point was dropped. Each is counted in `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Drop {
    OutOfRange,
    PoorAccuracy,
    InFuture,
    TooOld,
    Duplicate,
    OutOfOrder,
    ImpossibleJump,
    Thinned,
}

impl Drop {
    pub const ALL: [Drop; 8] = [
        Drop::OutOfRange,
        Drop::PoorAccuracy,
        Drop::InFuture,
        Drop::TooOld,
        Drop::Duplicate,
        Drop::OutOfOrder,
        Drop::ImpossibleJump,
        Drop::Thinned,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Drop::OutOfRange => "out_of_range",
            Drop::PoorAccuracy => "poor_accuracy",
            Drop::InFuture => "in_future",
            Drop::TooOld => "too_old",
            Drop::Duplicate => "duplicate",
            Drop::OutOfOrder => "out_of_order",
            Drop::ImpossibleJump => "impossible_jump",
            Drop::Thinned => "thinned",
        }
    }
}

/// What the filters made of a batch. Indices refer to the batch as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filtered {
    /// Accepted positions, oldest first.
    pub accepted: Vec<Position>,
    pub dropped: Vec<(usize, Drop)>,
    /// The courier's last accepted point after this batch.
    pub last: Option<Last>,
}

/// The point's coordinates if it and its readings are valid as the events carry them
/// (`f32`: a speed too big for one is refused here, not turned into infinity).
fn in_range(point: &RawPoint) -> Option<Coordinates> {
    Position::check_readings(
        point.accuracy_m as f32,
        point.speed_mps.map(|s| s as f32),
        point.heading_deg.map(|h| h as f32),
    )
    .ok()?;
    Coordinates::parse(point.lat, point.lon).ok()
}

/// Runs the filters over `batch` for a courier whose last accepted point is `last`.
pub fn filter(config: &FilterConfig, last: Option<Last>, batch: &[RawPoint], now: DateTime<Utc>) -> Filtered {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| batch.get(i).map(|p| p.recorded_at));
    let newest_allowed = now + Duration::seconds(i64::try_from(config.max_future_secs).unwrap_or(i64::MAX / 2));
    let oldest_allowed = now - Duration::seconds(i64::try_from(config.max_age_secs).unwrap_or(i64::MAX / 2));
    let min_period = Duration::milliseconds(i64::try_from(config.min_period_ms).unwrap_or(i64::MAX / 2));
    let mut result = Filtered { last, ..Filtered::default() };
    for index in order {
        let Some(point) = batch.get(index) else { continue };
        let verdict = (|| {
            let coordinates = in_range(point).ok_or(Drop::OutOfRange)?;
            if point.accuracy_m > config.max_accuracy_m {
                return Err(Drop::PoorAccuracy);
            }
            if point.recorded_at > newest_allowed {
                return Err(Drop::InFuture);
            }
            if point.recorded_at < oldest_allowed {
                return Err(Drop::TooOld);
            }
            if let Some(last) = result.last {
                if point.recorded_at == last.recorded_at && coordinates == last.point {
                    return Err(Drop::Duplicate);
                }
                if point.recorded_at <= last.recorded_at {
                    return Err(Drop::OutOfOrder);
                }
                let distance = coordinates.distance_m(&last.point);
                let seconds = (point.recorded_at - last.recorded_at).as_seconds_f64();
                if distance / seconds > config.max_speed_mps {
                    return Err(Drop::ImpossibleJump);
                }
                if point.recorded_at - last.recorded_at < min_period && distance < config.min_distance_m {
                    return Err(Drop::Thinned);
                }
            }
            Ok(coordinates)
        })();
        match verdict {
            Ok(coordinates) => {
                result.last = Some(Last { point: coordinates, recorded_at: point.recorded_at });
                result.accepted.push(Position {
                    point: coordinates,
                    recorded_at: point.recorded_at,
                    accuracy_m: point.accuracy_m as f32,
                    speed_mps: point.speed_mps.map(|s| s as f32),
                    heading_deg: point.heading_deg.map(|h| h as f32),
                });
            }
            Err(reason) => result.dropped.push((index, reason)),
        }
    }
    result.dropped.sort_by_key(|(index, _)| *index);
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn point(lat: f64, lon: f64, seconds_before_now: i64) -> RawPoint {
        RawPoint {
            lat,
            lon,
            recorded_at: now() - Duration::seconds(seconds_before_now),
            accuracy_m: 5.0,
            speed_mps: Some(5.0),
            heading_deg: Some(90.0),
        }
    }

    fn run(last: Option<Last>, batch: &[RawPoint]) -> Filtered {
        filter(&FilterConfig::default(), last, batch, now())
    }

    fn reasons(filtered: &Filtered) -> Vec<Drop> {
        filtered.dropped.iter().map(|(_, reason)| *reason).collect()
    }

    #[test]
    fn good_points_pass_in_time_order() {
        let batch = [point(55.7002, 37.6, 10), point(55.7000, 37.6, 30), point(55.7001, 37.6, 20)];
        let filtered = run(None, &batch);
        assert!(filtered.dropped.is_empty(), "{:?}", filtered.dropped);
        let times: Vec<_> = filtered.accepted.iter().map(|p| p.recorded_at).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(filtered.last.unwrap().recorded_at, batch[0].recorded_at);
    }

    #[test]
    fn out_of_range_coordinates_and_values() {
        let mut bad_heading = point(55.7, 37.6, 5);
        bad_heading.heading_deg = Some(400.0);
        let mut bad_speed = point(55.7, 37.6, 4);
        bad_speed.speed_mps = Some(-1.0);
        let mut nan_accuracy = point(55.7, 37.6, 3);
        nan_accuracy.accuracy_m = f64::NAN;
        let mut speed_beyond_f32 = point(55.7, 37.6, 2);
        speed_beyond_f32.speed_mps = Some(1e300);
        let filtered = run(
            None,
            &[point(91.0, 37.6, 10), point(55.7, 181.0, 9), bad_heading, bad_speed, nan_accuracy, speed_beyond_f32],
        );
        assert_eq!(reasons(&filtered), [Drop::OutOfRange; 6]);
        assert!(filtered.accepted.is_empty());
    }

    #[test]
    fn poor_accuracy() {
        let mut vague = point(55.7, 37.6, 10);
        vague.accuracy_m = 250.0;
        assert_eq!(reasons(&run(None, &[vague])), [Drop::PoorAccuracy]);
    }

    #[test]
    fn future_and_stale_timestamps() {
        let filtered = run(None, &[point(55.7, 37.6, -60), point(55.7, 37.6, 601), point(55.7, 37.6, -20)]);
        assert_eq!(filtered.dropped, [(0, Drop::InFuture), (1, Drop::TooOld)]);
        assert_eq!(filtered.accepted.len(), 1, "20 s ahead is within the allowed clock skew");
    }

    #[test]
    fn exact_duplicates_and_out_of_order_points() {
        let last = Last { point: Coordinates::parse(55.7, 37.6).unwrap(), recorded_at: now() - Duration::seconds(30) };
        let filtered = run(Some(last), &[point(55.7, 37.6, 30), point(55.7005, 37.6, 30), point(55.7005, 37.6, 40)]);
        assert_eq!(reasons(&filtered), [Drop::Duplicate, Drop::OutOfOrder, Drop::OutOfOrder]);
        // The same point twice within one batch.
        let filtered = run(None, &[point(55.7, 37.6, 10), point(55.7, 37.6, 10)]);
        assert_eq!(reasons(&filtered), [Drop::Duplicate]);
    }

    #[test]
    fn impossible_jumps() {
        let last = Last { point: Coordinates::parse(55.7, 37.6).unwrap(), recorded_at: now() - Duration::seconds(20) };
        // 11 km in 10 s is 1,100 m/s.
        let filtered = run(Some(last), &[point(55.8, 37.6, 10), point(55.7005, 37.6, 5)]);
        assert_eq!(filtered.dropped, [(0, Drop::ImpossibleJump)]);
        assert_eq!(filtered.accepted.len(), 1, "the next sane point is measured from the last accepted one");
    }

    #[test]
    fn thinning_by_period_and_distance() {
        let last = Last { point: Coordinates::parse(55.7, 37.6).unwrap(), recorded_at: now() - Duration::seconds(10) };
        let mut close_and_soon = point(55.70001, 37.6, 0);
        close_and_soon.recorded_at = last.recorded_at + Duration::milliseconds(500);
        let mut far_and_soon = point(55.7002, 37.6, 0);
        far_and_soon.recorded_at = last.recorded_at + Duration::milliseconds(900);
        let mut close_and_later = point(55.70021, 37.6, 0);
        close_and_later.recorded_at = last.recorded_at + Duration::milliseconds(2500);
        let filtered = run(Some(last), &[close_and_soon, far_and_soon, close_and_later]);
        assert_eq!(filtered.dropped, [(0, Drop::Thinned)]);
        assert_eq!(filtered.accepted.len(), 2);
    }

    #[test]
    fn each_filter_can_be_tuned() {
        let config = FilterConfig { max_accuracy_m: 2.0, ..FilterConfig::default() };
        let filtered = filter(&config, None, &[point(55.7, 37.6, 10)], now());
        assert_eq!(reasons(&filtered), [Drop::PoorAccuracy]);
    }
}
