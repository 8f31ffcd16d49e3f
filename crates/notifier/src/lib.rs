//! notifier: WebSocket push of order status, courier positions and ETA to customers and ops dashboards.

pub mod config;
mod routes;
mod startup;

pub use config::Config;
pub use startup::Application;
