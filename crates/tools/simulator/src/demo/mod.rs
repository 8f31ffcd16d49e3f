//! `ordertrack-sim demo`: live traffic through the whole local stack, to watch on the
//! tracking page or the ops page. A storefront creates orders at a steady rate; a fleet
//! of couriers drives the own-courier ones through Moscow, their phones posting positions
//! to the tracker (which moves the orders on: picked up, in transit, arriving); the demo
//! plays CDEK for the rest at the CDEK double. Stops on Ctrl-C / SIGTERM, after
//! `--duration`, or (with `--orders`) when every order is final, and sums up.

pub mod api;
pub mod cdek;
mod console;
mod courier;
mod fleet;
mod geo;
mod ledger;
mod orders;
mod route;
mod schedule;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use api::Order;
use console::{Console, Counters, Snapshot};
use fleet::Fleet;
use ledger::{Ledger, Method, Outcome, Record};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// order-api's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api: String,
    /// The storefront API key (scripts/dev up prints it).
    #[arg(long, env = "ORDERTRACK_DEMO_KEY", hide_env_values = true)]
    key: String,
    /// The store the key belongs to (its name in order-api's `auth.storefront_keys`): the
    /// couriers are this store's, and their tokens say so.
    #[arg(long, default_value = "demo_shop")]
    store: String,
    /// courier-tracker's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    tracker: String,
    /// Signs the couriers' tokens (the tracker's `couriers.token_secret`).
    #[arg(long, env = "ORDERTRACK_COURIERS__TOKEN_SECRET", hide_env_values = true)]
    token_secret: String,
    /// The CDEK double's base URL (its /control endpoints play CDEK).
    #[arg(long, default_value = "http://127.0.0.1:8085")]
    double: String,
    /// Orders to create in all; 0 for no limit.
    #[arg(long, default_value_t = 0)]
    orders: u64,
    /// Couriers in the fleet (demo-courier-1 …).
    #[arg(long, default_value_t = 10)]
    couriers: usize,
    /// Couriers are `<prefix>-1` …; a second demo against the same stack needs its own.
    #[arg(long, default_value = "demo-courier")]
    courier_prefix: String,
    /// New orders per minute.
    #[arg(long, default_value_t = 0.6)]
    rate: f64,
    /// Seconds to run; 0: until stopped or, with --orders, until every order is final.
    #[arg(long, default_value_t = 0)]
    duration: u64,
    /// The fraction of orders shipped with CDEK (0 to 1).
    #[arg(long, default_value_t = 0.2)]
    cdek_share: f64,
    /// The couriers' cruising speed (m/s); each trip varies around it.
    #[arg(long, default_value_t = 12.0)]
    speed_mps: f64,
    /// A courier's app posts a batch this often (seconds), one point per second.
    #[arg(long, default_value_t = 2)]
    report_secs: usize,
    /// Gets the first own-courier order's tracking link as soon as it exists; the active
    /// orders' links go to the same name with `.active.json`.
    #[arg(long)]
    links_file: Option<PathBuf>,
    /// Makes the couriers' start, the orders and the routes the same from run to run.
    #[arg(long)]
    seed: Option<u64>,
    /// An order not delivered this many seconds after it was created is given up (0: never).
    #[arg(long, default_value_t = 1800)]
    order_timeout: u64,
}

