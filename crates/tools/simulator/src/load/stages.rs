//! Where a path's time goes, from the services' own histograms: each is scraped from
//! `/metrics` when generating starts and when it ends, and the difference read as a
//! distribution. Its quantiles are bucket bounds ("p99 ≤ 35 ms"), coarser than the
//! clients' own figures, but they split the whole path into its stages:
//!
//! - status change: the `PATCH` answered (order-api), the change's transaction → the
//!   broker's acknowledgement of its event (the outbox relays of order-api and
//!   order-grpc, every outboxed event), the event's broker timestamp → applied by the
//!   notifier (`order_updated`); the rest is the push and the client;
//! - position: a batch received → acknowledged by the broker (courier-tracker), the broker
//!   timestamp → applied by the notifier (`courier_locations`).

use serde_json::{Value, json};

/// One stage: a histogram of one service, the series picked by label values it must carry.
struct Stage {
    path: &'static str,
    name: &'static str,
    metric: &'static str,
    labels: &'static [&'static str],
    from: Scraped,
}

/// Which services' `/metrics` a stage is scraped from.
#[derive(Clone, Copy)]
enum Scraped {
    OrderApi,
    Relays,
    Tracker,
    Notifier,
}

const STAGES: [Stage; 5] = [
    Stage {
        path: "status",
        name: "PATCH answered",
        metric: "ordertrack_http_request_duration_seconds",
        labels: &["method=\"PATCH\"", "route=\"/orders/{id}/status\""],
        from: Scraped::OrderApi,
    },
    Stage {
        path: "status",
        name: "commit -> broker ack (outbox relays)",
        metric: "ordertrack_outbox_publish_delay_seconds",
        labels: &[],
        from: Scraped::Relays,
    },
    Stage {
        path: "status",
        name: "broker -> notifier applied",
        metric: "ordertrack_notifier_event_delay_seconds",
        labels: &["order_updated"],
        from: Scraped::Notifier,
    },
    Stage {
        path: "position",
        name: "received -> broker ack (tracker)",
        metric: "ordertrack_tracker_ingest_seconds",
        labels: &[],
        from: Scraped::Tracker,
    },
    Stage {
        path: "position",
        name: "broker -> notifier applied",
        metric: "ordertrack_notifier_event_delay_seconds",
        labels: &["courier_locations"],
        from: Scraped::Notifier,
    },
];

/// Where each stage's `/metrics` is.
pub struct Sources {
    pub order_api: String,
    pub relays: Vec<String>,
    pub tracker: String,
    pub notifier: String,
}

impl Sources {
    fn of(&self, from: Scraped) -> Vec<&str> {
        match from {
            Scraped::OrderApi => vec![self.order_api.as_str()],
            Scraped::Relays => self.relays.iter().map(String::as_str).collect(),
            Scraped::Tracker => vec![self.tracker.as_str()],
            Scraped::Notifier => vec![self.notifier.as_str()],
        }
    }
}

/// Cumulative bucket counts per stage: (upper bound in seconds, count), in bound order.
pub struct Snapshot(Vec<Vec<(f64, f64)>>);

impl Snapshot {
    pub async fn take(client: &reqwest::Client, sources: &Sources) -> Self {
        let mut pages = std::collections::HashMap::new();
        for stage in &STAGES {
            for base in sources.of(stage.from) {
                if !pages.contains_key(base) {
                    let page = match client.get(format!("{base}/metrics")).send().await {
                        Ok(response) => response.text().await.unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    pages.insert(base.to_owned(), page);
                }
            }
        }
        let stages = STAGES
            .iter()
            .map(|stage| {
                let pages: Vec<&str> =
                    sources.of(stage.from).iter().filter_map(|base| pages.get(*base).map(String::as_str)).collect();
                buckets(&pages, stage)
            })
            .collect();
        Self(stages)
    }

    /// Each stage's distribution between `earlier` and this snapshot.
    pub fn since(&self, earlier: &Snapshot) -> Value {
        let rows: Vec<Value> = STAGES
            .iter()
            .zip(&self.0)
            .zip(&earlier.0)
            .map(|((stage, now), before)| {
                let delta: Vec<(f64, f64)> = now
                    .iter()
                    .map(|(bound, count)| {
                        let earlier = before.iter().find(|(b, _)| b == bound).map_or(0.0, |(_, c)| *c);
                        (*bound, count - earlier)
                    })
                    .collect();
                let total = delta.last().map_or(0.0, |(_, c)| *c);
                json!({
                    "path": stage.path,
                    "stage": stage.name,
                    "count": total,
                    "p50_le_ms": quantile(&delta, 0.5),
                    "p99_le_ms": quantile(&delta, 0.99),
                })
            })
            .collect();
        json!(rows)
    }
}

/// The stage's cumulative buckets summed over the pages (several relays).
fn buckets(pages: &[&str], stage: &Stage) -> Vec<(f64, f64)> {
    let mut sums: Vec<(f64, f64)> = Vec::new();
    let prefix = format!("{}_bucket{{", stage.metric);
    for line in pages.iter().flat_map(|page| page.lines()) {
        let Some(rest) = line.strip_prefix(&prefix) else { continue };
        let Some((labels, count)) = rest.rsplit_once("} ") else { continue };
        if !stage.labels.iter().all(|wanted| labels.contains(wanted)) {
            continue;
        }
        let Some(le) = labels.split("le=\"").nth(1).and_then(|v| v.split('"').next()) else { continue };
        let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap_or(f64::INFINITY) };
        let count: f64 = count.trim().parse().unwrap_or(0.0);
        match sums.iter_mut().find(|(b, _)| *b == bound) {
            Some((_, sum)) => *sum += count,
            None => sums.push((bound, count)),
        }
    }
    sums.sort_by(|a, b| a.0.total_cmp(&b.0));
    sums
}

