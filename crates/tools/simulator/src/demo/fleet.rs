//! The couriers as the dispatcher sees them: where each is, whether it is free, and the
//! queue of own-courier orders waiting for the nearest free one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::mpsc;

use super::Demo;
use super::geo::{self, Point};
use super::route::{Fix, Trip};

/// Couriers start this close to the city centre.
const START_RADIUS_M: f64 = 4_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Its first positions have not been accepted by the tracker yet.
    Starting,
    Idle,
    Busy,
}

#[derive(Debug, Clone)]
enum Motion {
    Still(Point),
    Driving { trip: Arc<Trip>, since: Instant },
}

/// An own-courier order for a courier to deliver.
#[derive(Debug, Clone)]
pub struct Job {
    pub n: u64,
    pub id: String,
    /// The order's version when it was created (for `expected_version`).
    pub version: i64,
    pub pickup: Point,
    pub destination: Point,
}

pub struct Courier {
    pub id: String,
    motion: Mutex<Motion>,
    duty: Mutex<Duty>,
    jobs: mpsc::Sender<Job>,
}

impl Courier {
    fn motion(&self) -> MutexGuard<'_, Motion> {
        self.motion.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the courier is now, its heading and speed.
    pub fn fix(&self) -> Fix {
        match &*self.motion() {
            Motion::Still(point) => Fix { point: *point, heading_deg: 0.0, speed_mps: 0.0 },
            Motion::Driving { trip, since } => {
                let end = trip.end().unwrap_or(geo::CENTRE);
                trip.at(since.elapsed().as_secs_f64()).unwrap_or(Fix { point: end, heading_deg: 0.0, speed_mps: 0.0 })
            }
        }
    }

    /// Stops where it is and stays there.
    pub fn stand(&self, at: Point) {
        *self.motion() = Motion::Still(at);
    }

    /// Sets off on `trip` from now; answers how long it takes.
    pub fn drive(&self, trip: Trip) -> Duration {
        let seconds = trip.seconds();
        *self.motion() = Motion::Driving { trip: Arc::new(trip), since: Instant::now() };
        Duration::from_secs_f64(seconds)
    }

    pub fn duty(&self) -> Duty {
        *self.duty.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_duty(&self, duty: Duty) {
        *self.duty.lock().unwrap_or_else(PoisonError::into_inner) = duty;
    }
}

/// A courier with the receiving end of its job channel (for its own task).
pub type Crew = Vec<(Arc<Courier>, mpsc::Receiver<Job>)>;

pub struct Fleet {
    couriers: Vec<Arc<Courier>>,
    queued: AtomicUsize,
}

/// Counts of couriers by duty.
#[derive(Debug, Default, Clone, Copy)]
pub struct Duties {
    pub starting: usize,
    pub idle: usize,
    pub busy: usize,
}

impl Fleet {
    /// `count` couriers (`<prefix>-1` …) at random spots in the city, each with the
    /// receiving end of its job channel.
    pub fn new(rng: &mut impl Rng, prefix: &str, count: usize) -> (Fleet, Crew) {
        let mut couriers = Vec::with_capacity(count);
        let mut receivers = Vec::with_capacity(count);
        for n in 1..=count {
            let (jobs, receiver) = mpsc::channel(1);
            let start = geo::random_within(rng, geo::CENTRE, START_RADIUS_M);
            let courier = Arc::new(Courier {
                id: format!("{prefix}-{n}"),
                motion: Mutex::new(Motion::Still(start)),
                duty: Mutex::new(Duty::Starting),
                jobs,
            });
            couriers.push(Arc::clone(&courier));
            receivers.push((courier, receiver));
        }
        (Fleet { couriers, queued: AtomicUsize::new(0) }, receivers)
    }

    pub fn duties(&self) -> Duties {
        let mut duties = Duties::default();
        for courier in &self.couriers {
            match courier.duty() {
                Duty::Starting => duties.starting += 1,
                Duty::Idle => duties.idle += 1,
                Duty::Busy => duties.busy += 1,
            }
        }
        duties
    }

    /// Orders waiting for a free courier.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The free courier nearest to `point`, now marked busy.
    fn take_nearest_idle(&self, point: Point) -> Option<Arc<Courier>> {
        let nearest = self
            .couriers
            .iter()
            .filter(|c| c.duty() == Duty::Idle)
            .min_by(|a, b| a.fix().point.distance_m(point).total_cmp(&b.fix().point.distance_m(point)))?;
        nearest.set_duty(Duty::Busy);
        Some(Arc::clone(nearest))
    }
}

/// Hands each own-courier order, first come first served, to the nearest free courier;
/// orders wait in a queue while none is free. Runs until the demo stops.
pub async fn dispatch(demo: Arc<Demo>, fleet: Arc<Fleet>, incoming: mpsc::UnboundedReceiver<Job>) {
    let mut incoming = Some(incoming);
    let mut queue: VecDeque<Job> = VecDeque::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            () = demo.stop.wait() => break,
            job = async { match incoming.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => {
                match job {
                    Some(job) => {
                        demo.ledger.stage(job.n, "waiting for a free courier");
                        queue.push_back(job);
                    }
                    None => incoming = None,
                }
            }
            _ = tick.tick() => {}
        }
        // Orders given up while they waited (too long in the queue) leave it.
        queue.retain(|job| demo.ledger.is_active(job.n));
        while let Some(job) = queue.front() {
            let Some(courier) = fleet.take_nearest_idle(job.pickup) else { break };
            let Some(job) = queue.pop_front() else { break };
            let n = job.n;
            demo.ledger.stage(n, format!("given to {}", courier.id));
            if let Err(refused) = courier.jobs.try_send(job) {
                // The courier's task is gone (the demo is stopping); keep the order.
                courier.set_duty(Duty::Starting);
                queue.push_front(refused.into_inner());
                break;
            }
        }
        fleet.queued.store(queue.len(), Ordering::Relaxed);
    }
}
