//! Event types generated from `proto/events.proto`, plus the few helpers every producer
//! and consumer needs around the envelope.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/ordertrack.events.v1.rs"));
}

pub use generated::*;

use prost::Message;

/// Why a message taken from a topic is not a usable event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a protobuf envelope: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("envelope {event_id} has no payload")]
    MissingPayload { event_id: String },
}

impl Envelope {
    /// Wraps a payload in a new envelope with a fresh UUID v7 event id.
    pub fn new(producer: &str, occurred_at: prost_types::Timestamp, payload: envelope::Payload) -> Self {
        Self {
            event_id: uuid::Uuid::now_v7().to_string(),
            event_type: payload.event_type().to_owned(),
            occurred_at: Some(occurred_at),
            producer: producer.to_owned(),
            payload: Some(payload),
        }
    }

    /// Decodes an envelope and checks that it carries a payload.
    pub fn decode_checked(bytes: &[u8]) -> Result<Self, DecodeError> {
        let envelope = Self::decode(bytes)?;
        if envelope.payload.is_none() {
            return Err(DecodeError::MissingPayload { event_id: envelope.event_id });
        }
        Ok(envelope)
    }
}

impl envelope::Payload {
    /// The event type name written into the envelope, the same as the topic it belongs on.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::OrderCreated(_) => "order_created",
            Self::OrderUpdated(_) => "order_updated",
            Self::OrderCommand(_) => "order_command",
            Self::CourierLocations(_) => "courier_locations",
            Self::CustomerNotification(_) => "customer_notification",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn envelope_round_trips_through_bytes() {
        let payload = envelope::Payload::CustomerNotification(CustomerNotification {
            notification_id: "n-1".into(),
            order_id: "o-1".into(),
            message: "Your parcel is on its way".into(),
            actor: Actor::Storefront as i32,
        });
        let sent = Envelope::new("order-api", prost_types::Timestamp { seconds: 1, nanos: 0 }, payload);
        let received = Envelope::decode_checked(&sent.encode_to_vec()).unwrap();
        assert_eq!(received, sent);
        assert_eq!(received.event_type, "customer_notification");
    }

    #[test]
    fn envelope_without_payload_is_refused() {
        let empty = Envelope { event_id: "e".into(), ..Default::default() };
        assert!(matches!(Envelope::decode_checked(&empty.encode_to_vec()), Err(DecodeError::MissingPayload { .. })));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(Envelope::decode_checked(&[0xff, 0xff, 0xff]).is_err());
    }
}
