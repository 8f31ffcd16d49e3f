//! The orders database, shared by order-api and order-grpc (two front doors of one
//! bounded context): its schema, migrations and repositories.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub mod schema;

/// The migrations of the orders database (`migrations/orders`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/orders");
