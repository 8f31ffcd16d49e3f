//! One order's life in the load run: created over REST with an `Idempotency-Key` (a retry
//! sends the same key, so nothing is doubled), watched by its customers' sockets, then
//! either assigned to a courier and moved along by explicit status changes
//! (`courier_assigned` → `picked_up` → `in_transit` → `arriving` → `delivered`), or shipped
//! with CDEK and moved along by statuses recorded at the double. The send time of every
//! status change is kept for the status → socket latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::Load;
use super::metrics::{Count, Measure};
use super::record::OrderRecord;
use crate::demo::api::{CallError, Order};
use crate::demo::cdek::{Place, SEQUENCE};

/// Pickup and destination of own-courier orders: outside the area the couriers drive in,
/// so the tracker's geofences never move the orders (the run does, and times it).
const PICKUP: (f64, f64) = (55.60, 37.35);
const DESTINATION: (f64, f64) = (55.90, 37.85);
const OWN_STEPS: [&str; 4] = ["picked_up", "in_transit", "arriving", "delivered"];
const CDEK_CITY: &str = "Санкт-Петербург";

pub fn body(number: &str, cdek: bool) -> Value {
    let (destination, delivery) = if cdek {
        (
            json!({ "address": "Санкт-Петербург, Невский пр-т, 28", "lat": 59.9358, "lon": 30.3259 }),
            json!({ "method": "cdek", "cdek_tariff_code": 137 }),
        )
    } else {
        (
            json!({ "address": "Москва, ул. Нагатинская, 1", "lat": DESTINATION.0, "lon": DESTINATION.1 }),
            json!({ "method": "own_courier" }),
        )
    };
    json!({
        "store_order_number": number,
        "customer": { "name": "Load Customer", "phone": "+79160000000", "email": format!("{number}@example.com") },
        "pickup": { "address": "Склад «Юг», Варшавское ш., 170", "lat": PICKUP.0, "lon": PICKUP.1 },
        "destination": destination,
        "parcels": [ { "weight_grams": 1000, "length_cm": 20, "width_cm": 20, "height_cm": 20 } ],
        "delivery": delivery,
    })
}

/// Creates order `n` and follows it to its end; answers its record (None if it was
/// never created).
pub async fn run(load: Arc<Load>, n: u64, cdek: bool) -> Option<OrderRecord> {
    let number = format!("{}{n}", super::record::number_prefix(&load.settings.tag));
    let body = body(&number, cdek);
    let order = retry(&load, "create", || {
        let (load, body, number) = (&load, &body, &number);
        async move {
            let sent = Instant::now();
            let answer = load.stack.create_order(body, number).await;
            if answer.is_ok() {
                load.metrics.latency(Measure::Create, sent, 1);
            }
            answer
        }
    })
    .await;
    let order = match order {
        Ok(order) => order,
        Err(error) => {
            load.metrics.add(Count::OrdersGivenUp, 1);
            load.log(format!("order {number}: not created: {error}"));
            return None;
        }
    };
    load.metrics.add(Count::OrdersCreated, 1);
    load.remember(&order.id);
    let mut sockets = JoinSet::new();
    if let Some(token) = order.tracking.as_ref().map(|t| t.token.clone()).filter(|t| !t.is_empty()) {
        for _ in 0..load.settings.sockets_per_order {
            sockets.spawn(super::sockets::watch(Arc::clone(&load), order.id.clone(), token.clone()));
        }
    } else {
        load.metrics.error_kind("create: no tracking token in the answer".into());
    }
    let outcome = if cdek { cdek_life(&load, &order).await } else { own_life(&load, n, &order).await };
    let outcome = match outcome {
        Ok(status) => status,
        Err(reason) => {
            // Whatever went wrong, the order must not be left active: cancel it if it can be.
            let cancelled = retry(&load, "cancel", || load.stack.cancel(&order.id, "the load run gave it up"))
                .await
                .is_ok_and(|o| o.status == "cancelled");
            load.log(format!("order {}: {reason}{}", order.id, if cancelled { "; cancelled" } else { "" }));
            if cancelled { "cancelled".to_owned() } else { format!("gave up: {reason}") }
        }
    };
    match outcome.as_str() {
        "delivered" => load.metrics.add(Count::OrdersDelivered, 1),
        "cancelled" => load.metrics.add(Count::OrdersCancelled, 1),
        _ => load.metrics.add(Count::OrdersGivenUp, 1),
    }
    while let Some(record) = sockets.join_next().await {
        if let Ok(record) = record {
            load.record_socket(record);
        }
    }
    Some(OrderRecord { id: order.id, number, cdek, outcome })
}

