//! The orders context, shared by order-api and order-grpc (two front doors of one
//! context):
//! - `use_cases/`: what both doors offer (commands, queries, the transaction boundary,
//!   the cache read-through and its invalidation);
//! - `store/`: persistence (the schema, rows, statements, the outbox and its relay, the
//!   Redis cache client) and the migrations (`migrations/orders`);
//! - `error.rs`: the context's errors and the one table of how each is answered;
//! - `context.rs`: the context wired as a front door runs it (use cases, relay, cache);
//! - `settings.rs`: the `[orders]` section; `tracking_token.rs`: the tracking links' tokens.
//!
//! No HTTP or gRPC type appears here: the front doors render and answer.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub mod context;
pub mod error;
pub mod saved_responses;
pub mod settings;
pub mod store;
pub mod tracking_token;
pub mod use_cases;

pub use context::{Connections, OrdersContext};
pub use error::OrdersError;
pub use settings::{OrdersConfig, OrdersSettings};
pub use use_cases::{
    CommandOutcome, Created, Executed, IdempotencyKey, ListFilter, OrderDetails, Orders, Page, Scope, Track,
    TrackPoint, Tracked,
};

/// The migrations of the orders database (`migrations/orders`).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../../migrations/orders");
