//! notifier: WebSocket push of order status, courier positions and ETA to customers and
//! ops dashboards. Kafka events come in through the [`consumers`], the [`hub`] knows
//! which sockets want them, each socket's [`send_queue`] holds what waits for it, and
//! [`messages`] is the wire format (documented in `docs/websocket.md`).

pub mod config;
pub mod consumers;
pub mod hub;
pub mod messages;
pub mod metrics;
mod routes;
pub mod send_queue;
mod startup;

pub use config::Config;
pub use routes::Refusal;
pub use startup::Application;