/// The smallest bucket bound (ms) under which `q` of the observations fall; `None` when
/// there were none, or when they fall past the last finite bound.
fn quantile(cumulative: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = cumulative.last()?.1;
    if total <= 0.0 {
        return None;
    }
    cumulative
        .iter()
        .find(|(_, count)| *count >= q * total)
        .map(|(bound, _)| bound * 1000.0)
        .filter(|ms| ms.is_finite())
}

/// Prints the stages under the report.
pub fn print(stages: &Value) {
    let Some(rows) = stages.as_array().filter(|rows| !rows.is_empty()) else { return };
    println!("    stages (the services' histograms over the generating time; bucket bounds):");
    let bound = |v: Option<&Value>| v.and_then(Value::as_f64).map_or("-".to_owned(), |ms| format!("<= {ms} ms"));
    for row in rows {
        println!(
            "      {:<9} {:<38} p50 {:>10}  p99 {:>10}  ({} observed)",
            row.get("path").and_then(Value::as_str).unwrap_or("?"),
            row.get("stage").and_then(Value::as_str).unwrap_or("?"),
            bound(row.get("p50_le_ms")),
            bound(row.get("p99_le_ms")),
            row.get("count").and_then(Value::as_f64).unwrap_or(0.0)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_quantiles_are_the_bucket_bounds_of_the_difference_between_two_scrapes() {
        let page = |a: u64, b: u64, c: u64| {
            format!(
                "ordertrack_notifier_event_delay_seconds_bucket{{service=\"notifier\",topic=\"order_updated\",le=\"0.01\"}} {a}\n\
                 ordertrack_notifier_event_delay_seconds_bucket{{service=\"notifier\",topic=\"order_updated\",le=\"0.05\"}} {b}\n\
                 ordertrack_notifier_event_delay_seconds_bucket{{service=\"notifier\",topic=\"order_updated\",le=\"+Inf\"}} {c}\n\
                 ordertrack_notifier_event_delay_seconds_bucket{{service=\"notifier\",topic=\"courier_locations\",le=\"0.01\"}} 999\n"
            )
        };
        let stage = STAGES.iter().find(|s| s.path == "status" && s.labels == ["order_updated"]).expect("the stage");
        let before = buckets(&[&page(100, 100, 100)], stage);
        // Between the scrapes: 90 under 10 ms, 9 more under 50 ms, 1 past every bound.
        let after = buckets(&[&page(190, 199, 200)], stage);
        let delta: Vec<(f64, f64)> = after.iter().zip(&before).map(|((b, n), (_, m))| (*b, n - m)).collect();
        assert_eq!(quantile(&delta, 0.5), Some(10.0));
        assert_eq!(quantile(&delta, 0.99), Some(50.0));
        assert_eq!(quantile(&delta, 0.999), None, "past the last finite bound there is no bound to give");
        // Two relays' pages add up.
        let relays = STAGES.iter().find(|s| s.metric == "ordertrack_outbox_publish_delay_seconds").expect("relays");
        let relay = "ordertrack_outbox_publish_delay_seconds_bucket{service=\"x\",le=\"0.02\"} 3\n\
                     ordertrack_outbox_publish_delay_seconds_bucket{service=\"x\",le=\"+Inf\"} 4\n";
        assert_eq!(buckets(&[relay, relay], relays), vec![(0.02, 6.0), (f64::INFINITY, 8.0)]);
    }
}
