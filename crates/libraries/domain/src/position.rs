//! A courier's reported position.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::convert::from_timestamp;
use crate::events as pb;
use crate::geo::Coordinates;
use crate::validation::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Position {
    pub point: Coordinates,
    pub recorded_at: DateTime<Utc>,
    /// Radius of the 68% confidence circle, metres.
    pub accuracy_m: f32,
    /// As the device reported it, if it did.
    pub speed_mps: Option<f32>,
    /// Degrees clockwise from north, if the device reported it.
    pub heading_deg: Option<f32>,
}

impl Position {
    pub fn from_event(position: &pb::Position) -> Result<Self, FieldError> {
        Self::check_readings(position.accuracy_m, position.speed_mps, position.heading_deg)?;
        Ok(Self {
            point: Coordinates::parse(position.lat, position.lon)?,
            recorded_at: from_timestamp(position.recorded_at.as_ref())
                .ok_or_else(|| FieldError::new("recorded_at", "required", "missing or out of range"))?,
            accuracy_m: position.accuracy_m,
            speed_mps: position.speed_mps,
            heading_deg: position.heading_deg,
        })
    }

    /// The readings that come with a point: accuracy finite and not negative, speed finite
    /// and not negative, heading from 0 to 360 degrees. The tracker refuses other points at
    /// ingest, and consumers refuse them in events, so no NaN reaches a map or an ETA.
    pub fn check_readings(accuracy_m: f32, speed_mps: Option<f32>, heading_deg: Option<f32>) -> Result<(), FieldError> {
        if !accuracy_m.is_finite() || accuracy_m < 0.0 {
            return Err(FieldError::new(
                "accuracy_m",
                "out_of_range",
                "must be a finite number of metres, not negative",
            ));
        }
        if speed_mps.is_some_and(|s| !s.is_finite() || s < 0.0) {
            return Err(FieldError::new("speed_mps", "out_of_range", "must be a finite speed, not negative"));
        }
        if heading_deg.is_some_and(|h| !h.is_finite() || !(0.0..=360.0).contains(&h)) {
            return Err(FieldError::new("heading_deg", "out_of_range", "must be between 0 and 360"));
        }
        Ok(())
    }

    pub fn to_event(&self) -> pb::Position {
        pb::Position {
            lat: self.point.lat(),
            lon: self.point.lon(),
            recorded_at: Some(crate::convert::timestamp(self.recorded_at)),
            accuracy_m: self.accuracy_m,
            speed_mps: self.speed_mps,
            heading_deg: self.heading_deg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(accuracy_m: f32, speed_mps: Option<f32>, heading_deg: Option<f32>) -> pb::Position {
        pb::Position {
            lat: 55.756,
            lon: 37.618,
            recorded_at: Some(crate::convert::timestamp(chrono::DateTime::UNIX_EPOCH)),
            accuracy_m,
            speed_mps,
            heading_deg,
        }
    }

    #[test]
    fn a_position_with_plain_readings_round_trips() {
        let position = Position::from_event(&event(5.0, Some(12.5), Some(360.0))).expect("valid");
        assert_eq!(Position::from_event(&position.to_event()), Ok(position));
        assert!(Position::from_event(&event(0.0, None, None)).is_ok());
    }

    #[test]
    fn readings_that_are_not_numbers_or_out_of_range_are_refused_by_field() {
        let cases = [
            (event(f32::NAN, None, None), "accuracy_m"),
            (event(-1.0, None, None), "accuracy_m"),
            (event(f32::INFINITY, None, None), "accuracy_m"),
            (event(5.0, Some(f32::NAN), None), "speed_mps"),
            (event(5.0, Some(-0.5), None), "speed_mps"),
            (event(5.0, Some(f32::INFINITY), None), "speed_mps"),
            (event(5.0, None, Some(f32::NAN)), "heading_deg"),
            (event(5.0, None, Some(360.5)), "heading_deg"),
            (event(5.0, None, Some(-1.0)), "heading_deg"),
        ];
        for (position, field) in cases {
            let error = Position::from_event(&position).expect_err(field);
            assert_eq!((error.field.as_str(), error.code), (field, "out_of_range"), "{position:?}");
        }
    }
}
