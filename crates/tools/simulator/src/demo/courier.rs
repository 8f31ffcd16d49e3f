//! One courier: its phone app, which takes a GPS fix every second and posts them to the
//! tracker in batches, and the courier itself, who drives each order it is given to the
//! pickup, waits there, drives to the customer and hands the parcel over. The tracker
//! moves the order on from the positions (picked_up, in_transit, arriving); the courier
//! marks it delivered at the door.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::Demo;
use super::api::{CallError, Order, retry};
use super::console::Counters;
use super::fleet::{Courier, Duty, Job};
use super::geo::{self, Point};
use super::route::Trip;

/// The tracker takes at most this many points in a batch...
const MAX_BATCH: usize = 100;
/// ...and none older than 600 s; a backlog is cut shorter than that.
const MAX_BACKLOG_AGE: chrono::TimeDelta = chrono::TimeDelta::seconds(540);
/// GPS noise (metres) and the accuracy the app reports.
const GPS_NOISE_M: f64 = 3.0;
/// Loading at the pickup (seconds), then how long the tracker gets to notice the pickup
/// before the demo marks it itself.
const LOADING_SECS: std::ops::RangeInclusive<u64> = 10..=20;
const PICKUP_GRACE: Duration = Duration::from_secs(15);
/// Handing the parcel over at the door (seconds), then how long the tracker gets to
/// notice the arrival before the demo marks the order delivered anyway.
const HANDOVER_SECS: std::ops::RangeInclusive<u64> = 5..=10;
const ARRIVING_GRACE: Duration = Duration::from_secs(20);
/// How often the order is read while waiting for the tracker.
const POLL: Duration = Duration::from_secs(2);
/// A courier token's life; a new one is signed an hour before it ends.
const TOKEN_HOURS: i64 = 12;
/// Errors posting positions are counted always, logged at most this often per courier.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(30);
/// A free courier moves a little now and then (m/s, metres).
const DRIFT_SPEED_MPS: f64 = 1.5;
const DRIFT_M: std::ops::RangeInclusive<f64> = 50.0..=250.0;

/// Runs the courier until the demo stops: its app in the background, jobs as they come.
pub async fn run(demo: Arc<Demo>, courier: Arc<Courier>, mut jobs: tokio::sync::mpsc::Receiver<Job>, mut rng: StdRng) {
    let app = tokio::spawn(report(Arc::clone(&demo), Arc::clone(&courier), StdRng::from_rng(&mut rng)));
    loop {
        let idle_for = Duration::from_secs(rng.random_range(30..=90));
        tokio::select! {
            () = demo.stop.wait() => break,
            job = jobs.recv() => match job {
                Some(job) => {
                    deliver(&demo, &courier, job, &mut rng).await;
                    if courier.duty() == Duty::Busy {
                        courier.set_duty(Duty::Idle);
                    }
                }
                None => break,
            },
            () = tokio::time::sleep(idle_for) => {
                // Half the time a free courier stays put; otherwise it moves on a little.
                if courier.duty() == Duty::Idle && rng.random_bool(0.5) {
                    let from = courier.fix().point;
                    let to = geo::random_at_distance(&mut rng, from, *DRIFT_M.start(), *DRIFT_M.end());
                    courier.drive(Trip::plan(&mut rng, from, to, DRIFT_SPEED_MPS));
                }
            }
        }
    }
    let _ = app.await;
}