impl DemoArgs {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 6000.0, "--rate must be in (0, 6000]");
        anyhow::ensure!((0.0..=1.0).contains(&self.cdek_share), "--cdek-share must be between 0 and 1");
        anyhow::ensure!(
            self.speed_mps.is_finite() && self.speed_mps > 0.5 && self.speed_mps <= 40.0,
            "--speed-mps must be in (0.5, 40] (the tracker refuses jumps faster than 70 m/s)"
        );
        anyhow::ensure!((1..=100).contains(&self.report_secs), "--report-secs must be 1 to 100 (100 points a batch)");
        anyhow::ensure!(self.couriers <= 2000, "--couriers must be at most 2000");
        anyhow::ensure!(
            self.couriers > 0 || self.cdek_share >= 1.0,
            "--couriers must be at least 1 unless every order goes with CDEK (--cdek-share 1)"
        );
        anyhow::ensure!(!self.token_secret.is_empty(), "--token-secret is empty");
        let last = format!("{}-{}", self.courier_prefix, self.couriers.max(1));
        anyhow::ensure!(
            domain::ids::CourierId::parse(&last).is_ok(),
            "--courier-prefix makes courier ids like {last:?}: letters, digits, '-', '_', '.' and ':', at most 64"
        );
        Ok(())
    }
}

pub struct Settings {
    pub speed_mps: f64,
    pub report_secs: usize,
    pub token_secret: String,
    pub seed: u64,
}

/// What every task of the demo shares.
pub struct Demo {
    pub stack: api::Stack,
    pub console: Console,
    pub ledger: Ledger,
    pub stop: Stop,
    pub settings: Settings,
}

