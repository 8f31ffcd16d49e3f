//! logistics-adapter's Kafka input: `order_created` / `order_updated` ([`orders`]).

pub mod orders;
