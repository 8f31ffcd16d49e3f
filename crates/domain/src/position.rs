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
        Ok(Self {
            point: Coordinates::parse(position.lat, position.lon)?,
            recorded_at: from_timestamp(position.recorded_at.as_ref())
                .ok_or_else(|| FieldError::new("recorded_at", "required", "missing or out of range"))?,
            accuracy_m: position.accuracy_m,
            speed_mps: position.speed_mps,
            heading_deg: position.heading_deg,
        })
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