/// The courier's phone: a fix every second, a batch every `report_secs`.
async fn report(demo: Arc<Demo>, courier: Arc<Courier>, mut rng: StdRng) {
    let counters = &demo.console.counters;
    let secret = demo.settings.token_secret.as_bytes();
    let key = match demo.stack.courier(&courier.id) {
        Ok(key) => key,
        Err(error) => {
            eprintln!("courier {}: {error:#}", courier.id);
            return;
        }
    };
    let mut token = Token::sign(secret, &key);
    let mut backlog: Vec<(DateTime<Utc>, Value)> = Vec::new();
    let mut last_error_logged: Option<Instant> = None;
    let mut said_jump = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Fixes are taken exactly a second apart (as GPS receivers do), on the ticks' clock,
    // anchored to the wall clock again should the two drift apart.
    let mut anchor = (tokio::time::Instant::now(), Utc::now());
    loop {
        let ticked = tokio::select! {
            () = demo.stop.wait() => break,
            at = tick.tick() => at,
        };
        let mut now = anchor.1 + chrono::TimeDelta::from_std(ticked.duration_since(anchor.0)).unwrap_or_default();
        if (now - Utc::now()).abs() > chrono::TimeDelta::seconds(2) {
            anchor = (ticked, Utc::now());
            now = anchor.1;
        }
        backlog.push((now, gps_point(&mut rng, &courier, now)));
        if backlog.len() < demo.settings.report_secs {
            continue;
        }
        backlog.retain(|(at, _)| now - *at < MAX_BACKLOG_AGE);
        let excess = backlog.len().saturating_sub(MAX_BATCH);
        backlog.drain(..excess);
        if token.expires_soon() {
            token = Token::sign(secret, &key);
        }
        let points: Vec<Value> = backlog.iter().map(|(_, point)| point.clone()).collect();
        Counters::add(&counters.batches, 1);
        match demo.stack.post_positions(&courier.id, &token.value, &points).await {
            Ok(ingested) => {
                backlog.clear();
                Counters::add(&counters.accepted, ingested.accepted);
                for dropped in &ingested.dropped {
                    counters.dropped_because(&dropped.reason);
                }
                if ingested.accepted > 0 && courier.duty() == Duty::Starting {
                    courier.set_duty(Duty::Idle);
                    if said_jump {
                        demo.console
                            .log(format_args!("{} is in service: the tracker accepts its positions", courier.id));
                    }
                }
                let jumped = ingested.dropped.iter().any(|d| d.reason == "impossible_jump");
                if ingested.accepted == 0 && jumped && courier.duty() == Duty::Starting && !said_jump {
                    said_jump = true;
                    demo.console.log(format_args!(
                        "{} waits out of service: the tracker still has a recent position of it far from here \
                         (an earlier run?), so it refuses the jump until enough time has passed",
                        courier.id
                    ));
                }
            }
            Err(error) => {
                Counters::add(&counters.errors, 1);
                if last_error_logged.is_none_or(|at| at.elapsed() >= ERROR_LOG_EVERY) {
                    last_error_logged = Some(Instant::now());
                    let keeping =
                        if error.is_transient() { "; the app keeps the points and sends them again" } else { "" };
                    demo.console.log(format_args!("error: {error}{keeping} (logged every 30 s at most)"));
                }
                if !error.is_transient() {
                    backlog.clear();
                }
            }
        }
    }
}

/// One fix as the app reports it: the true position plus a few metres of noise.
fn gps_point(rng: &mut impl Rng, courier: &Courier, at: DateTime<Utc>) -> Value {
    let fix = courier.fix();
    let point = geo::random_within(rng, fix.point, GPS_NOISE_M);
    let mut value = json!({
        "lat": point.lat,
        "lon": point.lon,
        "recorded_at": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "accuracy_m": rng.random_range(4.0..9.0_f64).round(),
        "speed_mps": (fix.speed_mps * 10.0).round() / 10.0,
    });
    if fix.speed_mps > 0.5 {
        if let Some(object) = value.as_object_mut() {
            object.insert("heading_deg".to_owned(), json!(fix.heading_deg.round()));
        }
    }
    value
}

struct Token {
    value: String,
    expires_at: DateTime<Utc>,
}

impl Token {
    fn sign(secret: &[u8], courier: &domain::ids::CourierKey) -> Token {
        let expires_at = Utc::now() + chrono::TimeDelta::hours(TOKEN_HOURS);
        let value = domain::token::sign_courier(secret, courier, expires_at);
        Token { value, expires_at }
    }

