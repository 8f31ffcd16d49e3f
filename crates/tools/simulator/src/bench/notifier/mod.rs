//! `ordertrack-sim bench notifier`: many open sockets on a notifier (or on several
//! instances sharing one address), then a stream of courier positions fanned out to the
//! customers watching. Measures the notifiers' resident memory per socket, the messages
//! pushed per second that clients received, whether every active socket got positions,
//! and the latency from the publish to the broker to the client (each position's
//! `recorded_at` is its publish time; client and notifier share the clock).
//!
//! It needs only the notifier and the broker: the orders (each assigned to a courier)
//! are published to `order_created` first, as the orders service would. The sockets are
//! held by child processes ([`clients`]), each under its own file limit.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod clients;

pub use clients::{ClientsArgs, run as run_clients};

use super::{BENCH_STORE, bar};
use chrono::Utc;
use clients::Clients;
use domain::convert::timestamp;
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::topics::Topic;
use futures::StreamExt;
use hdrhistogram::Histogram;
use platform::kafka::KafkaConfig;
use prost::Message as _;
use serde_json::json;

#[derive(clap::Args)]
pub struct NotifierArgs {
    /// The notifier's HTTP base URL (its WebSocket is the same host).
    #[arg(long, default_value = "http://127.0.0.1:8082")]
    notifier: String,
    /// The notifier's process id, to read its resident memory (/proc/<pid>/status);
    /// once per instance when several share the address (`[http] reuse_port`).
    #[arg(long)]
    pid: Vec<u32>,
    #[arg(long, default_value = "127.0.0.1:59092")]
    brokers: String,
    #[arg(long, default_value = "")]
    topic_prefix: String,
    /// Signs the tickets (the notifier's `tracking.ticket_secret`).
    #[arg(long, env = "ORDERTRACK_TRACKING__TICKET_SECRET")]
    ticket_secret: String,
    /// Sockets opened in all: customers of the active orders first, the rest idle (their
    /// orders get no events).
    #[arg(long, default_value_t = 18_000)]
    sockets: usize,
    #[arg(long, default_value_t = 1_000)]
    couriers: usize,
    /// Active orders per courier (batched deliveries).
    #[arg(long, default_value_t = 5)]
    orders_per_courier: usize,
    /// Customer sockets per active order (a phone and a laptop, say).
    #[arg(long, default_value_t = 2)]
    sockets_per_order: usize,
    /// Courier-location events published per second (each fans out to
    /// orders_per_courier × sockets_per_order sockets).
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Seconds measured (after a warm-up of 3 s).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Sockets per client process: each holds its share under its own file limit
    /// (`ulimit -n`), so the sockets of several notifiers can outnumber one process's.
    #[arg(long, default_value_t = 15_000)]
    sockets_per_process: usize,
    #[arg(long, default_value = "target/bench/notifier.json")]
    out: PathBuf,
}

/// The resident memory of the notifier instances together, in KiB.
fn rss_kib(pids: &[u32]) -> Option<u64> {
    let one = |pid: &u32| -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    if pids.is_empty() { None } else { pids.iter().map(one).sum() }
}

