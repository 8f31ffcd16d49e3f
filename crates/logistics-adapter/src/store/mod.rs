//! The logistics adapter's own tables (`migrations/logistics`), never read by another
//! service.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/logistics");
