//! courier-tracker: courier position ingest and filtering, latest positions, ETA and arrival detection.

pub mod config;
mod routes;
mod startup;
pub mod store;

pub use config::Config;
pub use startup::Application;
