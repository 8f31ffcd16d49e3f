//! The invariants checked at the end of every load run (and by `ordertrack-sim check
//! --run DIR`): what the orders database, the order topics, the customer sockets and the
//! CDEK double say must agree. `invariants.rs` holds the checks, each a pure function
//! over what was read, so a unit test can feed it a broken case; `sources.rs` reads the
//! real sources ([`gather`]). This file runs one after the other and prints the outcome.

mod invariants;
mod sources;

use std::path::PathBuf;

use super::record::RunRecord;
use invariants::{
    Gathered, Outcome, cdek_registered_once, events_follow_changes, groups_read_to_end, no_command_applied_twice,
    no_event_without_change, sockets_saw_every_status,
};
use sources::gather;

/// The most violations printed per check (all are counted).
const SHOWN: usize = 30;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The `--out` folder of a load run (its run.json).
    #[arg(long)]
    run: PathBuf,
    /// Overrides the broker the run used.
    #[arg(long)]
    brokers: Option<String>,
    /// Overrides the orders database the run used.
    #[arg(long)]
    orders_db: Option<String>,
    /// Overrides the CDEK double's base URL the run used.
    #[arg(long)]
    double: Option<String>,
}

/// `ordertrack-sim check --run DIR`: the invariants of a saved run, again.
pub async fn run(args: CheckArgs) -> anyhow::Result<bool> {
    let mut record = RunRecord::load(&args.run)?;
    if let Some(brokers) = args.brokers {
        record.brokers = brokers;
    }
    if let Some(db) = args.orders_db {
        record.orders_db = db;
    }
    if let Some(double) = args.double {
        record.double = double;
    }
    let outcomes = check_run(&record).await?;
    Ok(print(&outcomes))
}

pub async fn check_run(record: &RunRecord) -> anyhow::Result<Vec<Outcome>> {
    let gathered = gather(record).await?;
    Ok(check_all(record, &gathered))
}

/// Every invariant, against what was read.
pub fn check_all(record: &RunRecord, g: &Gathered) -> Vec<Outcome> {
    let created: Vec<String> = record.orders.iter().map(|o| o.id.clone()).collect();
    let cdek: Vec<String> = record.orders.iter().filter(|o| o.cdek).map(|o| o.id.clone()).collect();
    vec![
        events_follow_changes(&created, &g.orders, &g.events),
        no_event_without_change(&g.orders, &g.timeline, &g.events),
        sockets_saw_every_status(&record.sockets, &g.timeline),
        no_command_applied_twice(&created, &g.orders, &g.timeline),
        cdek_registered_once(&cdek, &g.orders, &g.cdek_orders),
        groups_read_to_end(&g.group_offsets),
    ]
}

/// Prints each check and its violations; answers whether all hold.
pub fn print(outcomes: &[Outcome]) -> bool {
    println!("==> invariants");
    let mut ok = true;
    for outcome in outcomes {
        let verdict = if outcome.violations.is_empty() { "ok" } else { "VIOLATED" };
        println!("    {:<8} {}: {}", verdict, outcome.name, outcome.checked);
        for violation in outcome.violations.iter().take(SHOWN) {
            println!("             - {violation}");
        }
        if outcome.violations.len() > SHOWN {
            println!("             ... and {} more", outcome.violations.len() - SHOWN);
        }
        ok &= outcome.violations.is_empty();
    }
    ok
}