    fn expires_soon(&self) -> bool {
        self.expires_at - Utc::now() < chrono::TimeDelta::hours(1)
    }
}

/// Delivers one order, start to end. Whatever goes wrong ends in the ledger (given up,
/// with the reason); the courier is free again afterwards.
async fn deliver(demo: &Demo, courier: &Courier, job: Job, rng: &mut StdRng) {
    let n = job.n;
    let Some(order) = assign(demo, courier, &job).await else { return };
    if !demo.ledger.is_active(n) {
        return; // given up (too long in the queue) while it was being assigned
    }
    demo.ledger.courier(n, &courier.id);
    demo.ledger.status(n, &order);

    // To the pickup, and a little into the yard.
    demo.ledger.stage(n, format!("{} driving to the pickup", courier.id));
    let yard = geo::random_within(rng, job.pickup, 15.0);
    if !drive(demo, courier, rng, yard, (n, "the pickup")).await {
        return;
    }
    demo.ledger.stage(n, format!("{} loading at the pickup", courier.id));
    let arrived = Instant::now();
    if !demo.stop.sleep(Duration::from_secs(rng.random_range(LOADING_SECS))).await {
        return;
    }
    let picked_up = match demo.watch_order(&job.id, PICKUP_GRACE, POLL, |o| o.reached("picked_up")).await {
        Some(order) => order,
        None if !demo.ledger.is_active(n) || demo.stop.is_set() => return,
        None => match pick_up_instead_of_the_tracker(demo, courier, &job, arrived).await {
            Some(order) => order,
            None => return,
        },
    };
    demo.ledger.status(n, &picked_up);

    // To the customer's door.
    demo.ledger.stage(n, format!("{} driving to the customer", courier.id));
    if !drive(demo, courier, rng, job.destination, (n, "the customer")).await {
        return;
    }
    demo.ledger.stage(n, format!("{} handing the parcel over", courier.id));
    let at_door = Instant::now();
    if !demo.stop.sleep(Duration::from_secs(rng.random_range(HANDOVER_SECS))).await {
        return;
    }
    match demo.watch_order(&job.id, ARRIVING_GRACE, POLL, |o| o.reached("arriving")).await {
        Some(arriving) => demo.ledger.status(n, &arriving),
        None if demo.stop.is_set() || !demo.ledger.is_active(n) => return,
        None => demo.console.log(format_args!(
            "order {n}: the tracker had not marked it arriving {} s after {} got to the door; delivering anyway",
            at_door.elapsed().as_secs(),
            courier.id
        )),
    }
    match move_on(demo, &job.id, "delivered", &format!("handed over by {}", courier.id)).await {
        Ok(order) if order.status == "delivered" => {
            if demo.ledger.delivered(n, &order) {
                Counters::add(&demo.console.counters.delivered, 1);
                demo.console.log(format_args!("order {n}: delivered by {}", courier.id));
            }
        }
        Ok(order) => demo.give_up(n, format!("ended {} instead of delivered", order.status)),
        Err(error) => demo.give_up(n, format!("could not be marked delivered: {error}")),
    }
}

/// The fallback when the tracker did not see the pickup: the demo marks the order picked
/// up itself (and says so). None when that failed (the order is given up).
async fn pick_up_instead_of_the_tracker(demo: &Demo, courier: &Courier, job: &Job, arrived: Instant) -> Option<Order> {
    let note = "set by the demo: the tracker did not see the pickup";
    match move_on(demo, &job.id, "picked_up", note).await {
        Ok(order) => {
            // The tracker may have come in between: then the status is its own.
            if order.timeline.iter().any(|e| e.status == "picked_up" && e.actor == "storefront") {
                Counters::add(&demo.console.counters.fallbacks, 1);
                demo.ledger.fallback(job.n);
                demo.console.log(format_args!(
                    "order {}: fallback: the tracker had not marked it picked up {} s after {} got to the pickup; \
                     the demo set picked_up",
                    job.n,
                    arrived.elapsed().as_secs(),
                    courier.id
                ));
            }
            Some(order)
        }
        Err(error) => {
            demo.give_up(job.n, format!("could not be marked picked up: {error}"));
            None
        }
    }
}

