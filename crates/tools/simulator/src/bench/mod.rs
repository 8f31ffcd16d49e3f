//! `ordertrack-sim bench orders`: create-order throughput (with the outbox relay
//! running) and cached `GET /orders/{id}`, next to the raw ceilings measured in the
//! same run on the same machine: pgbench single-row inserts at the same concurrency and
//! an actix-web hello world. Prints a table and writes JSON.

mod cdek;
pub mod cpu;
mod load;
mod notifier;
mod tracker;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

/// The store of the benchmarks' orders and couriers (couriers belong to stores).
const BENCH_STORE: &str = "bench";

pub use load::Measured;

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Order API: create and cached get, against pgbench and hello-world ceilings.
    Orders(OrdersArgs),
    /// Courier tracker: thousands of couriers posting batches of positions.
    Tracker(tracker::TrackerArgs),
    /// Notifier: thousands of open sockets, positions fanned out to them.
    Notifier(notifier::NotifierArgs),
    /// A share of `bench notifier`'s sockets in a process of its own (spawned by it).
    #[command(hide = true)]
    NotifierClients(notifier::ClientsArgs),
    /// CDEK: registration and status latency through the whole stack and the CDEK double.
    Cdek(cdek::CdekArgs),
}

#[derive(clap::Args)]
struct OrdersArgs {
    /// order-api's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api: String,
    /// A storefront API key.
    #[arg(long, env = "ORDERTRACK_BENCH_KEY")]
    key: String,
    /// Base URLs whose /metrics count published outbox events (order-api, order-grpc).
    #[arg(long, default_values_t = ["http://127.0.0.1:8080".to_owned(), "http://127.0.0.1:8084".to_owned()])]
    relays: Vec<String>,
    /// The Postgres server for the pgbench ceiling (a database `ordertrack_bench` is made
    /// there): `postgres://user:password@host:port[?sslmode=verify-full&sslrootcert=<CA>]`.
    #[arg(
        long,
        default_value = "postgres://ordertrack:ordertrack@127.0.0.1:55432?sslmode=verify-full&sslrootcert=.state/tls/ca.crt"
    )]
    postgres: String,
    /// The pgbench binary.
    #[arg(long, default_value = "pgbench")]
    pgbench: String,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds measured per benchmark (after a warm-up of 3 s).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Where to write the results.
    #[arg(long, default_value = "target/bench/orders.json")]
    out: PathBuf,
    /// Run only some parts (ceilings, create, get); all by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

impl OrdersArgs {
    fn runs(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == part)
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        What::Orders(args) => orders(args).await,
        What::Tracker(args) => tracker::run(args).await,
        What::Notifier(args) => notifier::run(args).await,
        What::NotifierClients(args) => notifier::run_clients(args).await,
        What::Cdek(args) => cdek::run(args).await,
    }
}

