//! order-api: REST for storefronts, the public tracking endpoint and the web page.

pub mod api;
mod auth;
pub mod config;
mod routes;
mod startup;
mod state;

pub use config::Config;
pub use routes::docs::ApiDoc;
pub use startup::Application;
