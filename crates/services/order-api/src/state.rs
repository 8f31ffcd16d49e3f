//! What the handlers share.

use orders::Orders;
use platform::Secret;

pub struct AppState {
    pub orders: Orders,
    pub tracking: TrackingSettings,
    pub pages: crate::routes::pages::Pages,
}

pub struct TrackingSettings {
    /// Signs the notifier's WebSocket tickets (the notifier holds the same secret).
    pub ticket_secret: Secret,
    pub ticket_ttl: chrono::Duration,
    /// Base of tracking links, e.g. `https://track.example.com`.
    pub public_url: String,
    /// The notifier's WebSocket URL given to tracking pages.
    pub live_url: String,
}
