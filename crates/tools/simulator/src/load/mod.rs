//! `ordertrack-sim load`: the whole local stack under load (issue 9). Thousands of couriers
//! post positions to the tracker; orders are created over REST, assigned, moved along and
//! delivered (a share shipped with CDEK and moved along at the double); customers watch
//! each order over the notifier's WebSocket; cached reads run beside. Errors (a service
//! killed, the broker stopped, ...) are retried and counted, never fatal. After
//! `--duration` (or SIGTERM) it stops generating, drains (every created order ends
//! delivered or cancelled), checks the invariants (`check/`), prints and writes the
//! report, and exits 0 only if every invariant holds. docs/load-and-faults.md explains it.

mod check;
mod couriers;
mod floor;
mod metrics;
mod orders;
mod record;
mod sockets;
mod stages;
mod sweep;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use check::{CheckArgs, run as check};
use metrics::{Count, Measure, Metrics};
use record::{OrderRecord, RunRecord, SocketRecord};

use crate::demo::api::Stack;

#[derive(clap::Args, Clone)]
pub struct LoadArgs {
    /// order-api's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api: String,
    /// courier-tracker's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    tracker: String,
    /// The notifier's WebSocket base (`/ws?ticket=` is added).
    #[arg(long, default_value = "ws://127.0.0.1:8082")]
    notifier: String,
    /// order-grpc's HTTP base: its `/metrics` has its outbox relay's histogram (the
    /// status path's stages).
    #[arg(long, default_value = "http://127.0.0.1:8084")]
    order_grpc_http: String,
    /// The CDEK double's base URL (its /control endpoints play CDEK).
    #[arg(long, default_value = "http://127.0.0.1:8085")]
    double: String,
    /// A storefront API key.
    #[arg(long, env = "ORDERTRACK_LOAD_KEY", hide_env_values = true)]
    key: String,
    /// The store the key belongs to (its name in order-api's `auth.storefront_keys`): the
    /// couriers are this store's, and their tokens say so.
    #[arg(long, default_value = "demo_shop")]
    store: String,
    /// Signs the couriers' tokens (the tracker's `couriers.token_secret`).
    #[arg(long, env = "ORDERTRACK_COURIERS__TOKEN_SECRET", hide_env_values = true)]
    token_secret: String,
    /// The orders database (read by the invariant checks).
    /// Over TLS, checked against the local stack's CA (run from the checkout).
    #[arg(
        long,
        default_value = "postgres://ordertrack:ordertrack@127.0.0.1:55432/ordertrack?sslmode=verify-full&sslrootcert=.state/tls/ca.crt"
    )]
    orders_db: String,
    /// The Kafka brokers (the checks read order_created and order_updated from the start).
    #[arg(long, default_value = "127.0.0.1:59092")]
    brokers: String,
    /// The stack's topic prefix (empty for the dev stack).
    #[arg(long, default_value = "")]
    topic_prefix: String,
    /// Seconds of generating load.
    #[arg(long, default_value_t = 300)]
    duration: u64,
    /// After that, at most this long for the orders in flight to end (delivered or cancelled).
    #[arg(long, default_value_t = 180)]
    drain_secs: u64,
    /// Couriers posting positions (`load-<tag>-c<n>`).
    #[arg(long, default_value_t = 2000)]
    couriers: usize,
    /// Each courier posts a batch this often (seconds).
    #[arg(long, default_value_t = 2.0)]
    every_secs: f64,
    /// Points per batch (spread over --every-secs).
    #[arg(long, default_value_t = 2)]
    batch: usize,
    /// New orders per second.
    #[arg(long, default_value_t = 20.0)]
    orders_per_sec: f64,
    /// The fraction of orders shipped with CDEK (0 to 1).
    #[arg(long, default_value_t = 0.1)]
    cdek_share: f64,
    /// Customer sockets per order.
    #[arg(long, default_value_t = 2)]
    sockets_per_order: usize,
    /// Pause between two steps of an order (seconds, ±50 %; the same while draining). An
    /// own-courier order lives about 5 of them, so about orders-per-sec × 5 × step-secs
    /// couriers are busy (their positions go to sockets).
    #[arg(long, default_value_t = 10.0)]
    step_secs: f64,
    /// Cached reads (`GET /orders/{id}` of a known order) per second.
    #[arg(long, default_value_t = 50.0)]
    reads_per_sec: f64,
    /// Where run.json, report.json and report.html go.
    #[arg(long, default_value = "target/load")]
    out: PathBuf,
    /// Makes the CDEK choice and the pauses the same from run to run.
    #[arg(long)]
    seed: Option<u64>,
    /// Step the offered positions/s through these rates (comma-separated), one whole run
    /// each (--couriers is set from the rate, --every-secs and --batch stay), and report
    /// the knee: the highest rate whose position ingest -> socket p99 stays within 50 ms.
    /// Each step's run goes to <out>/sweep-<rate>; the table to <out>/sweep.json and sweep.html.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<f64>,
}

