//! logistics-adapter: ships ordertrack's CDEK orders through CDEK API v2.
//!
//! - [`consumers`]: `order_created` / `order_updated` → shipments to register or cancel.
//! - [`worker`]: registers each order exactly once, follows it (registration result,
//!   statuses, reconciliation polls), cancels it, and sends `order_commands`.
//! - `routes`: `POST /webhooks/cdek/{secret}`, recorded in the inbox, then read back.
//! - [`inbox`]: the inbox's retention (old webhooks deleted).
//! - [`subscription`]: the start-up webhook subscription.
//! - [`cdek`]: the API client, its bodies and errors, and the status table.
//! - [`commands`] / [`registration`]: what is sent to ordertrack and to CDEK.
//! - [`store`]: the adapter's own tables.

pub mod cdek;
pub mod commands;
pub mod config;
pub mod consumers;
pub mod inbox;
pub mod registration;
mod routes;
mod startup;
pub mod store;
pub mod subscription;
pub mod worker;

pub use config::Config;
pub use startup::Application;
