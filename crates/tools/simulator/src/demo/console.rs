//! What the demo shows while it runs: counters, log lines with the time since the start,
//! and progress. On a terminal, two live lines (indicatif) under the log; otherwise (a
//! log file under nohup) one plain progress line every 10 s.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain progress line is printed when stdout is not a terminal.
pub const PLAIN_EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct Counters {
    pub created: AtomicU64,
    pub created_cdek: AtomicU64,
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub cdek_statuses: AtomicU64,
    pub batches: AtomicU64,
    pub accepted: AtomicU64,
    pub dropped: AtomicU64,
    pub errors: AtomicU64,
    pub fallbacks: AtomicU64,
    /// Dropped positions by the tracker's reason.
    dropped_why: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn dropped_because(&self, reason: &str) {
        Counters::add(&self.dropped, 1);
        let mut why = self.dropped_why.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *why.entry(reason.to_owned()).or_default() += 1;
    }

    /// `thinned 12, impossible_jump 1`, or `none`.
    pub fn dropped_reasons(&self) -> String {
        let why = self.dropped_why.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if why.is_empty() {
            return "none".to_owned();
        }
        why.iter().map(|(reason, n)| format!("{reason} {n}")).collect::<Vec<_>>().join(", ")
    }
}

/// The state of the run that the counters do not hold.
pub struct Snapshot {
    pub active: usize,
    pub queued: usize,
    pub couriers_busy: usize,
    pub couriers_idle: usize,
    pub couriers_starting: usize,
}

struct Bars {
    multi: MultiProgress,
    orders: ProgressBar,
    traffic: ProgressBar,
}

pub struct Console {
    started: Instant,
    pub counters: Counters,
    bars: Option<Bars>,
}

impl Console {
    /// Bars when stdout is a terminal; `orders` is the number to deliver (0: no limit).
    pub fn new(orders: u64) -> Console {
        let bars = std::io::stdout().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            let orders_bar = if orders > 0 {
                multi.add(bar(orders, "  delivered [{bar:30}] {pos}/{len}  {msg}"))
            } else {
                multi.add(bar(0, "{spinner} delivered {pos}  {msg}"))
            };
            let traffic = multi.add(bar(0, "{spinner} {msg}"));
            orders_bar.enable_steady_tick(Duration::from_millis(250));
            traffic.enable_steady_tick(Duration::from_millis(250));
            Bars { multi, orders: orders_bar, traffic }
        });
        Console { started: Instant::now(), counters: Counters::default(), bars }
    }

    pub fn is_terminal(&self) -> bool {
        self.bars.is_some()
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// A line of the demo's story, with the time since the start.
    pub fn log(&self, line: impl Display) {
        let line = format!("[{}] {line}", clock(self.elapsed()));
        self.print(&line);
    }

    /// Counts an error and logs it.
    pub fn error(&self, line: impl Display) {
        Counters::add(&self.counters.errors, 1);
        self.log(format_args!("error: {line}"));
    }

    /// A line without the time (the plan, the summary).
    pub fn print(&self, line: &str) {
        match &self.bars {
            Some(bars) if bars.multi.println(line).is_ok() => {}
            _ => println!("{line}"),
        }
    }

    /// Updates the live lines, or prints the plain progress line (the caller says when).
    pub fn progress(&self, snapshot: &Snapshot) {
        let c = &self.counters;
        let get = Counters::get;
        let orders = format!(
            "created {} ({} CDEK), {} active ({} waiting for a courier), {} failed",
            get(&c.created),
            get(&c.created_cdek),
            snapshot.active,
            snapshot.queued,
            get(&c.failed)
        );
        let traffic = format!(
            "couriers {} busy, {} idle{} | positions {} accepted, {} dropped | CDEK statuses {} | errors {}",
            snapshot.couriers_busy,
            snapshot.couriers_idle,
            if snapshot.couriers_starting > 0 {
                format!(", {} starting", snapshot.couriers_starting)
            } else {
                "".into()
            },
            get(&c.accepted),
            get(&c.dropped),
            get(&c.cdek_statuses),
            get(&c.errors)
        );
        match &self.bars {
            Some(bars) => {
                bars.orders.set_position(get(&c.delivered));
                bars.orders.set_message(orders);
                bars.traffic.set_message(traffic);
            }
            None => {
                println!("[{}] progress: delivered {} | {orders} | {traffic}", clock(self.elapsed()), get(&c.delivered))
            }
        }
    }

    /// Takes the live lines away (before the summary).
    pub fn finish(&self) {
        if let Some(bars) = &self.bars {
            bars.orders.finish_and_clear();
            bars.traffic.finish_and_clear();
        }
    }
}

fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "),
    );
    bar
}

/// `mm:ss`, or `h:mm:ss` from an hour on.
pub fn clock(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{:02}:{:02}", secs / 60, secs % 60)
    }
}
