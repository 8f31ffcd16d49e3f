//! logistics-adapter: CDEK API v2: registers shipments, receives webhooks, reconciles by polling, maps statuses.

pub mod cdek;
pub mod config;
mod routes;
mod startup;
pub mod store;

pub use config::Config;
pub use startup::Application;