async fn orders(args: OrdersArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds);
    let warmup = Duration::from_secs(3);
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let run_id = uuid::Uuid::new_v4().simple().to_string();

    let (mut pgbench, mut pgbench_cores, mut hello) = (None, None, None);
    if args.runs("ceilings") {
        println!("==> ceilings on this machine");
        let (tps, cores) = pgbench_inserts(&args).await?;
        println!("    {:<28} {:>9.0} /s   (pgbench, {} clients)", "postgres single-row insert", tps, args.concurrency);
        println!("    {:<28} cores: {}", "", cpu::describe(&cores, 6));
        pgbench = Some(tps);
        pgbench_cores = Some(cores);
        hello = Some(hello_world(&client, args.concurrency, warmup, duration).await?);
    }

    println!("==> order API at {}", args.api);
    // The cached read first: after the creates, the consumers (courier-tracker, the
    // notifier) still work through their events for a while, and that would run beside it.
    let mut get = None;
    if args.runs("get") {
        let response = client
            .post(format!("{}/orders", args.api))
            .bearer_auth(&args.key)
            .json(&order(&format!("b-{}-get", &run_id[..8])))
            .send()
            .await?
            .error_for_status()?;
        let body: serde_json::Value = response.json().await?;
        let order_id = body.get("id").and_then(|id| id.as_str()).context("no id in the create answer")?.to_owned();
        let (client, url, key) = (client.clone(), format!("{}/orders/{order_id}", args.api), args.key.clone());
        get = Some(
            load::run("cached GET /orders/{id}", args.concurrency, warmup, duration, move |_, _| {
                let request = client.get(&url).bearer_auth(&key);
                async move { request.send().await.is_ok_and(|r| r.status().is_success()) }
            })
            .await,
        );
    }

    let (mut create, mut drain) = (None, None);
    if args.runs("create") {
        let published_before = published(&client, &args.relays).await;
        // Every 201, warm-up included: the drain check waits for that many events.
        let created = Arc::new(AtomicU64::new(0));
        let measured = {
            let (client, url, key) = (client.clone(), format!("{}/orders", args.api), args.key.clone());
            let (run_id, created) = (run_id.clone(), Arc::clone(&created));
            load::run("create order", args.concurrency, warmup, duration, move |worker, n| {
                let request =
                    client.post(&url).bearer_auth(&key).json(&order(&format!("b-{}-{worker}-{n}", &run_id[..8])));
                let created = Arc::clone(&created);
                async move {
                    let ok = request.send().await.is_ok_and(|r| r.status().as_u16() == 201);
                    if ok {
                        created.fetch_add(1, Ordering::Relaxed);
                    }
                    ok
                }
            })
            .await
        };
        let drain_started = Instant::now();
        match wait_published(&client, &args.relays, published_before, created.load(Ordering::Relaxed)).await {
            Some(count) => {
                let seconds = drain_started.elapsed().as_secs_f64();
                println!("    outbox drained: {count} events published, the last {seconds:.1} s after the run ended");
                drain = Some(seconds);
            }
            None => println!("    outbox NOT drained within 60 s of the run's end"),
        }
        create = Some(measured);
    }

    let create_ratio = create.as_ref().zip(pgbench).map(|(c, p)| c.per_second / p);
    let get_ratio = get.as_ref().zip(hello.as_ref()).map(|(g, h)| g.per_second / h.per_second);
    if create_ratio.is_some() || get_ratio.is_some() {
        println!("==> ratios");
    }
    if let Some(ratio) = create_ratio {
        println!("    create / pgbench insert      {:>6.1} %   (target >= 50 %)", ratio * 100.0);
    }
    if let Some(ratio) = get_ratio {
        println!("    cached GET / hello world     {:>6.1} %   (target >= 65 %)", ratio * 100.0);
    }
    let report = json!({
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "pgbench_insert_per_second": pgbench,
        "pgbench_cores": pgbench_cores,
        "hello_world": hello,
        "create": create,
        "outbox_drain_seconds_after_run": drain,
        "cached_get": get,
        "create_vs_pgbench": create_ratio,
        "cached_get_vs_hello_world": get_ratio,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)?;
    println!("    results written to {}", args.out.display());
    Ok(())
}

fn order(number: &str) -> serde_json::Value {
    json!({
        "store_order_number": number,
        "customer": { "name": "Bench Customer", "phone": "+79160000000", "email": "bench@example.com" },
        "pickup": { "address": "Warehouse 1", "lat": 55.70, "lon": 37.58 },
        "destination": { "address": "Tverskaya 1", "lat": 55.7575, "lon": 37.6136 },
        "parcels": [ { "weight_grams": 1000, "length_cm": 20, "width_cm": 20, "height_cm": 20 } ],
        "delivery": { "method": "own_courier" }
    })
}

/// A progress bar in the benchmarks' style: `prefix [=====>   ] pos/len message`.
pub fn bar(len: u64, prefix: &str) -> anyhow::Result<indicatif::ProgressBar> {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("    {prefix:<28} [{bar:30}] {pos:>6}/{len} {msg}")?
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_owned());
    Ok(bar)
}

