//! The notifier's Kafka input: the [`feed`] reads the four topics it forwards.

pub mod feed;
