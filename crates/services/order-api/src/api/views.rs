//! Response bodies. The storefront view holds personal data; the public view (for the
//! tracking link) holds none.

use chrono::{DateTime, Utc};
use domain::eta::Eta;
use domain::order::{Order, TimelineEntry};
use domain::parcel::DeliveryMethod;
use domain::position::Position;
use orders::{OrderDetails, Track, TrackPoint};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    /// The store the order belongs to: the name of the key that created it. Its couriers
    /// are this store's (a courier token names the store and the courier).
    pub store_id: String,
    pub store_order_number: String,
    #[schema(example = "created")]
    pub status: &'static str,
    pub customer: CustomerView,
    pub pickup: PlaceView,
    pub destination: PlaceView,
    pub parcels: Vec<ParcelView>,
    pub delivery: DeliveryView,
    pub courier_id: Option<String>,
    /// The carrier's reference (CDEK number) once registered.
    pub carrier_reference: Option<String>,
    pub eta: Option<EtaView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Grows by one with every change; send it as `expected_version` to change safely.
    pub version: i64,
    /// Every status the order entered, oldest first. Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub name: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceView {
    pub address: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointView {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelView {
    pub weight_grams: u32,
    pub length_cm: u32,
    pub width_cm: u32,
    pub height_cm: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub method: &'static str,
    pub cdek_tariff_code: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EtaView {
    pub expected_at: DateTime<Utc>,
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
    /// `tracker`, `cdek`, `storefront` or `estimate`.
    pub source: &'static str,
    pub computed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineView {
    pub status: &'static str,
    /// `storefront`, `courier`, `carrier` or `system`.
    pub actor: &'static str,
    pub at: DateTime<Utc>,
    pub carrier_status: Option<String>,
    pub note: Option<String>,
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PositionView {
    pub lat: f64,
    pub lon: f64,
    pub recorded_at: DateTime<Utc>,
    pub accuracy_m: f32,
    pub speed_mps: Option<f32>,
    pub heading_deg: Option<f32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PathPointView {
    pub lat: f64,
    pub lon: f64,
    pub at: DateTime<Utc>,
}

impl From<&Eta> for EtaView {
    fn from(eta: &Eta) -> Self {
        Self {
            expected_at: eta.expected_at(),
            earliest: eta.earliest(),
            latest: eta.latest(),
            source: eta.source().as_str(),
            computed_at: eta.computed_at(),
        }
    }
}

impl From<&TimelineEntry> for TimelineView {
    fn from(entry: &TimelineEntry) -> Self {
        Self {
            status: entry.status.as_str(),
            actor: entry.actor.as_str(),
            at: entry.at,
            carrier_status: entry.carrier_status.clone(),
            note: entry.note.clone(),
            version: entry.version,
        }
    }
}

impl From<&Position> for PositionView {
    fn from(p: &Position) -> Self {
        Self {
            lat: p.point.lat(),
            lon: p.point.lon(),
            recorded_at: p.recorded_at,
            accuracy_m: p.accuracy_m,
            speed_mps: p.speed_mps,
            heading_deg: p.heading_deg,
        }
    }
}

impl From<&TrackPoint> for PathPointView {
    fn from(p: &TrackPoint) -> Self {
        Self { lat: p.point.lat(), lon: p.point.lon(), at: p.recorded_at }
    }
}

impl OrderView {
    pub fn new(order: &Order, timeline: Option<&[TimelineEntry]>) -> Self {
        let place = |p: &domain::geo::Place| PlaceView {
            address: p.address().to_owned(),
            lat: p.point().lat(),
            lon: p.point().lon(),
        };
        Self {
            id: order.id.to_string(),
            store_id: order.store_id.to_string(),
            store_order_number: order.store_order_number.to_string(),
            status: order.status.as_str(),
            customer: CustomerView {
                name: order.customer.name().to_owned(),
                phone: order.customer.phone().to_owned(),
                email: order.customer.email().to_owned(),
            },
            pickup: place(&order.pickup),
            destination: place(&order.destination),
            parcels: order
                .parcels
                .iter()
                .map(|p| ParcelView {
                    weight_grams: p.weight_grams(),
                    length_cm: p.length_cm(),
                    width_cm: p.width_cm(),
                    height_cm: p.height_cm(),
                })
                .collect(),
            delivery: DeliveryView {
                method: order.delivery.as_str(),
                cdek_tariff_code: match order.delivery {
                    DeliveryMethod::Cdek { tariff_code } => Some(tariff_code),
                    DeliveryMethod::OwnCourier => None,
                },
            },
            courier_id: order.courier_id.as_ref().map(ToString::to_string),
            carrier_reference: order.carrier_reference.clone(),
            eta: order.eta.as_ref().map(EtaView::from),
            created_at: order.created_at,
            updated_at: order.updated_at,
            version: order.version,
            timeline: timeline.map(|entries| entries.iter().map(TimelineView::from).collect()),
        }
    }

    pub fn of(details: &OrderDetails) -> Self {
        Self::new(&details.order, Some(&details.timeline))
    }
}

/// `POST /orders` answer: the order and its tracking link.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedView {
    #[serde(flatten)]
    pub order: OrderView,
    pub tracking: TrackingLinkView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingLinkView {
    /// Give this to the customer; it is shown only once.
    pub token: String,
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListView {
    pub items: Vec<OrderView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusView {
    pub order_id: String,
    pub status: &'static str,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    /// The change that brought the order into this status.
    pub since: Option<TimelineView>,
}

impl StatusView {
    pub fn of(details: &OrderDetails) -> Self {
        Self {
            order_id: details.order.id.to_string(),
            status: details.order.status.as_str(),
            version: details.order.version,
            updated_at: details.order.updated_at,
            since: details.timeline.last().map(TimelineView::from),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackView {
    pub order_id: String,
    pub status: &'static str,
    pub courier_id: Option<String>,
    /// The courier's last known position while the order is on its way.
    pub courier_position: Option<PositionView>,
    /// The courier's path for this order so far, oldest first (downsampled).
    pub path: Vec<PathPointView>,
    pub timeline: Vec<TimelineView>,
}

impl TrackView {
    pub fn of(track: &Track) -> Self {
        let order = &track.details.order;
        Self {
            order_id: order.id.to_string(),
            status: order.status.as_str(),
            courier_id: order.courier_id.as_ref().map(ToString::to_string),
            courier_position: track.courier_position.as_ref().map(PositionView::from),
            path: track.path.iter().map(PathPointView::from).collect(),
            timeline: track.details.timeline.iter().map(TimelineView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryTimeView {
    pub order_id: String,
    pub status: &'static str,
    /// The latest ETA (from the courier tracker or CDEK), else a static estimate from
    /// the distance (`source: estimate`); null when neither applies (final orders, CDEK
    /// orders not yet priced).
    pub eta: Option<EtaView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourierLocationView {
    pub courier_id: String,
    #[serde(flatten)]
    pub position: PositionView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub notification_id: String,
}

/// What the tracking link shows: no names, phones, emails or addresses.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicOrderView {
    pub status: &'static str,
    /// Grows with every change; a client that missed one refetches this view.
    pub version: i64,
    pub delivery_method: &'static str,
    pub timeline: Vec<PublicTimelineView>,
    pub eta: Option<EtaView>,
    /// Where the parcel goes (for the map), without the address.
    pub destination: PointView,
    pub courier_position: Option<PositionView>,
    pub path: Vec<PathPointView>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicTimelineView {
    pub status: &'static str,
    pub at: DateTime<Utc>,
    /// The carrier's own status code and its text (`"SENT_TO_RECIPIENT_CITY"`, `"On its way
    /// to your city, Санкт-Петербург"`), on entries a carrier caused; other notes are not
    /// shown on the public page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_note: Option<String>,
}

impl PublicTimelineView {
    fn of(entry: &domain::order::TimelineEntry) -> Self {
        let (carrier_status, carrier_note) = domain::order::carrier_words_shown(
            entry.actor == domain::status::Actor::Carrier,
            entry.carrier_status.as_deref(),
            entry.note.as_deref(),
        );
        Self { status: entry.status.as_str(), at: entry.at, carrier_status, carrier_note }
    }
}

impl PublicOrderView {
    pub fn of(track: &Track) -> Self {
        let order = &track.details.order;
        Self {
            status: order.status.as_str(),
            version: order.version,
            delivery_method: order.delivery.as_str(),
            timeline: track.details.timeline.iter().map(PublicTimelineView::of).collect(),
            eta: order.eta.as_ref().map(EtaView::from),
            destination: PointView { lat: order.destination.point().lat(), lon: order.destination.point().lon() },
            courier_position: track.courier_position.as_ref().map(PositionView::from),
            path: track.path.iter().map(PathPointView::from).collect(),
            updated_at: order.updated_at,
        }
    }
}

/// How to follow the order live.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveView {
    /// The notifier's WebSocket URL.
    pub url: String,
    /// Send as `?ticket=`; valid until `expires_at`, for this order only.
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// `GET /track/{token}`: the public view and a ticket for the live feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingPageView {
    pub order: PublicOrderView,
    pub live: LiveView,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use domain::order::TimelineEntry;
    use domain::status::{Actor, OrderStatus};

    use super::PublicTimelineView;

    #[test]
    fn the_public_timeline_shows_a_carriers_words_and_no_one_elses() {
        let entry = |actor, note: &str| TimelineEntry {
            status: OrderStatus::InTransit,
            actor,
            at: chrono::Utc::now(),
            carrier_status: Some("SENT_TO_RECIPIENT_CITY".into()),
            note: Some(note.into()),
            version: 4,
        };
        let carrier = serde_json::to_value(PublicTimelineView::of(&entry(Actor::Carrier, "On its way"))).unwrap();
        assert_eq!(carrier["carrier_status"], "SENT_TO_RECIPIENT_CITY");
        assert_eq!(carrier["carrier_note"], "On its way");
        let storefront =
            serde_json::to_value(PublicTimelineView::of(&entry(Actor::Storefront, "call Anna at +7916"))).unwrap();
        assert!(storefront.get("carrier_note").is_none() && storefront.get("carrier_status").is_none());
    }
}
