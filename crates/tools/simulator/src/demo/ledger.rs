//! The demo's book of orders: each order's id, tracking link, where it is in its journey
//! and how it ended. The summary, the exit status and the links file are read from here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use super::api::Order;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    OwnCourier,
    Cdek,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::OwnCourier => "own_courier",
            Method::Cdek => "cdek",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Method::OwnCourier => "own courier",
            Method::Cdek => "CDEK",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Active,
    Delivered,
    Failed(String),
}

/// Who set each status after the creation, from the order's timeline.
#[derive(Debug, Clone, Default)]
pub struct Setters {
    /// `(status, actor)`, oldest first.
    pub steps: Vec<(String, String)>,
}

impl Setters {
    pub fn by(&self, status: &str) -> Option<&str> {
        self.steps.iter().find(|(s, _)| s == status).map(|(_, actor)| actor.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub n: u64,
    pub id: Option<String>,
    pub method: Method,
    pub tracking_url: Option<String>,
    pub courier: Option<String>,
    /// What the demo is doing with it, in words.
    pub stage: String,
    pub status: String,
    pub planned_at: Instant,
    pub took: Option<Duration>,
    pub outcome: Outcome,
    pub setters: Setters,
    /// The demo set `picked_up` because the tracker had not.
    pub fallback: bool,
}

impl Record {
    /// `order 3 (0194…)`
    pub fn name(&self) -> String {
        match &self.id {
            Some(id) => format!("order {} ({id})", self.n),
            None => format!("order {}", self.n),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub active: usize,
    pub delivered: usize,
    pub failed: usize,
}

pub struct Ledger {
    records: Mutex<BTreeMap<u64, Record>>,
    links_file: Option<PathBuf>,
    first_link: Mutex<Option<String>>,
    last_links_json: Mutex<String>,
}

impl Ledger {
    pub fn new(links_file: Option<PathBuf>) -> Ledger {
        Ledger {
            records: Mutex::new(BTreeMap::new()),
            links_file,
            first_link: Mutex::new(None),
            last_links_json: Mutex::new(String::new()),
        }
    }

    fn records(&self) -> MutexGuard<'_, BTreeMap<u64, Record>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with(&self, n: u64, change: impl FnOnce(&mut Record)) {
        if let Some(record) = self.records().get_mut(&n) {
            change(record);
        }
    }

    pub fn plan(&self, n: u64, method: Method) {
        let record = Record {
            n,
            id: None,
            method,
            tracking_url: None,
            courier: None,
            stage: "being created".to_owned(),
            status: "-".to_owned(),
            planned_at: Instant::now(),
            took: None,
            outcome: Outcome::Active,
            setters: Setters::default(),
            fallback: false,
        };
        self.records().insert(n, record);
    }

    /// Records the created order. Answers whether its link is the first own-courier one
    /// (then it is in the links file too, or the error writing it).
    pub fn created(&self, n: u64, order: &Order) -> Option<Result<String, String>> {
        let url = order.tracking.as_ref().map(|t| t.url.clone());
        let mut method = None;
        self.with(n, |r| {
            r.id = Some(order.id.clone());
            r.status = order.status.clone();
            r.tracking_url = url.clone();
            method = Some(r.method);
        });
        let url = url.filter(|_| method == Some(Method::OwnCourier))?;
        let mut first = self.first_link.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_some() {
            return None;
        }
        *first = Some(url.clone());
        Some(match &self.links_file {
            Some(path) => write_atomically(path, &format!("{url}\n")).map(|()| url).map_err(|e| e.to_string()),
            None => Ok(url),
        })
    }

    pub fn stage(&self, n: u64, stage: impl Into<String>) {
        let stage = stage.into();
        self.with(n, |r| r.stage = stage);
    }

    pub fn status(&self, n: u64, order: &Order) {
        self.with(n, |r| r.status = order.status.clone());
    }

    pub fn courier(&self, n: u64, courier: &str) {
        self.with(n, |r| r.courier = Some(courier.to_owned()));
    }

    pub fn fallback(&self, n: u64) {
        self.with(n, |r| r.fallback = true);
    }

    /// The order is delivered; `order` is its final state, with the timeline. Answers
    /// false when the order was given up already (too late).
    pub fn delivered(&self, n: u64, order: &Order) -> bool {
        let mut done = false;
        self.with(n, |r| {
            r.status = order.status.clone();
            r.setters.steps =
                order.timeline.iter().skip(1).map(|entry| (entry.status.clone(), entry.actor.clone())).collect();
            if r.outcome == Outcome::Active {
                r.outcome = Outcome::Delivered;
                r.took = Some(r.planned_at.elapsed());
                r.stage = "delivered".to_owned();
                done = true;
            }
        });
        done
    }

    /// Gives the order up with `reason` (if it is still active); answers whether it was.
    pub fn failed(&self, n: u64, reason: impl Into<String>) -> bool {
        let reason = reason.into();
        let mut done = false;
        self.with(n, |r| {
            if r.outcome == Outcome::Active {
                r.outcome = Outcome::Failed(reason);
                done = true;
            }
        });
        done
    }

    pub fn is_active(&self, n: u64) -> bool {
        self.records().get(&n).is_some_and(|r| r.outcome == Outcome::Active)
    }

    /// Gives up the orders active for longer than `limit`; answers them, with the reason.
    pub fn expire(&self, limit: Duration) -> Vec<(Record, String)> {
        let mut expired = Vec::new();
        for record in self.records().values_mut() {
            if record.outcome == Outcome::Active && record.planned_at.elapsed() > limit {
                let reason = format!(
                    "not delivered within {} s; it was {} (status {})",
                    limit.as_secs(),
                    record.stage,
                    record.status
                );
                record.outcome = Outcome::Failed(reason.clone());
                expired.push((record.clone(), reason));
            }
        }
        expired
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for record in self.records().values() {
            match record.outcome {
                Outcome::Active => counts.active += 1,
                Outcome::Delivered => counts.delivered += 1,
                Outcome::Failed(_) => counts.failed += 1,
            }
        }
        counts
    }

    pub fn all(&self) -> Vec<Record> {
        self.records().values().cloned().collect()
    }

    /// Writes `<links file>.active.json` (the active orders' links) if it changed.
    pub fn write_active_links(&self) -> Result<(), String> {
        let Some(path) = &self.links_file else { return Ok(()) };
        let first = self.first_link.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let active: Vec<_> = self
            .records()
            .values()
            .filter(|r| r.outcome == Outcome::Active && r.id.is_some())
            .map(|r| {
                json!({
                    "n": r.n,
                    "id": r.id,
                    "delivery": r.method.as_str(),
                    "status": r.status,
                    "stage": r.stage,
                    "courier_id": r.courier,
                    "tracking_url": r.tracking_url,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&json!({ "first_tracking_url": first, "active": active }))
            .map_err(|e| e.to_string())?;
        let mut last = self.last_links_json.lock().unwrap_or_else(PoisonError::into_inner);
        if *last == text {
            return Ok(());
        }
        write_atomically(&active_links_path(path), &text).map_err(|e| e.to_string())?;
        *last = text;
        Ok(())
    }
}

/// Where the active orders' links go: `links.txt` → `links.active.json`.
pub fn active_links_path(links_file: &Path) -> PathBuf {
    links_file.with_extension("active.json")
}

/// Writes a sibling temporary file and renames it, so a reader never sees half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
