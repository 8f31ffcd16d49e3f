//! What goes over the socket, as JSON text messages. The schema is documented in
//! `docs/websocket.md`; keep the two in step.
//!
//! Every server message is an object with `seq` (this socket's message counter, from 1
//! and without gaps) and `type`. Messages about an order carry the order's `version`:
//! a client that sees a version more than one above what it has missed a change and
//! refetches the snapshot (`GET /track/{token}`).
//!
//! A message is serialized once per event ([`Body`]: the JSON object without its
//! opening brace) and framed per socket with its `seq` ([`frame`]), so an event that
//! goes to ten thousand sockets costs one serialization.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::eta::Eta;
use domain::geo::Coordinates;
use domain::position::Position;
use serde::{Deserialize, Serialize};

/// A serialized message without `{` and `seq`.
pub type Body = Arc<str>;

/// Serializes a message into a [`Body`].
pub fn body<T: Serialize>(message: &T) -> Body {
    let text = serde_json::to_string(message).unwrap_or_else(|_| r#"{"type":"error"}"#.to_owned());
    Arc::from(text.strip_prefix('{').unwrap_or(&text))
}

/// The text sent to one socket: `{"seq":N,` + body.
pub fn frame(seq: u64, body: &str) -> String {
    let mut text = String::with_capacity(body.len() + 24);
    text.push_str("{\"seq\":");
    text.push_str(&seq.to_string());
    if body != "}" {
        text.push(',');
    }
    text.push_str(body);
    text
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EtaMessage {
    pub expected_at: DateTime<Utc>,
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
    pub source: &'static str,
}

impl From<&Eta> for EtaMessage {
    fn from(eta: &Eta) -> Self {
        Self {
            expected_at: eta.expected_at(),
            earliest: eta.earliest(),
            latest: eta.latest(),
            source: eta.source().as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl From<Coordinates> for Point {
    fn from(point: Coordinates) -> Self {
        Self { lat: point.lat(), lon: point.lon() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineMessage {
    pub status: &'static str,
    pub at: DateTime<Utc>,
    /// A carrier's code and text (only on entries a carrier caused, as on the public page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_note: Option<String>,
}

/// To a customer when the socket opens: what the notifier knows of the order.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "hello")]
pub struct Hello<'a> {
    pub order_id: String,
    /// False when no event of the order has reached this notifier yet (the snapshot from
    /// `GET /track/{token}` is then all there is).
    pub known: bool,
    pub version: Option<i64>,
    pub status: Option<&'static str>,
    pub eta: Option<&'a EtaMessage>,
    pub server_time: DateTime<Utc>,
}

/// To a customer: the order changed (status, ETA, courier, ...).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "update")]
pub struct Update<'a> {
    pub order_id: String,
    pub version: i64,
    /// What changed: "created", "status", "eta", "courier_id", "carrier_reference", ...
    pub changed: &'a [String],
    pub status: &'static str,
    /// The new timeline entry, when the status changed.
    pub timeline_entry: Option<TimelineMessage>,
    pub eta: Option<&'a EtaMessage>,
    /// Whether a courier is assigned (customers never see who).
    pub courier_assigned: bool,
}

/// A courier position as sent to customers and ops.
#[derive(Debug, Clone, Serialize)]
pub struct PositionMessage {
    pub lat: f64,
    pub lon: f64,
    pub recorded_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_mps: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f32>,
}

impl From<&Position> for PositionMessage {
    fn from(position: &Position) -> Self {
        Self {
            lat: position.point.lat(),
            lon: position.point.lon(),
            recorded_at: position.recorded_at,
            speed_mps: position.speed_mps,
            heading_deg: position.heading_deg,
        }
    }
}

/// To a customer: where the courier delivering the order is. Latest wins: a slow client
/// gets the newest position and skips the ones it was too slow for.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "position")]
pub struct CustomerPosition<'a> {
    pub order_id: String,
    pub version: i64,
    #[serde(flatten)]
    pub position: &'a PositionMessage,
    /// Every point of the batch this position ends, oldest first, `[lat, lon]`, to
    /// extend the drawn path.
    pub trail: &'a [[f64; 2]],
}

/// To a customer: a message from the store or the courier (`POST /orders/{id}/notify`).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "notification")]
pub struct Notification<'a> {
    pub order_id: String,
    pub notification_id: &'a str,
    pub message: &'a str,
    pub from: &'static str,
    pub at: DateTime<Utc>,
}

/// An order as ops see it.
#[derive(Debug, Clone, Serialize)]
pub struct OpsOrder<'a> {
    pub order_id: String,
    pub version: i64,
    pub status: &'static str,
    pub store_id: &'a str,
    /// A courier of the order's store.
    pub courier_id: Option<&'a str>,
    pub destination: Point,
    pub eta: Option<&'a EtaMessage>,
}

/// To ops, first after subscribing: every active order and every courier with a known
/// position in the subscribed area.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "snapshot")]
pub struct Snapshot<'a> {
    pub orders: Vec<OpsOrder<'a>>,
    pub couriers: Vec<OpsCourier<'a>>,
}

/// To ops: an order changed.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "order")]
pub struct OpsUpdate<'a> {
    #[serde(flatten)]
    pub order: OpsOrder<'a>,
    pub changed: &'a [String],
}

/// To ops: a courier moved (latest wins per courier).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename = "courier")]
pub struct OpsCourier<'a> {
    /// Couriers belong to stores: (store_id, courier_id) names one.
    pub store_id: &'a str,
    pub courier_id: &'a str,
    /// Active orders the courier is delivering.
    pub orders: Vec<String>,
    #[serde(flatten)]
    pub position: &'a PositionMessage,
}

