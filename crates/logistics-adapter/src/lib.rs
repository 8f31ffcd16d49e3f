//! logistics-adapter: CDEK API v2: registers shipments, receives webhooks, reconciles by polling, maps statuses.

pub mod config;
pub mod cdek;
mod routes;
mod startup;
pub mod store;

pub use config::Config;
pub use startup::Application;
