//! Events as the services publish them, for tests that feed a service through Kafka.

use chrono::Utc;
use domain::convert::timestamp;
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::topics::Topic;
use platform::kafka::KafkaConfig;
use prost::Message as _;

/// The store of [`order`]'s orders (couriers belong to stores: give a courier's positions
/// this store to reach them).
pub const STORE: &str = "shop";

/// An own-courier order of [`STORE`]: pickup and destination points, status, courier,
/// version.
pub fn order(
    id: &str,
    status: pb::OrderStatus,
    courier: &str,
    pickup: (f64, f64),
    destination: (f64, f64),
    version: i64,
) -> pb::Order {
    let place = |(lat, lon): (f64, f64)| {
        Some(pb::Place { address: "somewhere".into(), point: Some(pb::GeoPoint { lat, lon }) })
    };
    pb::Order {
        id: id.to_owned(),
        store_id: STORE.into(),
        store_order_number: "T-1".into(),
        pickup: place(pickup),
        destination: place(destination),
        delivery: Some(pb::Delivery { method: pb::DeliveryMethod::OwnCourier as i32, cdek_tariff_code: 0 }),
        status: status as i32,
        courier_id: courier.to_owned(),
        version,
        ..Default::default()
    }
}

/// An event as it goes on a topic.
pub fn encode(payload: Payload) -> Vec<u8> {
    Envelope::new("test", timestamp(Utc::now()), payload).encode_to_vec()
}

/// Publishes `payload` to `topic` under `key` (with a producer of its own).
pub async fn publish(kafka: &KafkaConfig, topic: Topic, key: &str, payload: Payload) {
    let producer = platform::kafka::producer(kafka, "test").expect("a producer");
    platform::kafka::publish(&producer, &kafka.topic(topic), key, &encode(payload)).await.expect("published");
}

/// Publishes an order event as the orders service would: `order_created` for version 1,
/// else `order_updated` with what changed and, when the status changed, its timeline entry.
pub async fn publish_order(kafka: &KafkaConfig, order: &pb::Order, changed: &[&str]) {
    if order.version == 1 {
        publish(
            kafka,
            Topic::OrderCreated,
            &order.id,
            Payload::OrderCreated(pb::OrderCreated { order: Some(order.clone()) }),
        )
        .await;
        return;
    }
    let transition = changed.contains(&"status").then(|| pb::TimelineEntry {
        status: order.status,
        actor: pb::Actor::Storefront as i32,
        at: Some(timestamp(Utc::now())),
        ..Default::default()
    });
    let updated = pb::OrderUpdated {
        order: Some(order.clone()),
        changed: changed.iter().map(|c| (*c).to_owned()).collect(),
        transition,
        previous_courier_id: String::new(),
    };
    publish(kafka, Topic::OrderUpdated, &order.id, Payload::OrderUpdated(updated)).await;
}

/// Publishes a batch of the positions (oldest first) of `store`'s courier, as the tracker
/// would.
pub async fn publish_positions(kafka: &KafkaConfig, store: &str, courier: &str, points: &[(f64, f64)]) {
    let now = Utc::now();
    let count = points.len() as i64;
    let positions = points
        .iter()
        .enumerate()
        .map(|(n, (lat, lon))| pb::Position {
            lat: *lat,
            lon: *lon,
            recorded_at: Some(timestamp(now - chrono::Duration::seconds(count - n as i64))),
            accuracy_m: 5.0,
            speed_mps: Some(8.0),
            heading_deg: None,
        })
        .collect();
    let batch = pb::CourierLocations { courier_id: courier.to_owned(), positions, store_id: store.to_owned() };
    publish(kafka, Topic::CourierLocations, &format!("{store}/{courier}"), Payload::CourierLocations(batch)).await;
}
