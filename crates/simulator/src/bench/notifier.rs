//! `ordertrack-sim bench notifier`: many open sockets on one notifier, then a stream of
//! courier positions fanned out to the customers watching. Measures the notifier's
//! resident memory per socket, the messages pushed per second that clients received,
//! and the latency from the publish to the broker to the client (each position's
//! `recorded_at` is its publish time; client and notifier share the clock).
//!
//! It needs only the notifier and the broker: the orders (each assigned to a courier)
//! are published to `order_created` first, as the orders service would.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::bar;
use chrono::{DateTime, Utc};
use domain::convert::timestamp;
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::topics::Topic;
use futures::StreamExt;
use hdrhistogram::Histogram;
use platform::kafka::KafkaConfig;
use prost::Message as _;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args)]
pub struct NotifierArgs {
    /// The notifier's HTTP base URL (its WebSocket is the same host).
    #[arg(long, default_value = "http://127.0.0.1:8082")]
    notifier: String,
    /// The notifier's process id, to read its resident memory (/proc/<pid>/status).
    #[arg(long)]
    pid: Option<u32>,
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
    #[arg(long, default_value = "target/bench/notifier.json")]
    out: PathBuf,
}

struct Totals {
    received: AtomicU64,
    latency: Mutex<Histogram<u64>>,
    measuring: std::sync::atomic::AtomicBool,
    closed: AtomicU64,
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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
        brokers: args.brokers.clone(),
        topic_prefix: args.topic_prefix.clone(),
        idempotence: false,
        linger_ms: 5,
        ..KafkaConfig::default()
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
    println!("    the notifier knows the {active_orders} orders");

    // 2. The sockets.
    let rss_before = rss_kib(args.pid);
    let totals = Arc::new(Totals {
        received: AtomicU64::new(0),
        latency: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
        measuring: std::sync::atomic::AtomicBool::new(false),
        closed: AtomicU64::new(0),
    });
    let ws_base = args.notifier.replacen("http", "ws", 1);
    let expires = Utc::now() + chrono::Duration::hours(1);
    let progress = bar(args.sockets as u64, "opening sockets")?;
    let targets: Vec<String> = (0..args.sockets)
        .map(|n| match orders.get(n / args.sockets_per_order) {
            Some(order) if n < active_sockets => order.clone(),
            _ => uuid::Uuid::now_v7().to_string(),
        })
        .collect();
    let mut readers = Vec::with_capacity(args.sockets);
    for chunk in targets.chunks(200) {
        let connects = chunk.iter().map(|order| {
            let id = order.parse().unwrap_or_default();
            let ticket = domain::ticket::sign(args.ticket_secret.as_bytes(), id, expires);
            let url = format!("{ws_base}/ws?ticket={ticket}");
            async move { tokio_tungstenite::connect_async(url).await }
        });
        for connected in futures::future::join_all(connects).await {
            let (socket, _) = connected?;
            let totals = Arc::clone(&totals);
            readers.push(tokio::spawn(read(socket, totals)));
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_open = rss_kib(args.pid);
    let per_socket = match (rss_before, rss_open) {
        (Some(before), Some(open)) => Some(open.saturating_sub(before) as f64 * 1024.0 / args.sockets as f64),
        _ => None,
    };
    match per_socket {
        Some(bytes) => println!(
            "    {} sockets open: notifier RSS {} → {} KiB, {:.1} KB per socket (target <= 15 KB)",
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
    let end = start + warmup + Duration::from_secs(args.seconds);
    let published = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let publisher = {
        let (producer, published, errors, totals) =
            (producer.clone(), Arc::clone(&published), Arc::clone(&errors), Arc::clone(&totals));
        let couriers = args.couriers;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(10));
            let mut next_courier = 0usize;
            let mut in_flight = futures::stream::FuturesUnordered::new();
            while Instant::now() < end {
                tokio::select! {
                    _ = ticks.tick() => {
                        if Instant::now() >= start + warmup {
                            totals.measuring.store(true, Ordering::Release);
                        }
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
                            let batch = pb::CourierLocations { courier_id: courier.clone(), positions: vec![position] };
                            let bytes = Envelope::new("bench", timestamp(Utc::now()), Payload::CourierLocations(batch)).encode_to_vec();
                            let (producer, topic) = (producer.clone(), locations_topic.clone());
                            in_flight.push(async move { platform::kafka::publish(&producer, &topic, &courier, &bytes).await });
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
            totals.measuring.store(false, Ordering::Release);
            while let Some(result) = in_flight.next().await {
                if result.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let progress = bar(args.seconds, "positions flowing")?;
    tokio::time::sleep(warmup).await;
    let received_from = totals.received.load(Ordering::Relaxed);
    let measured_from = Instant::now();
    let cores_before = super::cpu::Snapshot::take();
    let mut last = received_from;
    for _ in 0..args.seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = totals.received.load(Ordering::Relaxed);
        progress.inc(1);
        progress.set_message(format!("{} messages/s received", now - last));
        last = now;
    }
    let received = totals.received.load(Ordering::Relaxed) - received_from;
    let elapsed = measured_from.elapsed().as_secs_f64();
    let cores = cores_before.shares_since();
    publisher.await?;
    progress.finish_and_clear();

    let latency = totals.latency.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    let ms = |micros: u64| micros as f64 / 1000.0;
    let rate = received as f64 / elapsed;
    let closed = totals.closed.load(Ordering::Relaxed);
    println!(
        "    received {rate:>9.0} messages/s by clients   ({} positions published, {} publish errors, {closed} sockets closed by the server)",
        published.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed)
    );
    println!(
        "    broker → client            p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   (target: >= 50,000/s at p99 <= 50 ms)",
        ms(latency.value_at_quantile(0.5)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max())
    );
    println!("    cores                      {}", super::cpu::describe(&cores, 7));
    let report = json!({
        "sockets": args.sockets,
        "active_sockets": active_sockets,
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
        "sockets_closed_by_server": closed,
        "cores": cores,
    });
    for reader in readers {
        reader.abort();
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)?;
    println!("    results written to {}", args.out.display());
    Ok(())
}

/// Reads one socket until it closes, timing every position while measuring.
async fn read(
    mut socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    totals: Arc<Totals>,
) {
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => {
                if !totals.measuring.load(Ordering::Acquire) || !text.contains("\"type\":\"position\"") {
                    continue;
                }
                let now = Utc::now();
                let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                let Some(sent) =
                    value.get("recorded_at").and_then(|v| v.as_str()).and_then(|t| t.parse::<DateTime<Utc>>().ok())
                else {
                    continue;
                };
                let micros = (now - sent).num_microseconds().unwrap_or(i64::MAX).max(1) as u64;
                totals.received.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut histogram) = totals.latency.lock() {
                    let _ = histogram.record(micros.min(60_000_000));
                }
            }
            Ok(Message::Close(_)) | Err(_) => {
                totals.closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
        }
    }
}
