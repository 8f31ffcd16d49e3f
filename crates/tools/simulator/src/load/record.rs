//! What a load run saves in `--out` (`run.json`) so that `ordertrack-sim check --run DIR`
//! can check the invariants again later (after the fault script did its worst).

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The run: where the stack is, and what it did that the invariants need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// Every order's store number is `load-<tag>-<n>`; courier ids are `load-<tag>-c<n>`.
    pub tag: String,
    pub started_at: DateTime<Utc>,
    pub brokers: String,
    pub topic_prefix: String,
    pub orders_db: String,
    pub double: String,
    pub orders: Vec<OrderRecord>,
    pub sockets: Vec<SocketRecord>,
}

/// An order the run created (it got the create answer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderRecord {
    pub id: String,
    pub number: String,
    pub cdek: bool,
    /// `delivered`, `cancelled`, or what stopped it (`gave up: ...`).
    pub outcome: String,
}

/// One customer socket (kept across its reconnects) and what it was shown.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SocketRecord {
    pub order_id: String,
    /// Statuses the socket received (`hello`, `update`).
    pub received: Vec<String>,
    /// Statuses shown by a refetch of `GET /track/{token}` (its timeline), each made after a
    /// gap marker: the socket's opening, a `seq` or `version` gap, or a closed socket.
    pub refetched: Vec<String>,
    pub gaps: u64,
    pub reconnects: u64,
    pub refetches: u64,
}

impl RunRecord {
    pub fn number_prefix(&self) -> String {
        number_prefix(&self.tag)
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("run.json");
        std::fs::write(&path, serde_json::to_vec(self)?).with_context(|| format!("writing {}", path.display()))
    }

    pub fn load(dir: &Path) -> anyhow::Result<RunRecord> {
        let path = dir.join("run.json");
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not a load run's record", path.display()))
    }
}

pub fn number_prefix(tag: &str) -> String {
    format!("load-{tag}-")
}
