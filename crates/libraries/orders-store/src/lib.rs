//! The orders bounded context, shared by order-api and order-grpc (two front doors of
//! one context): the schema and migrations, the operations both offer, the outbox and
//! its relay, idempotency keys, tracking tokens and the Redis cache of order views.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub mod cache;
pub mod error;
pub mod orders;
pub mod outbox;
mod rows;
pub mod schema;
pub mod tracking;

pub use error::StoreError;
pub use orders::{Orders, OrdersConfig, Scope};

/// The migrations of the orders database (`migrations/orders`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../../migrations/orders");
