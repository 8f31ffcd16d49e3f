//! The configuration of the orders context: the `[orders]` section both order services
//! read, and what the use cases are built with.

use domain::eta::TravelAssumptions;
use platform::config::ConfigError;

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
}

impl OrdersConfig {
    pub fn new(topic_prefix: &str, producer: &'static str) -> Self {
        Self {
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
}

impl Default for OrdersSettings {
    fn default() -> Self {
        Self { link_retention_days: 7, cache_ttl_secs: 300, track_min_distance_m: 25.0, track_min_interval_secs: 15 }
    }
}

impl OrdersSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::require_at_least_one([
            ("orders.link_retention_days", u64::from(self.link_retention_days)),
            ("orders.cache_ttl_secs", self.cache_ttl_secs),
        ])?;
        if !(self.track_min_distance_m.is_finite() && self.track_min_distance_m >= 0.0) {
            return Err(ConfigError::invalid("orders.track_min_distance_m", "must be a distance in metres, 0 or more"));
        }
        Ok(())
    }

    /// What the use cases are built with, for a service producing events as `producer`.
    pub fn use_case_config(&self, topic_prefix: &str, producer: &'static str) -> OrdersConfig {
        OrdersConfig {
            tracking_retention: chrono::Duration::days(i64::from(self.link_retention_days)),
            track_min_distance_m: self.track_min_distance_m,
            track_min_interval: chrono::Duration::seconds(
                i64::try_from(self.track_min_interval_secs).unwrap_or(i64::MAX),
            ),
            ..OrdersConfig::new(topic_prefix, producer)
        }
    }
}
