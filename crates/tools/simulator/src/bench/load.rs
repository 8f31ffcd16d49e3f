//! A closed-loop load generator: `concurrency` workers each send a request, wait for
//! the answer, and send the next, for a fixed time. Latencies go into an HDR histogram;
//! a progress bar shows the rate while it runs.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::cpu::{self, Share};

/// What one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub name: String,
    pub concurrency: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Who held the cores while it was measured (the warm-up left out).
    pub cores: Vec<Share>,
}

/// Runs `request` from `concurrency` workers for `duration` after `warmup` (not
/// measured). `request(worker, n)` returns whether the answer was the expected one.
pub async fn run<F, Fut>(name: &str, concurrency: usize, warmup: Duration, duration: Duration, request: F) -> Measured
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let bar = ProgressBar::new(duration.as_secs());
    bar.set_style(
        ProgressStyle::with_template("    {prefix:<28} [{bar:30}] {pos:>3}/{len}s {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_owned());
    bar.set_message("warming up");
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let request = Arc::clone(&request);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
                let (mut errors, mut n) = (0u64, 0u64);
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let ok = request(worker, n).await;
                    n += 1;
                    if sent >= measure_from {
                        if let Some(h) = histogram.as_mut() {
                            let _ = h.record((sent.elapsed().as_micros() as u64).max(1));
                        }
                        if !ok {
                            errors += 1;
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
                (histogram, errors)
            })
        })
        .collect();
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = cpu::Snapshot::take();
        tokio::time::sleep_until(end.into()).await;
        before.shares_since()
    });
    let ticker = {
        let (bar, done) = (bar.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let mut last = 0;
            tokio::time::sleep_until(measure_from.into()).await;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = done.load(Ordering::Relaxed);
                bar.inc(1);
                bar.set_message(format!("{} req/s", now - last));
                last = now;
            }
        })
    };
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable_histogram()));
    let mut errors = 0;
    for worker in workers {
        if let Ok((Some(h), e)) = worker.await {
            let _ = histogram.add(&h);
            errors += e;
        }
    }
    ticker.abort();
    bar.finish_and_clear();
    let cores = cpu.await.unwrap_or_default();
    let requests = histogram.len();
    let seconds = duration.as_secs_f64();
    let ms = |micros: u64| micros as f64 / 1000.0;
    let measured = Measured {
        name: name.to_owned(),
        concurrency,
        seconds,
        requests,
        errors,
        per_second: requests as f64 / seconds,
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
        cores,
    };
    println!(
        "    {:<28} {:>9.0} /s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   ({} requests, {} errors)",
        measured.name,
        measured.per_second,
        measured.p50_ms,
        measured.p99_ms,
        measured.max_ms,
        measured.requests,
        measured.errors
    );
    println!("    {:<28} cores: {}", "", cpu::describe(&measured.cores, 6));
    measured
}

#[allow(clippy::panic)]
fn unreachable_histogram() -> Histogram<u64> {
    panic!("a histogram with 3 significant digits can always be made")
}
