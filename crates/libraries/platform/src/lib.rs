//! What every ordertrack service needs around its business logic. Each module holds
//! one concern and its configuration section.

pub mod api_error;
pub mod config;
pub mod errors;
pub mod http;
pub mod json_body;
pub mod kafka;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod openapi;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
pub mod postgres_tls;
pub mod readiness;
#[cfg(feature = "redis")]
pub mod redis;
pub mod secret;
pub mod service;
pub mod supervisor;
pub mod tracking;

pub use secret::Secret;
