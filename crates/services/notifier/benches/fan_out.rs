//! The notifier's own path, without the broker and without the network: an encoded
//! `courier_locations` event, as the feed takes it from Kafka, decoded and applied by
//! the hub (the courier's orders, one serialization per order) into the queues of the
//! sockets that watch those orders; then each queue emptied and its messages framed
//! with the socket's `seq`, as the socket's task does before writing them.
//!
//! Shape as `scripts/dev bench notifier`: 1,000 couriers, 5 orders each, 2 sockets per
//! order, so one position becomes 10 messages. Criterion's throughput is in messages.
//!
//! cargo bench -p notifier --bench fan_out

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use domain::events::{self as pb, envelope::Payload};
use domain::ids::OrderId;
use domain::topics::Topic;
use notifier::hub::Hub;
use notifier::messages::frame;
use notifier::metrics::NotifierMetrics;
use notifier::send_queue::SendQueue;

const COURIERS: usize = 1000;
const ORDERS_PER_COURIER: usize = 5;
const SOCKETS_PER_ORDER: usize = 2;

struct Fixture {
    hub: Hub,
    /// Per courier: its encoded position event and the queues of its orders' sockets.
    couriers: Vec<(Vec<u8>, Vec<Arc<SendQueue>>)>,
}

fn fixture() -> Fixture {
    let hub = Hub::new(NotifierMetrics::new(&prometheus::Registry::new()).unwrap());
    let mut couriers = Vec::with_capacity(COURIERS);
    for c in 0..COURIERS {
        let courier = format!("bench-c{c}");
        let mut queues = Vec::new();
        for _ in 0..ORDERS_PER_COURIER {
            let id = uuid::Uuid::now_v7().to_string();
            let order = test_support::events::order(
                &id,
                pb::OrderStatus::InTransit,
                &courier,
                (55.70, 37.58),
                (55.75, 37.61),
                3,
            );
            let created = test_support::events::encode(Payload::OrderCreated(pb::OrderCreated { order: Some(order) }));
            notifier::consumers::feed::apply(&hub, Topic::OrderCreated, &created).unwrap();
            let order_id: OrderId = id.parse().unwrap();
            for _ in 0..SOCKETS_PER_ORDER {
                let queue = SendQueue::new(256);
                hub.watch_order(order_id, Arc::clone(&queue));
                queue.take(); // the hello
                queues.push(queue);
            }
        }
        let position = pb::Position {
            lat: 55.72,
            lon: 37.60,
            recorded_at: Some(domain::convert::timestamp(chrono::Utc::now())),
            accuracy_m: 5.0,
            speed_mps: Some(8.0),
            heading_deg: None,
        };
        let event = test_support::events::encode(Payload::CourierLocations(pb::CourierLocations {
            courier_id: courier,
            positions: vec![position],
            store_id: test_support::events::STORE.into(),
        }));
        couriers.push((event, queues));
    }
    Fixture { hub, couriers }
}

fn fan_out(c: &mut Criterion) {
    let fixture = fixture();
    let mut group = c.benchmark_group("notifier");
    group.throughput(Throughput::Elements((ORDERS_PER_COURIER * SOCKETS_PER_ORDER) as u64));
    let mut next = 0;
    let mut seq = 0u64;
    group.bench_function("a position to 10 sockets: decode, apply, queue, take, frame", |b| {
        b.iter(|| {
            let (event, queues) = &fixture.couriers[next % COURIERS];
            next += 1;
            notifier::consumers::feed::apply(&fixture.hub, Topic::CourierLocations, event).unwrap();
            let mut bytes = 0;
            for queue in queues {
                for body in queue.take().messages {
                    seq += 1;
                    bytes += frame(seq, &body).len();
                }
            }
            assert!(bytes > 0, "the position reached no socket");
            bytes
        });
    });
    group.finish();
}

criterion_group!(benches, fan_out);
criterion_main!(benches);