/// Total `outbox_published_total` over the relays' /metrics.
async fn published(client: &reqwest::Client, relays: &[String]) -> u64 {
    let mut total = 0;
    for base in relays {
        let Ok(response) = client.get(format!("{base}/metrics")).send().await else { continue };
        let Ok(text) = response.text().await else { continue };
        total += text
            .lines()
            .find(|line| line.starts_with("ordertrack_outbox_published_total"))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse::<f64>().ok())
            .map_or(0, |value| value as u64);
    }
    total
}

/// Waits until the relays published at least `expected` events since `before`.
async fn wait_published(client: &reqwest::Client, relays: &[String], before: u64, expected: u64) -> Option<u64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = published(client, relays).await.saturating_sub(before);
        if now >= expected {
            return Some(now);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// pgbench inserting one row per transaction into a fresh table, at the same concurrency:
/// its rate and who held the cores (the first and last seconds left out).
async fn pgbench_inserts(args: &OrdersArgs) -> anyhow::Result<(f64, Vec<cpu::Share>)> {
    // `postgres://user:password@host:port`, with the TLS settings as a query if any.
    let (server, query) = args
        .postgres
        .split_once('?')
        .map_or((args.postgres.as_str(), String::new()), |(server, query)| (server, format!("?{query}")));
    let admin = format!("{server}/postgres{query}");
    let database = format!("{server}/ordertrack_bench{query}");
    let psql = |url: &str, sql: &str| {
        std::process::Command::new("psql").args([url, "-qAtc", sql]).stderr(Stdio::inherit()).output()
    };
    let exists =
        psql(&admin, "SELECT 1 FROM pg_database WHERE datname = 'ordertrack_bench'").context("running psql")?;
    if String::from_utf8_lossy(&exists.stdout).trim() != "1" {
        psql(&admin, "CREATE DATABASE ordertrack_bench")?;
    }
    psql(
        &database,
        "DROP TABLE IF EXISTS bench_insert; CREATE TABLE bench_insert (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    let script = std::env::temp_dir().join("ordertrack-bench-insert.sql");
    std::fs::write(&script, "INSERT INTO bench_insert (payload) VALUES (repeat('x', 200));\n")?;
    let seconds = args.seconds;
    let cores = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = cpu::Snapshot::take();
        tokio::time::sleep(Duration::from_secs(seconds.saturating_sub(2).max(1))).await;
        before.shares_since()
    });
    let output = tokio::process::Command::new(&args.pgbench)
        .args(["-n", "-c", &args.concurrency.to_string(), "-j", "2", "-T", &args.seconds.to_string(), "-f"])
        .arg(&script)
        .arg(&database)
        .stderr(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {}", args.pgbench))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let tps = text
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .with_context(|| format!("no tps in pgbench's output:\n{text}"))?;
    Ok((tps, cores.await.unwrap_or_default()))
}

/// Starts `ordertrack-sim hello-server` as its own process and loads it like order-api.
async fn hello_world(
    client: &reqwest::Client,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let port = 18999;
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .args(["hello-server", "--port", &port.to_string()])
        .kill_on_drop(true)
        .spawn()?;
    let url = format!("http://127.0.0.1:{port}/hello");
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get(&url).send().await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "the hello-world server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let measured = {
        let client = client.clone();
        load::run("actix hello world", concurrency, warmup, duration, move |_, _| {
            let request = client.get(&url);
            async move { request.send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .await
    };
    server.kill().await?;
    Ok(measured)
}

pub async fn hello_server(port: u16, workers: usize) -> anyhow::Result<()> {
    // Its own name in /proc, so the benchmark's CPU shares tell it from the load generator
    // (the same binary).
    let _ = std::fs::write("/proc/self/comm", "hello-server");
    let workers = if workers == 0 { std::thread::available_parallelism().map_or(2, usize::from) } else { workers };
    actix_web::HttpServer::new(|| {
        actix_web::App::new().route("/hello", actix_web::web::get().to(|| async { "hello world" }))
    })
    .workers(workers)
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}
