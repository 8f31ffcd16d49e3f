//! The couriers: each posts a batch of positions to the tracker every `--every-secs`, on
//! its own fixed schedule (open loop: a slow answer does not delay the next batch). The
//! send time of each batch is kept by (courier, newest point's time) so a socket that
//! receives the position can tell how long it took.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Load;
use super::metrics::Count;

/// Couriers drive around the centre, far from the orders' pickup and destination (see
/// `orders::PICKUP`), so the tracker's geofences leave the orders to the run.
const CENTRE: (f64, f64) = (55.7522, 37.6156);
const AREA_DEG: f64 = 0.04;
const SPEED_MPS: f64 = 12.0;
/// A point closer than 5 m to the last one within a second is thinned out by the tracker.
const MIN_STEP_M: f64 = 6.0;
/// How long a batch's send time is kept for the sockets to find.
const KEEP: Duration = Duration::from_secs(120);

/// Send times of recent batches: (courier, newest point in ms since the epoch) → sent.
#[derive(Default)]
pub struct Sent(Mutex<HashMap<(usize, i64), Instant>>);

impl Sent {
    fn insert(&self, courier: usize, newest_ms: i64, at: Instant) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert((courier, newest_ms), at);
    }

    pub fn find(&self, courier: usize, recorded_at: DateTime<Utc>) -> Option<Instant> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&(courier, recorded_at.timestamp_millis())).copied()
    }

    /// Forgets batches older than [`KEEP`].
    pub fn prune(&self) {
        let now = Instant::now();
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, at| now.saturating_duration_since(*at) < KEEP);
    }
}

pub fn courier_id(tag: &str, n: usize) -> String {
    format!("load-{tag}-c{n}")
}

/// Runs courier `n` until the load stops (the drain included: orders still moving need
/// their couriers' positions too).
pub async fn run(load: Arc<Load>, n: usize) {
    let settings = &load.settings;
    let id = courier_id(&settings.tag, n);
    let expires = Utc::now() + chrono::Duration::hours(24);
    let token = match load.stack.courier(&id) {
        Ok(courier) => domain::token::sign_courier(settings.token_secret.as_bytes(), &courier, expires),
        Err(error) => {
            eprintln!("{error:#}");
            return;
        }
    };
    let every = Duration::from_secs_f64(settings.every_secs);
    let spacing = every.as_secs_f64() / settings.batch as f64;
    let step_m = (SPEED_MPS * spacing).max(MIN_STEP_M);
    let offset = every.mul_f64(phase(n));
    let mut next = tokio::time::Instant::now() + offset;
    let (mut lat, mut lon) = start(n);
    let mut heading = (n as f64 * 2.399_963).rem_euclid(std::f64::consts::TAU);
    let mut tick = 0u64;
    while !load.finished() {
        tokio::time::sleep_until(next).await;
        next += every;
        tick += 1;
        let now = Utc::now();
        let newest = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        let points: Vec<Value> = (0..settings.batch)
            .map(|i| {
                // Turn a little every batch; bounce back towards the centre at the area's edge.
                heading += 0.05 * (((tick + i as u64) % 7) as f64 - 3.0) / 3.0;
                if (lat - CENTRE.0).abs() > AREA_DEG || (lon - CENTRE.1).abs() > AREA_DEG * 1.7 {
                    heading = (CENTRE.0 - lat).atan2((CENTRE.1 - lon) * 0.56);
                }
                lat += step_m * heading.sin() / 111_320.0;
                lon += step_m * heading.cos() / (111_320.0 * 0.56);
                let back = spacing * (settings.batch - 1 - i) as f64;
                let at = newest - chrono::Duration::microseconds((back * 1e6) as i64);
                json!({
                    "lat": lat, "lon": lon,
                    "recorded_at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    "accuracy_m": 8.0, "speed_mps": SPEED_MPS,
                })
            })
            .collect();
        let sent = Instant::now();
        load.sent.insert(n, newest.timestamp_millis(), sent);
        load.metrics.add(Count::BatchesSent, 1);
        load.metrics.add(Count::PositionsSent, points.len() as u64);
        let load = Arc::clone(&load);
        let (id, token) = (id.clone(), token.clone());
        tokio::spawn(async move {
            match load.stack.post_positions(&id, &token, &points).await {
                Ok(ingested) => {
                    load.metrics.add(Count::PositionsAccepted, ingested.accepted);
                    for dropped in &ingested.dropped {
                        load.metrics.dropped(&dropped.reason);
                    }
                }
                Err(error) => load.metrics.error("positions", &error),
            }
        });
    }
}

/// Where in its interval courier `n` posts (0 to 1): spread over the interval, and
/// neighbours far apart. Orders take couriers by number, so the busy couriers (whose
/// positions go to sockets) are neighbours; with `n / couriers` they would all post in
/// the same moment. Multiples of the golden ratio spread any run of neighbours evenly.
fn phase(n: usize) -> f64 {
    (n as f64 * 0.618_034).fract()
}

/// Couriers start spread over the area.
fn start(n: usize) -> (f64, f64) {
    let a = (n as f64 * 0.618_034).fract() * 2.0 - 1.0;
    let b = (n as f64 * 0.754_877).fract() * 2.0 - 1.0;
    (CENTRE.0 + a * AREA_DEG * 0.9, CENTRE.1 + b * AREA_DEG * 1.5)
}

#[cfg(test)]
mod tests {
    use super::phase;

    /// The largest gap (around the circle) between the phases of `count` neighbours from `first`.
    fn largest_gap(first: usize, count: usize) -> f64 {
        let mut phases: Vec<f64> = (first..first + count).map(phase).collect();
        phases.sort_by(f64::total_cmp);
        let wrap = 1.0 - phases[count - 1] + phases[0];
        phases.windows(2).map(|pair| pair[1] - pair[0]).fold(wrap, f64::max)
    }

    #[test]
    fn neighbouring_couriers_post_at_moments_spread_over_the_interval() {
        for first in [0, 1, 299, 1000, 12_345] {
            // 50 neighbours, e.g. the busy couriers of 50 consecutive orders: even, not
            // bunched (`n / couriers` with 300 couriers left a gap of 0.84).
            assert!(largest_gap(first, 50) < 0.05, "from courier {first}: gap {}", largest_gap(first, 50));
        }
        assert!((0..10_000).map(phase).all(|p| (0.0..1.0).contains(&p)));
    }
}