impl Demo {
    /// A random generator of its own for each thing (`"courier"`, 3), derived from the
    /// seed, so a thing's randomness does not depend on how tasks interleave.
    pub fn rng(&self, stream: &str, n: u64) -> StdRng {
        let mut seed = self.settings.seed ^ 0xcbf2_9ce4_8422_2325;
        for byte in stream.bytes() {
            seed = (seed ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        StdRng::seed_from_u64(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// Gives order `n` up (if it is still active), counts and logs it.
    pub fn give_up(&self, n: u64, reason: impl Into<String>) {
        let reason = reason.into();
        if self.ledger.failed(n, reason.clone()) {
            Counters::add(&self.console.counters.failed, 1);
            self.console.log(format_args!("order {n}: given up: {reason}"));
        }
    }

    /// Reads the order every `every` until `done` says so (answers it), `wait` is over
    /// or the demo stops (None).
    pub async fn watch_order(
        &self,
        id: &str,
        wait: Duration,
        every: Duration,
        done: impl Fn(&Order) -> bool,
    ) -> Option<Order> {
        let until = Instant::now() + wait;
        loop {
            if let Ok(order) = api::retry(self, 1, || self.stack.order(id)).await {
                if done(&order) {
                    return Some(order);
                }
            }
            if Instant::now() >= until || !self.stop.sleep(every).await {
                return None;
            }
        }
    }
}

/// Set once, when the demo stops; every task watches it.
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns when the demo stops.
    pub async fn wait(&self) {
        let mut receiver = self.0.clone();
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps; answers false (at once) if the demo stops meanwhile.
    pub async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(duration) => !self.is_set(),
            () = self.wait() => false,
        }
    }
}

/// Why the run ended.
enum End {
    Signal(&'static str),
    Duration,
    AllFinal,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    args.check()?;
    let seed = args.seed.unwrap_or_else(|| rand::rng().random_range(0..1_000_000));
    let (stop, stopped) = watch::channel(false);
    let demo = Arc::new(Demo {
        stack: api::Stack::new(&args.api, &args.key, &args.store, &args.tracker, &args.double)?,
        console: Console::new(args.orders),
        ledger: Ledger::new(args.links_file.clone()),
        stop: Stop(stopped),
        settings: Settings {
            speed_mps: args.speed_mps,
            report_secs: args.report_secs,
            token_secret: args.token_secret.clone(),
            seed,
        },
    });
    print_plan(&demo, &args);
    demo.stack.check(args.cdek_share > 0.0).await?;

    let (fleet, couriers) = Fleet::new(&mut demo.rng("fleet", 0), &args.courier_prefix, args.couriers);
    let fleet = Arc::new(fleet);
    let mut tasks = JoinSet::new();
    for (index, (courier, jobs)) in couriers.into_iter().enumerate() {
        tasks.spawn(courier::run(Arc::clone(&demo), courier, jobs, demo.rng("courier", index as u64)));
    }
    let (to_dispatch, incoming) = mpsc::unbounded_channel();
    tasks.spawn(fleet::dispatch(Arc::clone(&demo), Arc::clone(&fleet), incoming));
    let plan = orders::Plan {
        orders: (args.orders > 0).then_some(args.orders),
        rate_per_minute: args.rate,
        cdek_share: args.cdek_share,
        run_tag: uuid::Uuid::new_v4().simple().to_string().chars().take(6).collect(),
    };
    let mut creator = tokio::spawn(orders::create(Arc::clone(&demo), plan, to_dispatch));

    let end = watch_run(&demo, &args, &fleet, &mut creator).await;
    let _ = stop.send(true);
    let (end, mut players) = end;
    let wind_down = async {
        if players.is_none() {
            players = (&mut creator).await.ok();
        }
        while tasks.join_next().await.is_some() {}
        if let Some(players) = players.as_mut() {
            while players.join_next().await.is_some() {}
        }
    };
    if tokio::time::timeout(Duration::from_secs(15), wind_down).await.is_err() {
        demo.console.log("some tasks did not stop within 15 s; leaving them");
    }
    settle_leftovers(&demo, &end).await;
    if let Err(error) = demo.ledger.write_active_links() {
        demo.console.error(format!("writing the links file: {error}"));
    }
    demo.console.finish();
    summary(&demo, &end, args.orders)
}

/// Watches the run once a second: progress, the links file, orders that take too long,
/// and whether it is over. Answers why it ended and, once all orders are created, the
/// CDEK players still running.
async fn watch_run(
    demo: &Demo,
    args: &DemoArgs,
    fleet: &Fleet,
    creator: &mut tokio::task::JoinHandle<JoinSet<()>>,
) -> (End, Option<JoinSet<()>>) {
    let mut signal = std::pin::pin!(stop_signal());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut players = None;
    let mut plain_at = Instant::now() + console::PLAIN_EVERY;
    let end = loop {
        tokio::select! {
            name = &mut signal => break End::Signal(name),
            _ = tick.tick() => {}
        }
        if players.is_none() && creator.is_finished() {
            players = Some((&mut *creator).await.unwrap_or_default());
        }
        if args.order_timeout > 0 {
            let expired = demo.ledger.expire(Duration::from_secs(args.order_timeout));
            for (record, reason) in &expired {
                Counters::add(&demo.console.counters.failed, 1);
                demo.console.log(format_args!("{}: given up: {reason}", record.name()));
            }
            let records: Vec<Record> = expired.into_iter().map(|(record, _)| record).collect();
            cancel_before_pickup(demo, &records).await;
        }
        if demo.console.is_terminal() || Instant::now() >= plain_at {
            plain_at += console::PLAIN_EVERY;
            let duties = fleet.duties();
            demo.console.progress(&Snapshot {
                active: demo.ledger.counts().active,
                queued: fleet.queued(),
                couriers_busy: duties.busy,
                couriers_idle: duties.idle,
                couriers_starting: duties.starting,
            });
        }
        if let Err(error) = demo.ledger.write_active_links() {
            demo.console.error(format!("writing the links file: {error}"));
        }
        if args.duration > 0 && demo.console.elapsed() >= Duration::from_secs(args.duration) {
            break End::Duration;
        }
        if args.orders > 0 && players.is_some() && demo.ledger.counts().active == 0 {
            break End::AllFinal;
        }
    };
    (end, players)
}

/// Ctrl-C or SIGTERM, whichever comes first (the load run stops on it too).
pub(crate) async fn stop_signal() -> &'static str {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => "Ctrl-C",
        () = terminate => "SIGTERM",
    }
}

fn print_plan(demo: &Demo, args: &DemoArgs) {
    let c = &demo.console;
    let seed = demo.settings.seed;
    c.print(&format!("==> ordertrack demo (seed {seed}: --seed {seed} plans the same run)"));
    let orders = if args.orders > 0 {
        let cdek = (0..args.orders).filter(|n| schedule::is_cdek(*n, args.cdek_share)).count();
        let plural = if args.orders == 1 { "" } else { "s" };
        format!("{} order{plural} ({cdek} with CDEK)", args.orders)
    } else {
        format!("orders without end ({:.0} % with CDEK)", args.cdek_share * 100.0)
    };
    c.print(&format!("    {orders}, {} a minute", args.rate));
    c.print(&format!(
        "    {} couriers ({}-1 …) around Moscow's centre at ~{} m/s, their apps posting every {} s",
        args.couriers, args.courier_prefix, args.speed_mps, args.report_secs
    ));
    c.print(&format!("    order-api {}, courier-tracker {}, CDEK double {}", args.api, args.tracker, args.double));
    let until = match (args.duration, args.orders) {
        (0, 0) => "until stopped (Ctrl-C)".to_owned(),
        (0, _) => "until every order is delivered or given up".to_owned(),
        (secs, _) => format!("for {secs} s"),
    };
    let timeout = match args.order_timeout {
        0 => String::new(),
        secs => format!("; an order not delivered within {secs} s is given up"),
    };
    c.print(&format!("    runs {until}{timeout}"));
    if let Some(path) = &args.links_file {
        c.print(&format!(
            "    links: the first tracking link in {}, the active orders' in {}",
            path.display(),
            ledger::active_links_path(path).display()
        ));
    }
    let own_rate = args.rate * (1.0 - args.cdek_share);
    let capacity = deliveries_per_minute(args.couriers, args.speed_mps);
    if args.orders == 0 && own_rate > capacity {
        c.print(&format!(
            "    note: {} couriers deliver about {capacity:.1} orders a minute; at {own_rate:.1} own-courier orders \
             a minute the queue will grow (more --couriers or a lower --rate)",
            args.couriers
        ));
    }
}

/// About how many orders a fleet delivers a minute: each takes a drive to the pickup and
/// one to the customer (2.5 and 2.75 km on average, a quarter more along the streets, at
/// 85 % of the speed), loading, handing over and red lights (about a minute).
fn deliveries_per_minute(couriers: usize, speed_mps: f64) -> f64 {
    let seconds = (2_500.0 + 2_750.0) * 1.25 / (speed_mps * 0.85) + 60.0;
    couriers as f64 * 60.0 / seconds
}

/// Orders still active when the run ends are given up, and cancelled if they have not
/// left the sender yet.
async fn settle_leftovers(demo: &Demo, end: &End) {
    let why = match end {
        End::Signal(name) => format!("stopped by {name}"),
        End::Duration => "the --duration was over".to_owned(),
        End::AllFinal => "the demo ended".to_owned(),
    };
    let leftovers: Vec<Record> = demo.ledger.all().into_iter().filter(|r| r.outcome == Outcome::Active).collect();
    for record in &leftovers {
        demo.give_up(record.n, format!("{why} while it was {} (status {})", record.stage, record.status));
    }
    cancel_before_pickup(demo, &leftovers).await;
}

/// Cancels those of the given-up orders that have not left the sender yet, so they do not
/// linger in the store's lists: eight at a time, for at most 20 s in all.
async fn cancel_before_pickup(demo: &Demo, given_up: &[Record]) {
    let before_pickup = |r: &&Record| matches!(r.status.as_str(), "created" | "courier_assigned" | "handed_to_carrier");
    let cancelling = futures::stream::iter(
        given_up.iter().filter(before_pickup).filter_map(|r| Some(courier::cancel(demo, r.n, r.id.as_deref()?))),
    )
    .buffer_unordered(8)
    .collect::<Vec<()>>();
    if tokio::time::timeout(Duration::from_secs(20), cancelling).await.is_err() {
        demo.console.log("cancelling the orders given up took longer than 20 s; the rest stay as they are");
    }
}

/// The summary lists at most this many orders that were not delivered.
const SUMMARY_LIST: usize = 50;

/// Prints what happened; an error when a finite run did not deliver every order.
fn summary(demo: &Demo, end: &End, orders: u64) -> anyhow::Result<()> {
    let c = &demo.console;
    let counters = &c.counters;
    let get = Counters::get;
    let records = demo.ledger.all();
    let why = match end {
        End::Signal(name) => format!("stopped by {name}"),
        End::Duration => "the --duration is over".to_owned(),
        End::AllFinal => "every order is final".to_owned(),
    };
    let delivered = |method: Method| -> Vec<&Record> {
        records.iter().filter(|r| r.method == method && r.outcome == Outcome::Delivered).collect()
    };
    let (own, cdek) = (delivered(Method::OwnCourier), delivered(Method::Cdek));
    let failed: Vec<&Record> = records.iter().filter(|r| matches!(r.outcome, Outcome::Failed(_))).collect();
    c.print(&format!("==> summary after {} ({why})", console::clock(c.elapsed())));
    c.print(&format!(
        "    orders      {} created ({} CDEK): {} delivered, {} given up",
        get(&counters.created),
        get(&counters.created_cdek),
        own.len() + cdek.len(),
        failed.len()
    ));
    if !own.is_empty() {
        let tally = |status: &str, actor: &str| own.iter().filter(|r| r.setters.by(status) == Some(actor)).count();
        let average = own.iter().filter_map(|r| r.took).map(|d| d.as_secs()).sum::<u64>() / own.len() as u64;
        c.print(&format!(
            "    own courier {} delivered, {} from creation on average; set by the tracker: picked_up {}/{n}, \
             in_transit {}/{n}, arriving {}/{n}; by the demo: delivered {}/{n}, picked_up as a fallback {}",
            own.len(),
            console::clock(Duration::from_secs(average)),
            tally("picked_up", "system"),
            tally("in_transit", "system"),
            tally("arriving", "system"),
            tally("delivered", "storefront"),
            own.iter().filter(|r| r.fallback).count(),
            n = own.len(),
        ));
    }
    if !cdek.is_empty() {
        let by_carrier = cdek.iter().filter(|r| r.setters.steps.iter().all(|(_, actor)| actor == "carrier")).count();
        c.print(&format!(
            "    CDEK        {} delivered; {} statuses recorded at the double; every step set by the carrier on {}/{}",
            cdek.len(),
            get(&counters.cdek_statuses),
            by_carrier,
            cdek.len()
        ));
    }
    c.print(&format!(
        "    positions   {} accepted in {} batches; dropped: {}",
        get(&counters.accepted),
        get(&counters.batches),
        counters.dropped_reasons()
    ));
    c.print(&format!("    errors      {} (failed or refused requests, each logged above)", get(&counters.errors)));
    let not_delivered: Vec<&Record> = records.iter().filter(|r| r.outcome != Outcome::Delivered).collect();
    if !not_delivered.is_empty() {
        c.print("    not delivered:");
        for record in not_delivered.iter().take(SUMMARY_LIST) {
            let reason = match &record.outcome {
                Outcome::Failed(reason) => reason.as_str(),
                _ => "still active",
            };
            c.print(&format!("      {}, {}: {reason}", record.name(), record.method.words()));
        }
        if not_delivered.len() > SUMMARY_LIST {
            c.print(&format!("      … and {} more (each logged above)", not_delivered.len() - SUMMARY_LIST));
        }
    }
    if orders > 0 && (!not_delivered.is_empty() || (records.len() as u64) < orders) {
        anyhow::bail!(
            "{} of {orders} orders did not reach delivered",
            not_delivered.len() + (orders as usize).saturating_sub(records.len())
        );
    }
    Ok(())
}