impl LoadArgs {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.duration > 0, "--duration must be at least 1");
        anyhow::ensure!((1..=100_000).contains(&self.couriers), "--couriers must be 1 to 100000");
        anyhow::ensure!((1..=100).contains(&self.batch), "--batch must be 1 to 100 (the tracker's limit)");
        anyhow::ensure!(
            self.every_secs.is_finite() && self.every_secs / self.batch as f64 >= 0.1 && self.every_secs <= 60.0,
            "--every-secs must be at most 60 and at least 0.1 s per point of a batch (the tracker refuses faster jumps)"
        );
        anyhow::ensure!(
            self.orders_per_sec.is_finite() && self.orders_per_sec > 0.0 && self.orders_per_sec <= 1000.0,
            "--orders-per-sec must be in (0, 1000]"
        );
        anyhow::ensure!((0.0..=1.0).contains(&self.cdek_share), "--cdek-share must be between 0 and 1");
        anyhow::ensure!(self.sockets_per_order <= 100, "--sockets-per-order must be at most 100");
        anyhow::ensure!(self.step_secs.is_finite() && self.step_secs >= 0.0, "--step-secs must be 0 or more");
        anyhow::ensure!(
            self.reads_per_sec.is_finite() && self.reads_per_sec >= 0.0,
            "--reads-per-sec must be 0 or more"
        );
        anyhow::ensure!(!self.token_secret.is_empty(), "--token-secret is empty");
        Ok(())
    }
}

pub struct Settings {
    pub tag: String,
    pub notifier: String,
    pub token_secret: String,
    pub couriers: usize,
    pub every_secs: f64,
    pub batch: usize,
    pub sockets_per_order: usize,
    pub step_secs: f64,
}

/// Where the run is: generating, then draining until a deadline, then finished.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Generating,
    Draining(tokio::time::Instant),
    Finished,
}