/// Assigns the order to the courier (re-reading its version after a race).
async fn assign(demo: &Demo, courier: &Courier, job: &Job) -> Option<Order> {
    let n = job.n;
    demo.ledger.stage(n, format!("being assigned to {}", courier.id));
    let mut version = job.version;
    for _ in 0..4 {
        match retry(demo, 4, || demo.stack.assign(&job.id, &courier.id, version)).await {
            Ok(order) => return Some(order),
            Err(error) if error.code() == Some("version_conflict") => {
                match retry(demo, 4, || demo.stack.order(&job.id)).await {
                    Ok(order) if order.is_final() => {
                        demo.give_up(n, format!("became {} before a courier was assigned", order.status));
                        return None;
                    }
                    Ok(order) => version = order.version,
                    Err(error) => {
                        demo.give_up(n, format!("could not be read: {error}"));
                        return None;
                    }
                }
            }
            Err(error) => {
                demo.give_up(n, format!("could not be assigned to {}: {error}", courier.id));
                cancel(demo, n, &job.id).await;
                return None;
            }
        }
    }
    demo.give_up(n, "could not be assigned: its version kept changing");
    None
}

/// Drives to `to` (for order `n`, to `place`), checking every second whether the demo
/// stopped or the order was given up; answers whether the courier got there.
async fn drive(demo: &Demo, courier: &Courier, rng: &mut StdRng, to: Point, (n, place): (u64, &str)) -> bool {
    let from = courier.fix().point;
    let speed = demo.settings.speed_mps * rng.random_range(0.9..=1.05);
    let trip = Trip::plan(rng, from, to, speed);
    demo.console.log(format_args!(
        "order {n}: {} drives {:.1} km to {place} (about {} min)",
        courier.id,
        trip.length_m() / 1000.0,
        (trip.seconds() / 60.0).round().max(1.0)
    ));
    let takes = courier.drive(trip);
    let arrival = tokio::time::Instant::now() + takes;
    while tokio::time::Instant::now() < arrival {
        let step = arrival.saturating_duration_since(tokio::time::Instant::now()).min(Duration::from_secs(1));
        if !demo.stop.sleep(step).await {
            return false;
        }
        if !demo.ledger.is_active(n) {
            courier.stand(courier.fix().point);
            return false;
        }
    }
    courier.stand(to);
    true
}

/// Moves the order on to `status` with `expected_version`, reading it again after a race
/// (the tracker's ETA updates change the version too). Answers the order as it then is;
/// an order already there or beyond is left alone.
async fn move_on(demo: &Demo, id: &str, status: &str, note: &str) -> Result<Order, CallError> {
    let mut last_error = None;
    for _ in 0..5 {
        let order = retry(demo, 4, || demo.stack.order(id)).await?;
        if order.reached(status) || order.is_final() {
            return Ok(order);
        }
        match retry(demo, 4, || demo.stack.set_status(id, status, note, order.version)).await {
            Ok(order) => return Ok(order),
            Err(error) if error.code() == Some("version_conflict") => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or(CallError::Unexpected { what: format!("order {id}"), error: "no attempt made".into() }))
}

/// Cancels an order the demo gave up before pickup, so it does not linger.
pub async fn cancel(demo: &Demo, n: u64, id: &str) {
    match retry(demo, 2, || demo.stack.cancel(id, "the demo gave it up")).await {
        Ok(_) => demo.console.log(format_args!("order {n}: cancelled")),
        Err(error) => demo.console.log(format_args!("order {n}: could not be cancelled ({error})")),
    }
}
