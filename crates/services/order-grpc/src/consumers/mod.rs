//! order-grpc's Kafka consumers (group `kafka.consumer_group`): commands from other
//! services, and courier positions for the last-position and path read model.

pub mod commands;
pub mod locations;

/// The payload of a message, or a rejection for an empty one.
fn payload(message: &rdkafka::message::OwnedMessage) -> Result<&[u8], platform::kafka::HandleError> {
    use rdkafka::message::Message;
    message.payload().ok_or_else(|| platform::kafka::HandleError::Reject(anyhow::anyhow!("the message has no payload")))
}
