//! The `[tracking]` section, shared by order-api (which hands out tracking links and
//! WebSocket tickets) and the notifier (which checks the tickets).

use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::config::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Signs the WebSocket tickets (32+ characters); order-api and the notifier need the same.
    pub ticket_secret: Secret,
    /// How long a WebSocket ticket is valid.
    pub ticket_ttl_secs: u64,
    /// Base URL of tracking links (`<public_url>/track/<token>`).
    pub public_url: String,
    /// The notifier's WebSocket URL, handed to tracking pages.
    pub live_url: String,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            ticket_secret: Secret::default(),
            ticket_ttl_secs: 120,
            public_url: "http://127.0.0.1:8080".into(),
            live_url: "ws://127.0.0.1:8082/ws".into(),
        }
    }
}

impl TrackingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ticket_secret.expose().len() < 32 {
            return Err(ConfigError::invalid("tracking.ticket_secret", "must be at least 32 characters"));
        }
        ConfigError::require_at_least_one([("tracking.ticket_ttl_secs", self.ticket_ttl_secs)])?;
        for (key, url, schemes) in [
            ("tracking.public_url", &self.public_url, ["http://", "https://"]),
            ("tracking.live_url", &self.live_url, ["ws://", "wss://"]),
        ] {
            if !schemes.iter().any(|scheme| url.starts_with(scheme)) {
                return Err(ConfigError::invalid(key, format!("must start with {}", schemes.join(" or "))));
            }
        }
        Ok(())
    }
}
