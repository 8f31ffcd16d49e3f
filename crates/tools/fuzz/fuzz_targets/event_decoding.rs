//! Bytes taken from a topic, decoded as every consumer decodes them
//! (`Envelope::decode_checked`), converted as the consumers convert the payloads
//! (statuses, actors, ETAs, positions, courier ids, timestamps), and applied by the
//! notifier's feed (`notifier::consumers::feed::apply`) as if read from each topic.
//!
//! Properties: never panics; a decoded envelope re-encodes to bytes that decode to the
//! same envelope (compared as bytes: NaN coordinates are not equal to themselves); what
//! the domain accepts is valid (an ETA in order, a position on the globe) and converts
//! back to what it came from.
#![no_main]

use domain::convert::{from_timestamp, timestamp};
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::ids::CourierId;
use domain::position::Position;
use domain::topics::Topic;
use libfuzzer_sys::fuzz_target;
use notifier::hub::Hub;
use notifier::metrics::NotifierMetrics;
use prost::Message;

fuzz_target!(|bytes: &[u8]| {
    // The notifier's feed first: it must refuse or apply anything, on any topic.
    let metrics = NotifierMetrics::new(&prometheus::Registry::new()).expect("metrics register");
    let hub = Hub::new(metrics);
    for topic in Topic::ALL {
        let _ = notifier::consumers::feed::apply(&hub, topic, bytes);
    }

    let Ok(envelope) = Envelope::decode_checked(bytes) else {
        return;
    };
    let encoded = envelope.encode_to_vec();
    let again = Envelope::decode_checked(&encoded).expect("a decoded envelope decodes again once re-encoded");
    assert_eq!(again.encode_to_vec(), encoded, "the envelope changed on a round trip");
    check_time(envelope.occurred_at.as_ref());

    match envelope.payload.as_ref().expect("decode_checked refuses envelopes without a payload") {
        Payload::OrderCreated(created) => check_order(created.order.as_ref()),
        Payload::OrderUpdated(updated) => {
            check_order(updated.order.as_ref());
            if let Some(entry) = &updated.transition {
                check_status(entry.status);
                check_actor(entry.actor);
                check_time(entry.at.as_ref());
            }
        }
        Payload::OrderCommand(command) => {
            check_actor(command.actor);
            match &command.command {
                Some(pb::order_command::Command::ChangeStatus(change)) => {
                    check_status(change.status);
                    check_time(change.at.as_ref());
                }
                Some(pb::order_command::Command::SetEta(set)) => check_eta(set.eta.as_ref()),
                Some(pb::order_command::Command::RecordCarrierEvent(event)) => check_time(event.at.as_ref()),
                Some(pb::order_command::Command::SetCarrierReference(_)) | None => {}
            }
        }
        Payload::CourierLocations(batch) => {
            let _ = batch.courier();
            for event in &batch.positions {
                if let Ok(position) = Position::from_event(event) {
                    assert!((-90.0..=90.0).contains(&position.point.lat()), "{position:?}");
                    assert!((-180.0..=180.0).contains(&position.point.lon()), "{position:?}");
                    assert_eq!(Position::from_event(&position.to_event()).ok(), Some(position));
                }
            }
        }
        Payload::CustomerNotification(notification) => check_actor(notification.actor),
    }
});

fn check_order(order: Option<&pb::Order>) {
    let Some(order) = order else { return };
    check_status(order.status);
    let _ = CourierId::parse(&order.courier_id);
    check_eta(order.eta.as_ref());
    check_time(order.created_at.as_ref());
    check_time(order.updated_at.as_ref());
}

fn check_status(status: i32) {
    if let Some(domain_status) = pb::OrderStatus::try_from(status).ok().and_then(pb::OrderStatus::to_domain) {
        assert_eq!(pb::OrderStatus::from(domain_status) as i32, status);
    }
}

fn check_actor(actor: i32) {
    if let Some(domain_actor) = pb::Actor::try_from(actor).ok().and_then(pb::Actor::to_domain) {
        assert_eq!(pb::Actor::from(domain_actor) as i32, actor);
    }
}

fn check_eta(eta: Option<&pb::Eta>) {
    let Some(Ok(eta)) = eta.map(pb::Eta::to_domain) else { return };
    assert!(eta.earliest() <= eta.expected_at() && eta.expected_at() <= eta.latest(), "{eta:?}");
    assert_eq!(pb::Eta::from(&eta).to_domain().ok(), Some(eta));
}

fn check_time(at: Option<&prost_types::Timestamp>) {
    if let Some(time) = from_timestamp(at) {
        assert_eq!(from_timestamp(Some(&timestamp(time))), Some(time));
    }
}
