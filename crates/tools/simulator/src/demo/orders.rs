//! The demo's orders: what a storefront sends (warehouses, customers, parcels, places a
//! few kilometres apart, or another city for CDEK), and creating them at the schedule's
//! pace, each handed on to the courier dispatcher or to the CDEK player.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::api::retry;
use super::cdek::{self, Parcel};
use super::console::Counters;
use super::fleet::Job;
use super::geo::{self, Point};
use super::ledger::Method;
use super::{Demo, schedule};

/// Where own-courier orders are picked up (and CDEK parcels handed in).
pub const WAREHOUSES: [(&str, Point); 4] = [
    ("Склад «Курская», Земляной Вал, 33", Point { lat: 55.7570, lon: 37.6590 }),
    ("Склад «Белорусская», Лесная ул., 5", Point { lat: 55.7770, lon: 37.5880 }),
    ("Склад «Павелецкая», Дубининская ул., 7", Point { lat: 55.7290, lon: 37.6370 }),
    ("Склад «Фрунзенская», Комсомольский пр-т, 24", Point { lat: 55.7310, lon: 37.5800 }),
];

/// Destinations of CDEK orders: (city as CDEK names it, an address there, where it is).
const CDEK_CITIES: [(&str, &str, Point); 4] = [
    ("Санкт-Петербург", "Санкт-Петербург, Невский пр-т, 28", Point { lat: 59.9358, lon: 30.3259 }),
    ("Казань", "Казань, ул. Баумана, 44", Point { lat: 55.7887, lon: 49.1221 }),
    ("Нижний Новгород", "Нижний Новгород, Большая Покровская ул., 15", Point { lat: 56.3215, lon: 44.0010 }),
    ("Екатеринбург", "Екатеринбург, ул. Вайнера, 9", Point { lat: 56.8352, lon: 60.6014 }),
];

const STREETS: [&str; 12] = [
    "Тверская ул.",
    "ул. Арбат",
    "Новослободская ул.",
    "Пятницкая ул.",
    "ул. Большая Ордынка",
    "Садовая-Кудринская ул.",
    "Мясницкая ул.",
    "ул. Покровка",
    "Бауманская ул.",
    "Ленинский пр-т",
    "Пресненская наб.",
    "ул. Остоженка",
];

const NAMES: [&str; 10] = [
    "Анна Смирнова",
    "Иван Петров",
    "Мария Кузнецова",
    "Дмитрий Соколов",
    "Елена Попова",
    "Алексей Лебедев",
    "Ольга Козлова",
    "Сергей Новиков",
    "Наталья Морозова",
    "Павел Волков",
];

/// Own-courier destinations are this far from the pickup (metres).
const DELIVERY_DISTANCE_M: (f64, f64) = (1_500.0, 4_000.0);

/// Where an order goes, as far as the rest of the demo cares.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    OwnCourier { pickup: Point, destination: Point },
    Cdek { city: &'static str },
}

/// Order `n`'s request body and route. `number` is the store's order number.
pub fn plan(rng: &mut impl Rng, number: &str, cdek: bool) -> (Value, Route) {
    let (warehouse, pickup) = pick(rng, &WAREHOUSES, WAREHOUSES[0]);
    let (destination, route) = if cdek {
        let (city, address, point) = pick(rng, &CDEK_CITIES, CDEK_CITIES[0]);
        (json!({ "address": address, "lat": point.lat, "lon": point.lon }), Route::Cdek { city })
    } else {
        let point = geo::random_at_distance(rng, pickup, DELIVERY_DISTANCE_M.0, DELIVERY_DISTANCE_M.1);
        let point = Point { lat: round6(point.lat), lon: round6(point.lon) };
        let street = pick(rng, &STREETS, STREETS[0]);
        let address = format!("Москва, {street}, {}, кв. {}", rng.random_range(1..=60), rng.random_range(1..=200));
        let destination = json!({ "address": address, "lat": point.lat, "lon": point.lon });
        (destination, Route::OwnCourier { pickup, destination: point })
    };
    let delivery =
        if cdek { json!({ "method": "cdek", "cdek_tariff_code": 137 }) } else { json!({ "method": "own_courier" }) };
    let body = json!({
        "store_order_number": number,
        "customer": {
            "name": pick(rng, &NAMES, NAMES[0]),
            "phone": format!("+7916{:07}", rng.random_range(0..10_000_000)),
            "email": format!("{number}@example.com"),
        },
        "pickup": { "address": warehouse, "lat": pickup.lat, "lon": pickup.lon },
        "destination": destination,
        "parcels": [{
            "weight_grams": rng.random_range(200..=8_000),
            "length_cm": rng.random_range(10..=50),
            "width_cm": rng.random_range(10..=40),
            "height_cm": rng.random_range(5..=30),
        }],
        "delivery": delivery,
    });
    (body, route)
}

