//! The configuration of the orders context: the `[orders]` section both order services
//! read, and what the use cases are built with.

use domain::eta::TravelAssumptions;
use platform::Secret;
use platform::config::ConfigError;

use crate::saved_responses::ResponseSeal;

#[derive(Debug, Clone)]
pub struct OrdersConfig {
    /// Prefix of the topic names (empty in production).
    pub topic_prefix: String,
    /// Written into every event's envelope as its producer.
    pub producer: &'static str,
    /// How long a tracking link keeps working after the order became final.
    pub tracking_retention: chrono::Duration,
    /// For the static delivery estimate when no ETA is known.
    pub travel: TravelAssumptions,
    /// A courier position is added to an order's path when it is this far from the
    /// last point kept...
    pub track_min_distance_m: f64,
    /// ...or this much later.
    pub track_min_interval: chrono::Duration,
    /// Seals the responses saved under idempotency keys.
    pub saved_responses: ResponseSeal,
    /// How long an idempotency key holds its response (then it is pruned, and free).
    pub idempotency_key_ttl: chrono::Duration,
}

impl OrdersConfig {
    pub fn new(topic_prefix: &str, producer: &'static str, saved_responses: ResponseSeal) -> Self {
        Self {
            saved_responses,
            idempotency_key_ttl: chrono::Duration::hours(24),
            topic_prefix: topic_prefix.to_owned(),
            producer,
            tracking_retention: chrono::Duration::days(7),
            travel: TravelAssumptions::default(),
            track_min_distance_m: 25.0,
            track_min_interval: chrono::Duration::seconds(15),
        }
    }
}

/// The `[orders]` configuration section, shared by order-api and order-grpc.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersSettings {
    /// How long a tracking link keeps working after its order became final.
    pub link_retention_days: u32,
    /// How long a cached order view lives in Redis (changes invalidate it sooner).
    pub cache_ttl_secs: u64,
    /// A courier position joins an order's path when this far from the last point kept...
    pub track_min_distance_m: f64,
    /// ...or this much later.
    pub track_min_interval_secs: u64,
    /// Encrypts the responses saved under idempotency keys (they carry the order's live
    /// tracking link): 32+ random characters, the same in order-api and order-grpc.
    pub saved_response_key: Secret,
    /// The key before the last rotation: still opens what it sealed (keep it for a day,
    /// the keys' lifetime, after a rotation). Empty: none.
    pub previous_saved_response_key: Secret,
    /// How long an idempotency key holds its response; then it is free again and its row
    /// is pruned.
    pub idempotency_key_ttl_hours: u32,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        Self {
            link_retention_days: 7,
            cache_ttl_secs: 300,
            track_min_distance_m: 25.0,
            track_min_interval_secs: 15,
            saved_response_key: Secret::default(),
            previous_saved_response_key: Secret::default(),
            idempotency_key_ttl_hours: 24,
        }
    }
}

impl OrdersSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::require_at_least_one([
            ("orders.link_retention_days", u64::from(self.link_retention_days)),
            ("orders.cache_ttl_secs", self.cache_ttl_secs),
            ("orders.idempotency_key_ttl_hours", u64::from(self.idempotency_key_ttl_hours)),
        ])?;
        if self.saved_response_key.expose().len() < 32 {
            return Err(ConfigError::invalid("orders.saved_response_key", "must be at least 32 characters"));
        }
        if !self.previous_saved_response_key.is_empty() && self.previous_saved_response_key.expose().len() < 32 {
            return Err(ConfigError::invalid(
                "orders.previous_saved_response_key",
                "must be empty or at least 32 characters",
            ));
        }
        if !(self.track_min_distance_m.is_finite() && self.track_min_distance_m >= 0.0) {
            return Err(ConfigError::invalid("orders.track_min_distance_m", "must be a distance in metres, 0 or more"));
        }
        Ok(())
    }

    /// What the use cases are built with, for a service producing events as `producer`.
    pub fn use_case_config(&self, topic_prefix: &str, producer: &'static str) -> anyhow::Result<OrdersConfig> {
        let saved_responses = ResponseSeal::new(&self.saved_response_key, Some(&self.previous_saved_response_key))?;
        Ok(OrdersConfig {
            tracking_retention: chrono::Duration::days(i64::from(self.link_retention_days)),
            track_min_distance_m: self.track_min_distance_m,
            track_min_interval: chrono::Duration::seconds(
                i64::try_from(self.track_min_interval_secs).unwrap_or(i64::MAX),
            ),
            idempotency_key_ttl: chrono::Duration::hours(i64::from(self.idempotency_key_ttl_hours)),
            ..OrdersConfig::new(topic_prefix, producer, saved_responses)
        })
    }
}