async fn applied_orders(client: &reqwest::Client, base: &str) -> f64 {
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else { return 0.0 };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("ordertrack_notifier_events_total{") && l.contains("order_created"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub async fn run(args: NotifierArgs) -> anyhow::Result<()> {
    let kafka = KafkaConfig {
        topic_prefix: args.topic_prefix.clone(),
        idempotence: false,
        linger_ms: 5,
        ..platform::kafka::settings_from_env(&args.brokers)?
    };
    let producer = platform::kafka::producer(&kafka, "bench-notifier")?;
    let http = reqwest::Client::new();
    let active_orders = args.couriers * args.orders_per_courier;
    let active_sockets = active_orders * args.sockets_per_order;
    anyhow::ensure!(
        args.sockets >= active_sockets,
        "--sockets must be at least {active_sockets} (the active customers)"
    );
    let fanout = args.orders_per_courier * args.sockets_per_order;
    println!("==> notifier at {}", args.notifier);
    println!(
        "    {} sockets ({} on {} active orders of {} couriers, {} idle); {} positions/s × {} sockets each = {} messages/s offered",
        args.sockets,
        active_sockets,
        active_orders,
        args.couriers,
        args.sockets - active_sockets,
        args.rate,
        fanout,
        args.rate * fanout as u64
    );

    // 1. The orders, each assigned to its courier.
    let before_orders = applied_orders(&http, &args.notifier).await;
    let orders: Vec<String> = (0..active_orders).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let progress = bar(active_orders as u64, "publishing orders")?;
    let created_topic = kafka.topic(Topic::OrderCreated);
    for (chunk_index, chunk) in orders.chunks(500).enumerate() {
        let events: Vec<(String, Vec<u8>)> = chunk
            .iter()
            .enumerate()
            .map(|(n, id)| {
                let courier = format!("bench-courier-{}", (chunk_index * 500 + n) / args.orders_per_courier);
                let place =
                    Some(pb::Place { address: String::new(), point: Some(pb::GeoPoint { lat: 55.75, lon: 37.62 }) });
                let order = pb::Order {
                    id: id.clone(),
                    store_id: BENCH_STORE.into(),
                    destination: place.clone(),
                    pickup: place,
                    status: pb::OrderStatus::CourierAssigned as i32,
                    courier_id: courier,
                    version: 1,
                    ..Default::default()
                };
                let payload = Payload::OrderCreated(pb::OrderCreated { order: Some(order) });
                (id.clone(), Envelope::new("bench", timestamp(Utc::now()), payload).encode_to_vec())
            })
            .collect();
        let sends = events.iter().map(|(key, bytes)| platform::kafka::publish(&producer, &created_topic, key, bytes));
        for result in futures::future::join_all(sends).await {
            result?;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    let deadline = Instant::now() + Duration::from_secs(120);
    while applied_orders(&http, &args.notifier).await < before_orders + active_orders as f64 {
        anyhow::ensure!(Instant::now() < deadline, "the notifier did not read the orders within 120 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // With several instances behind the address this asked one of them; every socket's
    // greeting then says whether its own instance knows the order (clients.rs).
    println!("    the notifier knows the {active_orders} orders");

    // 2. The sockets, held by child processes (each under its own file limit).
    let rss_before = rss_kib(&args.pid);
    let targets: Vec<(String, bool)> = (0..args.sockets)
        .map(|n| match orders.get(n / args.sockets_per_order) {
            Some(order) if n < active_sockets => (order.clone(), true),
            _ => (uuid::Uuid::now_v7().to_string(), false),
        })
        .collect();
    let ws_base = args.notifier.replacen("http", "ws", 1);
    let folder = args.out.parent().map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    let mut clients =
        Clients::spawn(&ws_base, &targets, args.sockets_per_process, &args.ticket_secret, &folder).await?;
    println!(
        "    {} sockets held by {} client processes (at most {} each)",
        args.sockets,
        clients.len(),
        args.sockets_per_process
    );
    clients.wait_ready(args.sockets as u64).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_open = rss_kib(&args.pid);
    let per_socket = match (rss_before, rss_open) {
        (Some(before), Some(open)) => Some(open.saturating_sub(before) as f64 * 1024.0 / args.sockets as f64),
        _ => None,
    };
    let instances = args.pid.len();
    match per_socket {
        Some(bytes) => println!(
            "    {} sockets open on {instances} notifier instance(s): RSS {} → {} KiB, {:.1} KB per socket (target <= 15 KB)",
            args.sockets,
            rss_before.unwrap_or(0),
            rss_open.unwrap_or(0),
            bytes / 1000.0
        ),
        None => println!("    {} sockets open (pass --pid to measure the notifier's memory)", args.sockets),
    }

    // 3. Positions, open loop: 100 ticks a second.
    let locations_topic = kafka.topic(Topic::CourierLocations);
    let per_tick = (args.rate / 100).max(1);
    let warmup = Duration::from_secs(3);
    let start = Instant::now();
    let end = start + warmup + Duration::from_secs(args.seconds) + Duration::from_millis(500);
    let published = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let publisher = {
        let (producer, published, errors) = (producer.clone(), Arc::clone(&published), Arc::clone(&errors));
        let couriers = args.couriers;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(10));
            let mut next_courier = 0usize;
            let mut in_flight = futures::stream::FuturesUnordered::new();
            while Instant::now() < end {
                tokio::select! {
                    _ = ticks.tick() => {
                        for _ in 0..per_tick {
                            let courier = format!("bench-courier-{}", next_courier % couriers);
                            next_courier += 1;
                            let position = pb::Position {
                                lat: 55.70 + (next_courier % 1000) as f64 * 0.0001,
                                lon: 37.60,
                                recorded_at: Some(timestamp(Utc::now())),
                                accuracy_m: 5.0,
                                speed_mps: Some(10.0),
                                heading_deg: None,
                            };
                            let batch = pb::CourierLocations { courier_id: courier.clone(), positions: vec![position], store_id: BENCH_STORE.into() };
                            let bytes = Envelope::new("bench", timestamp(Utc::now()), Payload::CourierLocations(batch)).encode_to_vec();
                            let (producer, topic) = (producer.clone(), locations_topic.clone());
                            let key = format!("{BENCH_STORE}/{courier}");
                            in_flight.push(async move { platform::kafka::publish(&producer, &topic, &key, &bytes).await });
                        }
                    }
                    Some(result) = in_flight.next() => {
                        match result {
                            Ok(_) => published.fetch_add(1, Ordering::Relaxed),
                            Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                }
            }
            while let Some(result) = in_flight.next().await {
                if result.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let progress = bar(args.seconds, "positions flowing")?;
    tokio::time::sleep(warmup).await;
    clients.tell("measure").await?;
    let measured_from = Instant::now();
    let cores_before = super::cpu::Snapshot::take();
    let mut last = 0;
    for _ in 0..args.seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = clients.received_so_far()?;
        progress.inc(1);
        progress.set_message(format!("{} messages/s received", now.saturating_sub(last)));
        last = now;
    }
    clients.tell("stop").await?;
    let elapsed = measured_from.elapsed().as_secs_f64();
    let cores = cores_before.shares_since();
    let report = clients.reports().await?;
    publisher.await?;
    progress.finish_and_clear();

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for (value, count) in &report.latency_us {
        latency.record_n(*value, *count)?;
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    let rate = report.received as f64 / elapsed;
    println!(
        "    received {rate:>9.0} messages/s by clients   ({} positions published, {} publish errors, {} sockets closed by the server)",
        published.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        report.closed
    );
    println!(
        "    active sockets reached     {} of {} received at least one position while measuring ({} reopened: greeted before their notifier knew the order)",
        report.reached, report.active, report.reopened
    );
    println!(
        "    broker → client            p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   (target: >= 50,000/s at p99 <= 50 ms)",
        ms(latency.value_at_quantile(0.5)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max())
    );
    println!("    cores                      {}", super::cpu::describe(&cores, 7));
    let summary = json!({
        "notifier_instances": instances,
        "client_processes": clients.len(),
        "sockets": args.sockets,
        "active_sockets": active_sockets,
        "active_sockets_reached": report.reached,
        "sockets_reopened": report.reopened,
        "couriers": args.couriers,
        "orders_per_courier": args.orders_per_courier,
        "sockets_per_order": args.sockets_per_order,
        "positions_per_second_offered": args.rate,
        "messages_per_second_offered": args.rate * fanout as u64,
        "messages_per_second_received": rate,
        "notifier_rss_kib_before": rss_before,
        "notifier_rss_kib_with_sockets": rss_open,
        "bytes_per_socket": per_socket,
        "latency_p50_ms": ms(latency.value_at_quantile(0.5)),
        "latency_p99_ms": ms(latency.value_at_quantile(0.99)),
        "latency_max_ms": ms(latency.max()),
        "publish_errors": errors.load(Ordering::Relaxed),
        "sockets_closed_by_server": report.closed,
        "cores": cores,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&summary)?)?;
    println!("    results written to {}", args.out.display());
    anyhow::ensure!(
        report.reached == report.active,
        "{} active sockets received no position while measuring",
        report.active - report.reached
    );
    Ok(())
}
