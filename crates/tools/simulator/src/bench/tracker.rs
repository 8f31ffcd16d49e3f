//! `ordertrack-sim bench tracker`: thousands of simulated couriers, each posting a batch
//! of positions on its own schedule (open loop: a slow answer does not slow the
//! offered load), like courier apps in a large city. Reports accepted points per
//! second, the client's latency, and the tracker's own histogram of receipt → broker
//! acknowledgement.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::Mutex;

#[derive(clap::Args)]
pub struct TrackerArgs {
    /// courier-tracker's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    tracker: String,
    /// Signs the simulated couriers' tokens (the tracker's `couriers.token_secret`).
    #[arg(long, env = "ORDERTRACK_COURIERS__TOKEN_SECRET")]
    token_secret: String,
    #[arg(long, default_value_t = 10_000)]
    couriers: usize,
    /// Points per batch.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Each courier posts one batch this often (its points are spread over this time).
    #[arg(long, default_value_t = 5000)]
    every_ms: u64,
    /// Seconds measured (after a warm-up of one batch interval).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    #[arg(long, default_value = "target/bench/tracker.json")]
    out: PathBuf,
    /// The broker, for the floor: a bare producer sending the same batches as the
    /// tracker (same schedule, keys, message size and producer settings) to a topic of
    /// its own. Without it the floor is not measured.
    #[arg(long)]
    brokers: Option<String>,
    /// Partitions of the floor's topic (as `courier_locations`).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
}

struct Totals {
    requests: AtomicU64,
    errors: AtomicU64,
    accepted: AtomicU64,
    dropped: AtomicU64,
    latency: Mutex<Histogram<u64>>,
}

