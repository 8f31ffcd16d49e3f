//! courier-tracker: courier position ingest and filtering, latest positions in Redis,
//! live ETA and arrival detection.

mod auth;
pub mod config;
mod consumers;
pub mod ingest;
pub mod motion;
mod routes;
mod startup;
pub mod store;

pub use config::Config;
pub use routes::docs::ApiDoc;
pub use startup::Application;