/// To an ops socket after a `subscribe`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "subscribed")]
pub struct Subscribed<'a> {
    pub scope: &'a Scope,
}

/// What a client may send. Customers send nothing (pings aside); ops send `subscribe`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Subscribe {
        /// The ops key, unless an `Authorization: Bearer` header carried it.
        #[serde(default)]
        key: Option<String>,
        scope: Scope,
    },
}

impl ClientMessage {
    /// Parses a client's text or binary message, strictly (unknown fields and types are
    /// errors). The scope is checked separately ([`Scope::validate`]), after the key.
    pub fn parse(text: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }
}

/// Which orders and couriers an ops socket follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
    /// Everything.
    All,
    /// Orders whose destination, and couriers whose position, lies in the box.
    Area { min_lat: f64, min_lon: f64, max_lat: f64, max_lon: f64 },
}

impl Scope {
    pub fn validate(&self) -> Result<(), &'static str> {
        match *self {
            Scope::All => Ok(()),
            Scope::Area { min_lat, min_lon, max_lat, max_lon } => {
                let lat_ok = |v: f64| (-90.0..=90.0).contains(&v);
                let lon_ok = |v: f64| (-180.0..=180.0).contains(&v);
                if !(lat_ok(min_lat) && lat_ok(max_lat) && lon_ok(min_lon) && lon_ok(max_lon)) {
                    return Err("the area's corners must be valid coordinates");
                }
                if min_lat > max_lat || min_lon > max_lon {
                    return Err("the area's minimum must not exceed its maximum");
                }
                Ok(())
            }
        }
    }

    pub fn contains(&self, point: Coordinates) -> bool {
        match *self {
            Scope::All => true,
            Scope::Area { min_lat, min_lon, max_lat, max_lon } => {
                (min_lat..=max_lat).contains(&point.lat()) && (min_lon..=max_lon).contains(&point.lon())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_frame_is_the_body_with_its_sequence_number_in_front() {
        let body = body(&Subscribed { scope: &Scope::All });
        let text = frame(7, &body);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, serde_json::json!({"seq": 7, "type": "subscribed", "scope": "all"}));
    }

    #[test]
    fn subscribe_messages_are_parsed_strictly() {
        let parse = |text: &str| ClientMessage::parse(text.as_bytes());
        let ClientMessage::Subscribe { key, scope } = parse(r#"{"type":"subscribe","scope":"all"}"#).unwrap();
        assert_eq!((key, scope), (None, Scope::All));
        let ClientMessage::Subscribe { scope, .. } = parse(
            r#"{"type":"subscribe","key":"k","scope":{"area":{"min_lat":55,"min_lon":37,"max_lat":56,"max_lon":38}}}"#,
        )
        .unwrap();
        assert!(scope.validate().is_ok());
        assert!(scope.contains(Coordinates::parse(55.7, 37.6).unwrap()));
        assert!(!scope.contains(Coordinates::parse(59.9, 30.3).unwrap()));
        assert!(parse(r#"{"type":"subscribe","scope":"all","extra":1}"#).is_err());
        assert!(parse(r#"{"type":"unsubscribe"}"#).is_err());
        let upside_down = Scope::Area { min_lat: 56.0, min_lon: 37.0, max_lat: 55.0, max_lon: 38.0 };
        assert!(upside_down.validate().is_err());
    }
}
