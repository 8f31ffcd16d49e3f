//! order-api: REST for storefronts, the public tracking endpoint and the web page.

pub mod config;
mod routes;
mod startup;

pub use config::Config;
pub use startup::Application;