pub async fn run(args: TrackerArgs) -> anyhow::Result<()> {
    let every = Duration::from_millis(args.every_ms);
    let spacing_ms = (args.every_ms / args.batch.max(1) as u64).max(1);
    let offered = args.couriers as f64 * args.batch as f64 / every.as_secs_f64();
    println!("==> courier tracker at {}", args.tracker);
    println!(
        "    {} couriers, a batch of {} points every {} ms each: {:.0} points/s offered",
        args.couriers, args.batch, args.every_ms, offered
    );
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let server_before = ingest_histogram(&client, &args.tracker).await?;
    let totals = Arc::new(Totals {
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        latency: Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
    });
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + every;
    let end = measure_from + Duration::from_secs(args.seconds);
    let cores = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = super::cpu::Snapshot::take();
        tokio::time::sleep_until(end.into()).await;
        before.shares_since()
    });
    let expires = Utc::now() + chrono::Duration::hours(2);
    let mut couriers = Vec::with_capacity(args.couriers);
    for n in 0..args.couriers {
        let id = format!("sim-{n}");
        let courier = domain::ids::CourierKey::new(
            domain::ids::StoreId::parse(super::BENCH_STORE)?,
            domain::ids::CourierId::parse(&id)?,
        );
        let token = domain::token::sign_courier(args.token_secret.as_bytes(), &courier, expires);
        let (client, totals, url) =
            (client.clone(), Arc::clone(&totals), format!("{}/couriers/{id}/locations", args.tracker));
        let offset = every.mul_f64(n as f64 / args.couriers as f64);
        let batch = args.batch;
        couriers.push(tokio::spawn(async move {
            // Start somewhere in Moscow, drive north-east at ~15 m/s.
            let (mut lat, mut lon) = (55.60 + (n % 100) as f64 * 0.004, 37.40 + (n / 100 % 100) as f64 * 0.004);
            let mut next = start + offset;
            loop {
                tokio::time::sleep_until(next.into()).await;
                if Instant::now() >= end {
                    break;
                }
                let now = Utc::now();
                let points: Vec<_> = (0..batch)
                    .map(|i| {
                        lat += 0.00005;
                        lon += 0.00005;
                        let at = now - chrono::Duration::milliseconds((spacing_ms * (batch - 1 - i) as u64) as i64);
                        json!({ "lat": lat, "lon": lon, "recorded_at": at.to_rfc3339(), "accuracy_m": 8.0, "speed_mps": 15.0 })
                    })
                    .collect();
                let sent = Instant::now();
                let answer = client.post(&url).bearer_auth(&token).json(&json!({ "points": points })).send().await;
                let elapsed = sent.elapsed();
                if sent >= measure_from {
                    totals.requests.fetch_add(1, Ordering::Relaxed);
                    let _ = totals.latency.lock().await.record((elapsed.as_micros() as u64).max(1));
                    match answer {
                        Ok(response) if response.status().is_success() => {
                            let body: serde_json::Value = response.json().await.unwrap_or_default();
                            let accepted = body.get("accepted").and_then(|a| a.as_u64()).unwrap_or(0);
                            totals.accepted.fetch_add(accepted, Ordering::Relaxed);
                            totals.dropped.fetch_add(batch as u64 - accepted, Ordering::Relaxed);
                        }
                        _ => {
                            totals.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                next += every;
            }
        }));
    }
    let bar = ProgressBar::new(args.seconds);
    bar.set_style(
        ProgressStyle::with_template("    {prefix:<28} [{bar:30}] {pos:>3}/{len}s {msg}")?.progress_chars("=> "),
    );
    bar.set_prefix("couriers posting");
    tokio::time::sleep_until(measure_from.into()).await;
    let mut last = 0;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = totals.accepted.load(Ordering::Relaxed);
        bar.inc(1);
        bar.set_message(format!("{} points/s accepted", now - last));
        last = now;
    }
    for courier in couriers {
        let _ = courier.await;
    }
    bar.finish_and_clear();
    let cores = cores.await.unwrap_or_default();

    let server_after = ingest_histogram(&client, &args.tracker).await?;
    let server_p99 = bucket_quantile(&server_before, &server_after, 0.99);
    let server_p50 = bucket_quantile(&server_before, &server_after, 0.50);
    let latency = totals.latency.lock().await;
    let seconds = args.seconds as f64;
    let accepted = totals.accepted.load(Ordering::Relaxed);
    let ms = |micros: u64| micros as f64 / 1000.0;
    let report = json!({
        "couriers": args.couriers,
        "batch": args.batch,
        "every_ms": args.every_ms,
        "seconds": args.seconds,
        "offered_points_per_second": offered,
        "accepted_points_per_second": accepted as f64 / seconds,
        "dropped_points": totals.dropped.load(Ordering::Relaxed),
        "requests": totals.requests.load(Ordering::Relaxed),
        "errors": totals.errors.load(Ordering::Relaxed),
        "client_p50_ms": ms(latency.value_at_quantile(0.5)),
        "client_p99_ms": ms(latency.value_at_quantile(0.99)),
        "client_max_ms": ms(latency.max()),
        "server_receipt_to_ack_p50_ms_at_most": server_p50.map(|s| s * 1000.0),
        "server_receipt_to_ack_p99_ms_at_most": server_p99.map(|s| s * 1000.0),
        "cores": cores,
    });
    println!(
        "    accepted {:>9.0} points/s   ({} batches, {} errors, {} points dropped)",
        accepted as f64 / seconds,
        totals.requests.load(Ordering::Relaxed),
        totals.errors.load(Ordering::Relaxed),
        totals.dropped.load(Ordering::Relaxed)
    );
    println!(
        "    client latency             p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms",
        ms(latency.value_at_quantile(0.5)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max())
    );
    match (server_p50, server_p99) {
        (Some(p50), Some(p99)) => println!(
            "    receipt → broker ack       p50 <= {:.0} ms   p99 <= {:.0} ms   (tracker_ingest_seconds buckets; target p99 <= 20 ms)",
            p50 * 1000.0,
            p99 * 1000.0
        ),
        _ => println!("    receipt → broker ack       no samples"),
    }
    println!("    cores                      {}", super::cpu::describe(&cores, 7));
    let mut report = report;
    if let Some(brokers) = &args.brokers {
        let floor = bare_producer(&args, brokers).await?;
        let ratio = (accepted as f64 / seconds) / floor.accepted_per_second.max(1.0);
        println!("    tracker / bare producer    {:>6.1} % of its accepted points/s   (target >= 70 %)", ratio * 100.0);
        if let Some(fields) = report.as_object_mut() {
            fields.insert("bare_producer".into(), serde_json::to_value(&floor)?);
            fields.insert("tracker_vs_bare_producer".into(), json!(ratio));
        }
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)?;
    println!("    results written to {}", args.out.display());
    Ok(())
}

/// The tracker's `tracker_ingest_seconds` buckets: (upper bound, cumulative count).
async fn ingest_histogram(client: &reqwest::Client, base: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    let text = client.get(format!("{base}/metrics")).send().await?.text().await?;
    Ok(text
        .lines()
        .filter(|line| line.starts_with("ordertrack_tracker_ingest_seconds_bucket"))
        .filter_map(|line| {
            let le = line.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            let count = line.rsplit(' ').next()?.parse().ok()?;
            Some((bound, count))
        })
        .collect())
}

/// The smallest bucket bound below which `quantile` of the samples between the two
/// readings fall (an upper bound on that quantile).
fn bucket_quantile(before: &[(f64, f64)], after: &[(f64, f64)], quantile: f64) -> Option<f64> {
    let deltas: Vec<(f64, f64)> = after
        .iter()
        .map(|(bound, count)| {
            let earlier = before.iter().find(|(b, _)| b == bound).map_or(0.0, |(_, c)| *c);
            (*bound, count - earlier)
        })
        .collect();
    let total = deltas.last()?.1;
    if total <= 0.0 {
        return None;
    }
    deltas.iter().find(|(_, count)| *count >= quantile * total).map(|(bound, _)| *bound)
}

/// What the bare producer measured.
#[derive(Debug, serde::Serialize)]
struct Floor {
    accepted_per_second: f64,
    errors: u64,
    ack_p50_ms: f64,
    ack_p99_ms: f64,
    ack_max_ms: f64,
    cores: Vec<super::cpu::Share>,
}

/// The tracker's floor: the same couriers' batches, on the same schedule, each one message
/// keyed by courier and awaited as the tracker awaits it, produced straight to the broker
/// with the services' producer settings. Points count as accepted when acknowledged.
async fn bare_producer(args: &TrackerArgs, brokers: &str) -> anyhow::Result<Floor> {
    use domain::events::{CourierLocations, Envelope, envelope::Payload};
    use platform::kafka::{self, TopicSpec};
    use prost::Message;

    println!("==> the floor: a bare producer sending the same batches to the broker at {brokers}");
    let config = kafka::settings_from_env(brokers)?;
    let topic = "bench_tracker_floor".to_owned();
    kafka::create_topics(&config, &[TopicSpec { name: topic.clone(), partitions: args.partitions }]).await?;
    let producer = kafka::producer(&config, "ordertrack-bench-floor")?;
    let every = Duration::from_millis(args.every_ms);
    let spacing_ms = (args.every_ms / args.batch.max(1) as u64).max(1) as i64;
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + every;
    let end = measure_from + Duration::from_secs(args.seconds);
    let accepted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let cores = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = super::cpu::Snapshot::take();
        tokio::time::sleep_until(end.into()).await;
        before.shares_since()
    });
    let mut couriers = Vec::with_capacity(args.couriers);
    for n in 0..args.couriers {
        let (producer, topic) = (producer.clone(), topic.clone());
        let (accepted, errors, latency) = (Arc::clone(&accepted), Arc::clone(&errors), Arc::clone(&latency));
        let offset = every.mul_f64(n as f64 / args.couriers as f64);
        let batch = args.batch;
        couriers.push(tokio::spawn(async move {
            let id = format!("sim-{n}");
            let (mut lat, mut lon) = (55.60 + (n % 100) as f64 * 0.004, 37.40 + (n / 100 % 100) as f64 * 0.004);
            let mut next = start + offset;
            loop {
                tokio::time::sleep_until(next.into()).await;
                if Instant::now() >= end {
                    break;
                }
                let now = Utc::now();
                let positions = (0..batch)
                    .filter_map(|i| {
                        lat += 0.00005;
                        lon += 0.00005;
                        let point = domain::geo::Coordinates::parse(lat, lon).ok()?;
                        let position = domain::position::Position {
                            point,
                            recorded_at: now - chrono::Duration::milliseconds(spacing_ms * (batch - 1 - i) as i64),
                            accuracy_m: 8.0,
                            speed_mps: Some(15.0),
                            heading_deg: None,
                        };
                        Some(position.to_event())
                    })
                    .collect();
                let envelope = Envelope::new(
                    "courier-tracker",
                    domain::convert::timestamp(now),
                    Payload::CourierLocations(CourierLocations {
                        courier_id: id.clone(),
                        positions,
                        store_id: super::BENCH_STORE.into(),
                    }),
                );
                let sent = Instant::now();
                let key = format!("{}/{id}", super::BENCH_STORE);
                let outcome = kafka::publish(&producer, &topic, &key, &envelope.encode_to_vec()).await;
                if sent >= measure_from {
                    match outcome {
                        Ok(_) => {
                            accepted.fetch_add(batch as u64, Ordering::Relaxed);
                            let _ = latency.lock().await.record((sent.elapsed().as_micros() as u64).max(1));
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                next += every;
            }
        }));
    }
    for courier in couriers {
        let _ = courier.await;
    }
    let cores = cores.await.unwrap_or_default();
    let latency = latency.lock().await;
    let ms = |micros: u64| micros as f64 / 1000.0;
    let floor = Floor {
        accepted_per_second: accepted.load(Ordering::Relaxed) as f64 / args.seconds as f64,
        errors: errors.load(Ordering::Relaxed),
        ack_p50_ms: ms(latency.value_at_quantile(0.5)),
        ack_p99_ms: ms(latency.value_at_quantile(0.99)),
        ack_max_ms: ms(latency.max()),
        cores,
    };
    println!(
        "    accepted {:>9.0} points/s   send → ack p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms   ({} errors)",
        floor.accepted_per_second, floor.ack_p50_ms, floor.ack_p99_ms, floor.ack_max_ms, floor.errors
    );
    println!("    cores                      {}", super::cpu::describe(&floor.cores, 7));
    Ok(floor)
}
