//! The tracker's own tables (`migrations/tracker`), never read by another service.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/tracker");