/// Assign, then the four steps, a pause (`--step-secs`) apart.
async fn own_life(load: &Load, n: u64, order: &Order) -> Result<String, String> {
    let courier = (n as usize) % load.settings.couriers.max(1);
    let courier_id = super::couriers::courier_id(&load.settings.tag, courier);
    load.pause().await;
    load.set_courier(&order.id, courier);
    let mut version = order.version;
    load.mark_status(&order.id, "courier_assigned", Measure::Status);
    let assigned = loop {
        match retry(load, "assign", || load.stack.assign(&order.id, &courier_id, version)).await {
            Ok(order) => break order,
            Err(error) if error.code() == Some("version_conflict") => version = current(load, &order.id).await?.version,
            Err(error) => return Err(format!("assigning: {error}")),
        }
    };
    let mut order = assigned;
    for status in OWN_STEPS {
        load.pause().await;
        order = move_on(load, order, status).await?;
    }
    Ok(order.status)
}

/// Sets `status` with the order's version, reading it again after a race (the tracker's
/// ETA updates change the version too).
async fn move_on(load: &Load, mut order: Order, status: &str) -> Result<Order, String> {
    load.mark_status(&order.id, status, Measure::Status);
    load.metrics.add(Count::StatusChangesSent, 1);
    for _ in 0..10 {
        if order.reached(status) || order.is_final() {
            return Ok(order);
        }
        match retry(load, "status", || load.stack.set_status(&order.id, status, "load run", order.version)).await {
            Ok(changed) => return Ok(changed),
            Err(error) if error.code() == Some("version_conflict") => order = current(load, &order.id).await?,
            Err(error) => return Err(format!("setting {status}: {error}")),
        }
    }
    Err(format!("setting {status}: version conflicts 10 times"))
}

async fn current(load: &Load, id: &str) -> Result<Order, String> {
    retry(load, "read", || load.stack.order(id)).await.map_err(|e| format!("reading the order: {e}"))
}

/// Waits for the CDEK registration, then records CDEK's statuses at the double, each once
/// the previous one reached the order. No wait has a limit of its own but the end of the
/// drain: while CDEK is away (the fault suite takes it away for two minutes) registration
/// and statuses arrive late, and late is not lost. An order still on its way when the
/// drain ends fails the run.
async fn cdek_life(load: &Load, order: &Order) -> Result<String, String> {
    let registered = wait_for(load, &order.id, |o| o.carrier_reference.is_some() || o.is_final()).await?;
    if registered.status == "registration_failed" {
        return Err("CDEK refused the registration".into());
    }
    if registered.is_final() {
        return Ok(registered.status);
    }
    let uuid = find_uuid(load, &order.id).await?;
    let mut status = registered.status.clone();
    for step in SEQUENCE {
        load.pause().await;
        let city = match step.place {
            Place::SenderCity => "Москва",
            Place::RecipientCity => CDEK_CITY,
        };
        let changes = status != step.becomes;
        if changes {
            load.mark_status(&order.id, step.becomes, Measure::CarrierStatus);
        }
        load.metrics.add(Count::CdekStatusesSent, 1);
        retry(load, "CDEK control status", || load.stack.cdek_status(&uuid, step.code, city))
            .await
            .map_err(|e| format!("CDEK status {}: {e}", step.code))?;
        let reached = wait_for(load, &order.id, |o| o.reached(step.becomes) || o.is_final())
            .await
            .map_err(|e| format!("after CDEK status {}: {e}", step.code))?;
        status = reached.status.clone();
        if reached.is_final() {
            return Ok(status);
        }
    }
    Err(format!("CDEK said DELIVERED but the order is {status}"))
}

/// Reads the order every 500 ms until `done` (or the drain ends).
async fn wait_for(load: &Load, id: &str, done: impl Fn(&Order) -> bool) -> Result<Order, String> {
    let since = Instant::now();
    loop {
        if let Ok(order) = retry(load, "read", || load.stack.order(id)).await {
            if done(&order) {
                return Ok(order);
            }
        }
        if load.past_deadline() {
            return Err(format!("not there after {} s, when the drain ended", since.elapsed().as_secs()));
        }
        load.sleep(Duration::from_millis(500)).await;
    }
}

async fn find_uuid(load: &Load, id: &str) -> Result<String, String> {
    loop {
        match load.stack.cdek_uuid(id).await {
            Ok(Some(uuid)) => return Ok(uuid),
            Ok(None) => {}
            Err(error) => load.metrics.error("CDEK control orders", &error),
        }
        if load.past_deadline() {
            return Err("the CDEK double does not show the order".into());
        }
        load.sleep(Duration::from_secs(1)).await;
    }
}

/// Sends `call` until it succeeds, fails for good (an answer that is not transient, or a
/// version conflict for the caller to settle), or the drain ends. Back-off from 200 ms
/// doubling to 5 s; every failure counted by kind.
pub async fn retry<T, F, Fut>(load: &Load, what: &str, mut call: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CallError>>,
{
    let mut backoff = Duration::from_millis(200);
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if error.code() == Some("version_conflict") => return Err(error),
            Err(error) => {
                load.metrics.error(what, &error);
                if !error.is_transient() || load.past_deadline() {
                    return Err(error);
                }
            }
        }
        let jitter = rand::rng().random_range(0.8..1.2);
        load.sleep(backoff.mul_f64(jitter)).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
