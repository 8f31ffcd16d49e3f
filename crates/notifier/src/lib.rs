//! notifier: WebSocket push of order status, courier positions and ETA to customers and
//! ops dashboards. Kafka events come in through the [`feed`], the [`hub`] knows which
//! sockets want them, each socket's [`outbox`] holds what waits for it, and
//! [`messages`] is the wire format (documented in `docs/websocket.md`).

pub mod config;
pub mod feed;
pub mod hub;
pub mod messages;
pub mod metrics;
pub mod outbox;
mod routes;
mod startup;

pub use config::Config;
pub use routes::Refusal;
pub use startup::Application;