/// What every task of the run shares.
pub struct Load {
    pub stack: Stack,
    pub settings: Settings,
    pub metrics: Metrics,
    pub sent: couriers::Sent,
    phase: watch::Receiver<Phase>,
    /// Order → its courier (index), for the position latency.
    couriers_of: Mutex<HashMap<String, usize>>,
    /// (order, status) → when the change was first asked for.
    status_sent: Mutex<HashMap<(String, String), (Instant, Measure)>>,
    /// Every created order's id, for the cached reads.
    known: Mutex<Vec<String>>,
    sockets: Mutex<Vec<SocketRecord>>,
    quiet: bool,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Load {
    fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub fn generating(&self) -> bool {
        self.phase() == Phase::Generating
    }

    /// The drain is over (or the run finished): nothing waits or retries any more.
    pub fn past_deadline(&self) -> bool {
        match self.phase() {
            Phase::Generating => false,
            Phase::Draining(until) => tokio::time::Instant::now() >= until,
            Phase::Finished => true,
        }
    }

    pub fn finished(&self) -> bool {
        self.phase() == Phase::Finished || self.past_deadline()
    }

    /// Returns when the drain's deadline passes.
    pub async fn wait_deadline(&self) {
        let mut phase = self.phase.clone();
        loop {
            let current = *phase.borrow_and_update();
            match current {
                Phase::Finished => return,
                Phase::Draining(until) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => return,
                        changed = phase.changed() => {
                            if changed.is_err() {
                                return;
                            }
                        }
                    }
                }
                Phase::Generating => {
                    if phase.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Sleeps, but not past the drain's deadline.
    pub async fn sleep(&self, duration: Duration) {
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = self.wait_deadline() => {}
        }
    }

    /// The pause between two steps of an order: `--step-secs` ±50 %, while generating
    /// and while draining alike. Hurrying the orders in flight to their end once the
    /// drain starts would send their remaining steps in one burst, tens of times the
    /// offered rate, and the run's latencies would measure that burst.
    pub async fn pause(&self) {
        let secs = self.settings.step_secs * rand::rng().random_range(0.5..1.5);
        self.sleep(Duration::from_secs_f64(secs)).await;
    }

    pub fn log(&self, line: String) {
        if !self.quiet {
            println!("    [{:>5.0}s] {line}", self.metrics.elapsed().as_secs_f64());
        }
    }

    pub fn remember(&self, id: &str) {
        locked(&self.known).push(id.to_owned());
    }

    pub fn set_courier(&self, order: &str, courier: usize) {
        locked(&self.couriers_of).insert(order.to_owned(), courier);
    }

    pub fn courier_of(&self, order: &str) -> Option<usize> {
        locked(&self.couriers_of).get(order).copied()
    }

    /// Notes when `status` was first asked for, and how (`Status`: a request to ordertrack;
    /// `CarrierStatus`: a CDEK status at the double).
    pub fn mark_status(&self, order: &str, status: &str, path: Measure) {
        locked(&self.status_sent)
            .entry((order.to_owned(), status.to_owned()))
            .or_insert_with(|| (Instant::now(), path));
    }

    pub fn status_sent(&self, order: &str, status: &str) -> Option<(Instant, Measure)> {
        locked(&self.status_sent).get(&(order.to_owned(), status.to_owned())).copied()
    }

    pub fn record_socket(&self, record: SocketRecord) {
        locked(&self.sockets).push(record);
    }
}

pub async fn run(args: LoadArgs) -> anyhow::Result<bool> {
    if args.sweep.is_empty() { Ok(run_once(&args).await?.0) } else { sweep::run(args).await }
}

/// One whole run: whether it passed, and its report.
async fn run_once(args: &LoadArgs) -> anyhow::Result<(bool, serde_json::Value)> {
    args.check()?;
    let seed = args.seed.unwrap_or_else(|| rand::rng().random_range(0..1_000_000));
    let tag: String = uuid::Uuid::new_v4().simple().to_string().chars().take(8).collect();
    let (phase_tx, phase) = watch::channel(Phase::Generating);
    let start = Instant::now();
    let started_at = chrono::Utc::now();
    let quiet = !std::io::stdout().is_terminal();
    let load = Arc::new(Load {
        stack: Stack::new(&args.api, &args.key, &args.store, &args.tracker, &args.double)?,
        settings: Settings {
            tag: tag.clone(),
            notifier: args.notifier.trim_end_matches('/').to_owned(),
            token_secret: args.token_secret.clone(),
            couriers: args.couriers,
            every_secs: args.every_secs,
            batch: args.batch,
            sockets_per_order: args.sockets_per_order,
            step_secs: args.step_secs,
        },
        metrics: Metrics::new(start),
        sent: couriers::Sent::default(),
        phase,
        couriers_of: Mutex::new(HashMap::new()),
        status_sent: Mutex::new(HashMap::new()),
        known: Mutex::new(Vec::new()),
        sockets: Mutex::new(Vec::new()),
        quiet,
    });
    let offered = args.couriers as f64 * args.batch as f64 / args.every_secs;
    println!("==> load run {tag} against {} (seed {seed})", args.api);
    println!(
        "    {} couriers × {} points every {} s = {offered:.0} positions/s offered; {} orders/s ({:.0} % CDEK), {} sockets each, step {} s; {} cached reads/s",
        args.couriers,
        args.batch,
        args.every_secs,
        args.orders_per_sec,
        args.cdek_share * 100.0,
        args.sockets_per_order,
        args.step_secs,
        args.reads_per_sec
    );
    println!(
        "    generating for {} s, then draining for at most {} s; report in {}",
        args.duration,
        args.drain_secs,
        args.out.display()
    );
    load.stack.check(args.cdek_share > 0.0).await?;

    let mut background = JoinSet::new();
    background.spawn(floor::run(Arc::clone(&load), args.brokers.clone(), args.topic_prefix.clone()));
    let cores_before = crate::bench::cpu::Snapshot::take();
    let stage_sources = stages::Sources {
        order_api: args.api.trim_end_matches('/').to_owned(),
        relays: vec![args.api.trim_end_matches('/').to_owned(), args.order_grpc_http.trim_end_matches('/').to_owned()],
        tracker: args.tracker.trim_end_matches('/').to_owned(),
        notifier: args.notifier.trim_end_matches('/').replacen("ws", "http", 1),
    };
    let scraper = reqwest::Client::new();
    let stages_before = stages::Snapshot::take(&scraper, &stage_sources).await;
    for n in 0..args.couriers {
        background.spawn(couriers::run(Arc::clone(&load), n));
    }
    if args.reads_per_sec > 0.0 {
        background.spawn(reads(Arc::clone(&load), args.reads_per_sec));
    }
    let creator = tokio::spawn(create_orders(Arc::clone(&load), args.orders_per_sec, args.cdek_share, seed));

    // Generating: progress until --duration or a signal.
    let generate_until = tokio::time::Instant::now() + Duration::from_secs(args.duration);
    let mut signal = std::pin::pin!(crate::demo::stop_signal());
    let progress = (!quiet).then(|| crate::bench::bar(args.duration, "generating load")).transpose()?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_line = Instant::now();
    let stopped_by = loop {
        tokio::select! {
            () = tokio::time::sleep_until(generate_until) => break None,
            name = &mut signal => break Some(name),
            _ = tick.tick() => {}
        }
        load.sent.prune();
        if let Some(bar) = &progress {
            bar.set_position(load.metrics.elapsed().as_secs().min(args.duration));
            bar.set_message(progress_line(&load));
        } else if last_line.elapsed() >= Duration::from_secs(5) {
            last_line = Instant::now();
            println!("progress: {:>5.0}s generating {}", load.metrics.elapsed().as_secs_f64(), progress_line(&load));
        }
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let generating_secs = load.metrics.elapsed().as_secs_f64();
    let cores = cores_before.shares_since();
    let stages = stages::Snapshot::take(&scraper, &stage_sources).await.since(&stages_before);
    if let Some(name) = stopped_by {
        println!("    {name}: stopped generating after {generating_secs:.0} s");
    }

    // Draining: no new orders; the ones in flight go on, fast, until they end or the deadline.
    let drain_until = tokio::time::Instant::now() + Duration::from_secs(args.drain_secs);
    let _ = phase_tx.send(Phase::Draining(drain_until));
    println!("==> draining (at most {} s): the orders in flight go on to their end", args.drain_secs);
    let mut players = creator.await.unwrap_or_default();
    let mut orders: Vec<OrderRecord> = Vec::new();
    let mut last_line = Instant::now();
    loop {
        tokio::select! {
            joined = players.join_next() => match joined {
                Some(Ok(Some(order))) => orders.push(order),
                Some(_) => {}
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                load.sent.prune();
                if last_line.elapsed() >= Duration::from_secs(5) {
                    last_line = Instant::now();
                    println!("progress: {:>5.0}s draining, {} orders in flight {}", load.metrics.elapsed().as_secs_f64(), players.len(), progress_line(&load));
                }
            }
        }
    }
    let _ = phase_tx.send(Phase::Finished);
    background.shutdown().await;

    let record = RunRecord {
        tag: tag.clone(),
        started_at,
        brokers: args.brokers.clone(),
        topic_prefix: args.topic_prefix.clone(),
        orders_db: args.orders_db.clone(),
        double: args.double.clone(),
        orders,
        sockets: std::mem::take(&mut *locked(&load.sockets)),
    };
    record.save(&args.out)?;
    let unfinished: Vec<&OrderRecord> =
        record.orders.iter().filter(|o| o.outcome != "delivered" && o.outcome != "cancelled").collect();
    println!(
        "    {} orders created: {} delivered, {} cancelled, {} not ended",
        record.orders.len(),
        record.orders.iter().filter(|o| o.outcome == "delivered").count(),
        record.orders.iter().filter(|o| o.outcome == "cancelled").count(),
        unfinished.len()
    );
    for order in unfinished.iter().take(30) {
        println!("      - order {} ({}): {}", order.id, order.number, order.outcome);
    }

    let outcomes = check::check_run(&record).await;
    let (holds, invariants) = match &outcomes {
        Ok(outcomes) => {
            let holds = check::print(outcomes);
            let list: Vec<_> = outcomes
                .iter()
                .map(|o| json!({ "name": o.name, "checked": o.checked, "violations": o.violations }))
                .collect();
            (holds, json!(list))
        }
        Err(error) => {
            println!("==> invariants\n    could not be checked: {error:#}");
            (false, json!({ "error": format!("{error:#}") }))
        }
    };
    let settings = json!({
        "tag": tag, "seed": seed, "api": args.api, "tracker": args.tracker, "notifier": args.notifier,
        "double": args.double, "duration": args.duration, "drain_secs": args.drain_secs, "couriers": args.couriers,
        "every_secs": args.every_secs, "batch": args.batch, "orders_per_sec": args.orders_per_sec,
        "cdek_share": args.cdek_share, "sockets_per_order": args.sockets_per_order, "step_secs": args.step_secs,
        "reads_per_sec": args.reads_per_sec, "positions_per_second_offered": offered,
    });
    let mut report = load.metrics.report(settings, generating_secs, Some(invariants), json!(cores));
    metrics::print_report(&report);
    stages::print(&stages);
    if let Some(fields) = report.as_object_mut() {
        fields.insert("stages".into(), stages);
    }
    metrics::write_report(&args.out, &report)?;

    let progress_made = load.metrics.get(Count::OrdersDelivered) > 0 && load.metrics.get(Count::PositionsAtSockets) > 0;
    if !progress_made {
        println!("    FAILED: no progress (no order delivered or no position reached a socket)");
    }
    if !unfinished.is_empty() {
        println!("    FAILED: {} orders neither delivered nor cancelled by the end of the drain", unfinished.len());
    }
    Ok((holds && progress_made && unfinished.is_empty(), report))
}

fn progress_line(load: &Load) -> String {
    let (positions, position_p99, status_p99) = load.metrics.recent(5);
    format!(
        "orders {} created {} delivered | sockets {} open | {:.0} positions/s at sockets, p99 {:.0} ms | status p99 {:.0} ms | {} errors",
        load.metrics.get(Count::OrdersCreated),
        load.metrics.get(Count::OrdersDelivered),
        load.metrics.open_sockets.load(Ordering::Relaxed),
        positions,
        position_p99,
        status_p99,
        load.metrics.errors_total()
    )
}

/// Starts orders at `rate` a second (open loop) until the run stops generating.
async fn create_orders(load: Arc<Load>, rate: f64, cdek_share: f64, seed: u64) -> JoinSet<Option<OrderRecord>> {
    let mut players = JoinSet::new();
    let start = tokio::time::Instant::now();
    let mut n = 0u64;
    while load.generating() {
        let at = start + Duration::from_secs_f64(n as f64 / rate);
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            () = stopped_generating(&load) => break,
        }
        if !load.generating() {
            break;
        }
        let cdek = is_cdek(seed, n, cdek_share);
        players.spawn(orders::run(Arc::clone(&load), n, cdek));
        n += 1;
    }
    players
}

async fn stopped_generating(load: &Load) {
    let mut phase = load.phase.clone();
    let _ = phase.wait_for(|p| *p != Phase::Generating).await;
}

/// Whether order `n` goes with CDEK: an even spread of `share`, shifted by the seed.
fn is_cdek(seed: u64, n: u64, share: f64) -> bool {
    let shift = (seed % 1000) as f64 / 1000.0;
    let at = |k: u64| (k as f64 * share + shift).floor();
    at(n + 1) > at(n)
}

/// Cached reads of known orders at `rate` a second (open loop).
async fn reads(load: Arc<Load>, rate: f64) {
    let start = tokio::time::Instant::now();
    let mut n = 0u64;
    while !load.finished() {
        tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / rate)).await;
        n += 1;
        let id = {
            let known = locked(&load.known);
            if known.is_empty() {
                continue;
            }
            known.get(rand::rng().random_range(0..known.len())).cloned()
        };
        let Some(id) = id else { continue };
        let load = Arc::clone(&load);
        tokio::spawn(async move {
            let sent = Instant::now();
            match load.stack.order(&id).await {
                Ok(_) => load.metrics.latency(Measure::Read, sent, 1),
                Err(error) => load.metrics.error("cached read", &error),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdek_share_is_spread_evenly() {
        let count = |share: f64| (0..1000).filter(|n| is_cdek(7, *n, share)).count();
        assert_eq!(count(0.0), 0);
        assert_eq!(count(1.0), 1000);
        assert_eq!(count(0.1), 100);
    }
}
