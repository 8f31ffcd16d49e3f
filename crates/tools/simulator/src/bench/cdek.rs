//! `ordertrack-sim bench cdek`: how long CDEK's news takes to reach an order, through the
//! whole local stack (order-api, order-grpc, the logistics adapter, the CDEK double).
//!
//! 1. Registration: `POST /orders` with delivery CDEK → the order shows its CDEK number
//!    (`carrier_reference`); includes the double's processing delay and the adapter's
//!    registration poll.
//! 2. Status: the double records a status (as CDEK would) → its webhook → the adapter
//!    reads the order back → `order_commands` → order-grpc → `GET /orders/{id}` shows
//!    the new status. This is the "within seconds" promise.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{Value, json};

#[derive(clap::Args)]
pub struct CdekArgs {
    /// order-api's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api: String,
    /// A storefront API key.
    #[arg(long, env = "ORDERTRACK_BENCH_KEY")]
    key: String,
    /// The CDEK double's base URL (its /control endpoints move orders on).
    #[arg(long, default_value = "http://127.0.0.1:8085")]
    double: String,
    /// CDEK orders to create and move on.
    #[arg(long, default_value_t = 200)]
    orders: usize,
    /// Orders in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Where to write the results.
    #[arg(long, default_value = "target/bench/cdek.json")]
    out: PathBuf,
}

/// How often the order is read while waiting for a change.
const POLL: Duration = Duration::from_millis(10);
const GIVE_UP: Duration = Duration::from_secs(60);

pub async fn run(args: CdekArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).build()?;
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let args = Arc::new(args);

    println!("==> registration: {} CDEK orders, {} at a time", args.orders, args.concurrency);
    let bar = super::bar(args.orders as u64, "registering CDEK orders")?;
    let registered: Vec<Option<(String, Duration)>> = futures::stream::iter(0..args.orders)
        .map(|n| {
            let (client, args, bar) = (client.clone(), Arc::clone(&args), bar.clone());
            let number = format!("cdek-{}-{n}", &run_id[..8]);
            async move {
                let result = register(&client, &args, &number).await;
                bar.inc(1);
                result.ok()
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    bar.finish_and_clear();
    let registered: Vec<(String, Duration)> = registered.into_iter().flatten().collect();
    let registration = summary("create → CDEK number on the order", registered.iter().map(|(_, d)| *d), args.orders);

    let uuids = cdek_uuids(&client, &args.double).await?;
    println!("==> status: CDEK records RECEIVED_AT_SHIPMENT_WAREHOUSE → the order shows picked_up");
    let bar = super::bar(registered.len() as u64, "moving them on at CDEK")?;
    let started = Instant::now();
    let moved: Vec<Option<Duration>> = futures::stream::iter(registered.iter().cloned())
        .map(|(id, _)| {
            let (client, args, bar) = (client.clone(), Arc::clone(&args), bar.clone());
            let uuid = uuids.get(&id).cloned();
            async move {
                let result = match uuid {
                    Some(uuid) => advance(&client, &args, &id, &uuid).await.ok(),
                    None => None,
                };
                bar.inc(1);
                result
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let status = summary("CDEK status → order status", moved.iter().flatten().copied(), registered.len());
    println!("    {:<36} {:>7.1} /s", "statuses applied", moved.iter().flatten().count() as f64 / elapsed);

    let report = json!({
        "orders": args.orders,
        "concurrency": args.concurrency,
        "registration": registration,
        "status": status,
        "statuses_per_second": moved.iter().flatten().count() as f64 / elapsed,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)?;
    println!("==> written to {}", args.out.display());
    Ok(())
}

/// Prints and returns p50/p99/max of `samples` (and how many of `expected` finished).
fn summary(name: &str, samples: impl Iterator<Item = Duration>, expected: usize) -> Value {
    let mut histogram = match Histogram::<u64>::new_with_bounds(1, 600_000_000, 3) {
        Ok(histogram) => histogram,
        Err(_) => return json!(null),
    };
    for sample in samples {
        let _ = histogram.record((sample.as_micros() as u64).max(1));
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    let (p50, p99, max) =
        (ms(histogram.value_at_quantile(0.5)), ms(histogram.value_at_quantile(0.99)), ms(histogram.max()));
    println!(
        "    {name:<36} p50 {p50:>8.1} ms   p99 {p99:>8.1} ms   max {max:>8.1} ms   ({} of {expected} done)",
        histogram.len()
    );
    json!({"done": histogram.len(), "expected": expected, "p50_ms": p50, "p99_ms": p99, "max_ms": max})
}

async fn register(client: &reqwest::Client, args: &CdekArgs, number: &str) -> anyhow::Result<(String, Duration)> {
    let started = Instant::now();
    let created: Value = client
        .post(format!("{}/orders", args.api))
        .bearer_auth(&args.key)
        .json(&json!({
            "store_order_number": number,
            "customer": { "name": "Bench Customer", "phone": "+79160000000", "email": "bench@example.com" },
            "pickup": { "address": "Moscow, Warehouse 1", "lat": 55.70, "lon": 37.58 },
            "destination": { "address": "Saint Petersburg, Nevsky 1", "lat": 59.93, "lon": 30.33 },
            "parcels": [ { "weight_grams": 1000, "length_cm": 20, "width_cm": 20, "height_cm": 20 } ],
            "delivery": { "method": "cdek", "cdek_tariff_code": 137 }
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = created.get("id").and_then(Value::as_str).context("no id in the answer")?.to_owned();
    wait_for(client, args, &id, |order| order.get("carrier_reference").is_some_and(Value::is_string)).await?;
    Ok((id, started.elapsed()))
}

/// The CDEK uuid of every order at the double, by its number (the ordertrack order id).
async fn cdek_uuids(client: &reqwest::Client, double: &str) -> anyhow::Result<HashMap<String, String>> {
    let orders: Vec<Value> = client.get(format!("{double}/control/orders")).send().await?.json().await?;
    Ok(orders
        .into_iter()
        .filter_map(|o| Some((o.get("number")?.as_str()?.to_owned(), o.get("uuid")?.as_str()?.to_owned())))
        .collect())
}

async fn advance(client: &reqwest::Client, args: &CdekArgs, id: &str, uuid: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    client
        .post(format!("{}/control/orders/{uuid}/status", args.double))
        .json(&json!({"code": "RECEIVED_AT_SHIPMENT_WAREHOUSE", "city": "Москва"}))
        .send()
        .await?
        .error_for_status()?;
    wait_for(client, args, id, |order| order.get("status").and_then(Value::as_str) == Some("picked_up")).await?;
    Ok(started.elapsed())
}

async fn wait_for(
    client: &reqwest::Client,
    args: &CdekArgs,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + GIVE_UP;
    while Instant::now() < deadline {
        let order: Value =
            client.get(format!("{}/orders/{id}", args.api)).bearer_auth(&args.key).send().await?.json().await?;
        if done(&order) {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
    anyhow::bail!("order {id} did not change within {} s", GIVE_UP.as_secs())
}
