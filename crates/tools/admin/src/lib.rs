//! One-shot operations for a deployment: create the Kafka topics and apply (or revert)
//! the database migrations of every bounded context. The local stack, the compose
//! one-shot steps and the tests all use these. For the local stack's scripts also: the
//! search of a run's logs for secrets (`scan_logs`) and one value out of a JSON answer
//! (`json_get`).

use diesel_migrations::EmbeddedMigrations;

pub mod json_get;
pub mod kafka_acls;
pub mod scan_logs;

/// A database of the system and the migrations that shape it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Orders,
    Tracker,
    Logistics,
}

impl Database {
    pub const ALL: [Database; 3] = [Database::Orders, Database::Tracker, Database::Logistics];

    pub fn name(self) -> &'static str {
        match self {
            Database::Orders => "orders",
            Database::Tracker => "tracker",
            Database::Logistics => "logistics",
        }
    }

    pub fn migrations(self) -> EmbeddedMigrations {
        match self {
            Database::Orders => orders::MIGRATIONS,
            Database::Tracker => courier_tracker::store::MIGRATIONS,
            Database::Logistics => logistics_adapter::store::MIGRATIONS,
        }
    }
}