/// One of `items` at random (`fallback` only for an empty list).
fn pick<T: Copy>(rng: &mut impl Rng, items: &[T], fallback: T) -> T {
    items.get(rng.random_range(0..items.len().max(1))).copied().unwrap_or(fallback)
}

fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

/// What the order creator is told to do.
pub struct Plan {
    /// Orders to create; None for no limit.
    pub orders: Option<u64>,
    pub rate_per_minute: f64,
    pub cdek_share: f64,
    /// Tags this run's order numbers (`demo-<tag>-<n>`) and idempotency keys.
    pub run_tag: String,
}

/// Creates the orders at the schedule's pace until all are made or the demo stops.
/// Own-courier orders go to the dispatcher, CDEK orders each to a CDEK player; answers
/// the CDEK players still running.
pub async fn create(demo: Arc<Demo>, plan: Plan, couriers: mpsc::UnboundedSender<Job>) -> JoinSet<()> {
    let mut players = JoinSet::new();
    let mut schedule_rng = demo.rng("schedule", 0);
    let start = tokio::time::Instant::now();
    let mut n = 0;
    while plan.orders.is_none_or(|total| n < total) {
        let at = schedule::arrival_secs(&mut schedule_rng, n, plan.rate_per_minute);
        let wait =
            (start + std::time::Duration::from_secs_f64(at)).saturating_duration_since(tokio::time::Instant::now());
        if !demo.stop.sleep(wait).await {
            break;
        }
        let mut rng = demo.rng("order", n);
        let cdek = schedule::is_cdek(n, plan.cdek_share);
        let number = format!("demo-{}-{n}", plan.run_tag);
        let (body, route) = self::plan(&mut rng, &number, cdek);
        let method = if cdek { Method::Cdek } else { Method::OwnCourier };
        demo.ledger.plan(n, method);
        match retry(&demo, 5, || demo.stack.create_order(&body, &number)).await {
            Ok(order) => {
                Counters::add(&demo.console.counters.created, 1);
                let link = order.tracking.as_ref().map_or("-", |t| t.url.as_str());
                demo.console.log(format_args!("order {n} ({}) created: {}, tracking {link}", method.words(), order.id));
                match demo.ledger.created(n, &order) {
                    Some(Ok(url)) => demo.console.print(&format!("tracking link: {url}")),
                    Some(Err(error)) => demo.console.error(format!("writing the links file: {error}")),
                    None => {}
                }
                match route {
                    Route::OwnCourier { pickup, destination } => {
                        let job = Job { n, id: order.id.clone(), version: order.version, pickup, destination };
                        if couriers.send(job).is_err() {
                            break;
                        }
                    }
                    Route::Cdek { city } => {
                        Counters::add(&demo.console.counters.created_cdek, 1);
                        let parcel = Parcel { n, id: order.id.clone(), city };
                        players.spawn(cdek::follow(Arc::clone(&demo), parcel, StdRng::from_rng(&mut rng)));
                    }
                }
            }
            Err(error) => demo.give_up(n, format!("could not be created: {error}")),
        }
        n += 1;
    }
    players
}
