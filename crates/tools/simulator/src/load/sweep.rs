//! `ordertrack-sim load --sweep 1000,2000,4000`: the same run at each offered rate of
//! positions, one after the other against the same stack, and the knee of the position
//! path: the highest offered rate at which position ingest -> socket p99 still holds
//! its target. Writes sweep.json and sweep.html (a table and a chart) beside the runs.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::LoadArgs;
use super::metrics::{Line, chart};

/// The position path's p99 target (ms), issue 20.
const POSITION_P99_TARGET_MS: f64 = 50.0;
/// The status path's p99 target (ms).
const STATUS_P99_TARGET_MS: f64 = 30.0;

/// One step of the sweep, as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub offered: f64,
    pub couriers: usize,
    pub passed: bool,
    pub position_p99_ms: Option<f64>,
    pub status_p99_ms: Option<f64>,
    pub floor_p99_ms: Option<f64>,
    pub positions_at_sockets_per_second: Option<f64>,
}

pub async fn run(args: LoadArgs) -> anyhow::Result<bool> {
    let mut rates = args.sweep.clone();
    anyhow::ensure!(rates.iter().all(|r| r.is_finite() && *r > 0.0), "--sweep takes positive rates");
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    println!("==> sweep: {} runs of {} s at {rates:?} positions/s offered", rates.len(), args.duration);
    let mut steps = Vec::new();
    for (n, rate) in rates.iter().enumerate() {
        let couriers = couriers_for(*rate, args.every_secs, args.batch);
        let mut step_args = args.clone();
        step_args.sweep.clear();
        step_args.couriers = couriers;
        step_args.out = args.out.join(format!("sweep-{rate:.0}"));
        println!("==> sweep step {} of {}: {rate:.0} positions/s ({couriers} couriers)", n + 1, rates.len());
        let (passed, report) = super::run_once(&step_args).await?;
        let step = step_of(*rate, couriers, passed, &report);
        println!(
            "    step {rate:.0} positions/s: position p99 {} ms, status p99 {} ms, floor p99 {} ms, {}",
            show(step.position_p99_ms),
            show(step.status_p99_ms),
            show(step.floor_p99_ms),
            if passed { "invariants held" } else { "FAILED" }
        );
        steps.push(step);
    }
    let knee = knee(&steps);
    print_table(&steps, knee);
    std::fs::create_dir_all(&args.out)?;
    let table: Vec<Value> = steps
        .iter()
        .map(|s| {
            json!({
                "offered_positions_per_second": s.offered, "couriers": s.couriers, "passed": s.passed,
                "position_p99_ms": s.position_p99_ms, "status_p99_ms": s.status_p99_ms,
                "floor_p99_ms": s.floor_p99_ms, "positions_at_sockets_per_second": s.positions_at_sockets_per_second,
            })
        })
        .collect();
    let summary = json!({
        "position_p99_target_ms": POSITION_P99_TARGET_MS,
        "knee_positions_per_second": knee,
        "steps": table,
    });
    std::fs::write(args.out.join("sweep.json"), serde_json::to_vec_pretty(&summary)?)?;
    std::fs::write(args.out.join("sweep.html"), html(&steps, knee))?;
    println!("    written: {} and sweep.html", args.out.join("sweep.json").display());
    Ok(steps.iter().all(|s| s.passed))
}

/// Couriers that offer `rate` positions a second with a batch of `batch` every `every_secs`.
fn couriers_for(rate: f64, every_secs: f64, batch: usize) -> usize {
    ((rate * every_secs / batch.max(1) as f64).round() as usize).max(1)
}

fn step_of(offered: f64, couriers: usize, passed: bool, report: &Value) -> Step {
    let path = |name: &str| {
        report
            .get("latency")
            .and_then(Value::as_array)
            .and_then(|paths| paths.iter().find(|p| p.get("name").and_then(Value::as_str) == Some(name)).cloned())
    };
    let p99 = |name: &str| path(name).and_then(|p| p.get("p99_ms").and_then(Value::as_f64));
    Step {
        offered,
        couriers,
        passed,
        position_p99_ms: p99("position ingest -> socket"),
        status_p99_ms: p99("status change -> socket"),
        floor_p99_ms: p99("broker floor (probe)"),
        positions_at_sockets_per_second: path("position ingest -> socket")
            .and_then(|p| p.get("positions_per_second").and_then(Value::as_f64)),
    }
}

/// The highest offered rate up to which every step held the position target and passed.
fn knee(steps: &[Step]) -> Option<f64> {
    steps
        .iter()
        .take_while(|s| s.passed && s.position_p99_ms.is_some_and(|p99| p99 <= POSITION_P99_TARGET_MS))
        .last()
        .map(|s| s.offered)
}

fn show(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |v| format!("{v:.1}"))
}

fn print_table(steps: &[Step], knee: Option<f64>) {
    println!("==> sweep");
    println!("    offered/s  couriers  at sockets/s  position p99  status p99  floor p99  invariants");
    for s in steps {
        println!(
            "    {:>9.0}  {:>8}  {:>12}  {:>9} ms  {:>7} ms  {:>6} ms  {}",
            s.offered,
            s.couriers,
            show(s.positions_at_sockets_per_second),
            show(s.position_p99_ms),
            show(s.status_p99_ms),
            show(s.floor_p99_ms),
            if s.passed { "held" } else { "FAILED" }
        );
    }
    match knee {
        Some(rate) => println!(
            "    knee: {rate:.0} positions/s offered is the highest rate stepped with position p99 <= {POSITION_P99_TARGET_MS} ms"
        ),
        None => {
            println!("    knee: below the lowest rate stepped (its position p99 was over {POSITION_P99_TARGET_MS} ms)")
        }
    }
}

fn html(steps: &[Step], knee: Option<f64>) -> String {
    let mut rows = String::new();
    for s in steps {
        let _ = write!(
            rows,
            "<tr><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.offered,
            s.couriers,
            show(s.positions_at_sockets_per_second),
            show(s.position_p99_ms),
            show(s.status_p99_ms),
            show(s.floor_p99_ms),
            if s.passed { "held" } else { "FAILED" }
        );
    }
    let series = |get: fn(&Step) -> Option<f64>| -> Vec<(f64, f64)> {
        steps.iter().filter_map(|s| Some((s.offered, get(s)?))).collect()
    };
    let lines: [Line<'_>; 3] = [
        ("position p99", "#1f77b4", series(|s| s.position_p99_ms)),
        ("status p99", "#2ca02c", series(|s| s.status_p99_ms)),
        ("broker floor p99", "#7f7f7f", series(|s| s.floor_p99_ms)),
    ];
    let knee = knee.map_or_else(
        || format!("below the lowest rate stepped (position p99 over {POSITION_P99_TARGET_MS} ms)"),
        |rate| format!("{rate:.0} positions/s offered"),
    );
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>ordertrack load sweep</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head><body>
<h1>ordertrack load sweep</h1>
<p>Knee: <b>{knee}</b>, the highest offered rate at which position ingest &rarr; socket p99 &le; {POSITION_P99_TARGET_MS} ms (status change target: p99 &le; {STATUS_P99_TARGET_MS} ms).</p>
<table><tr><th>offered positions/s</th><th>couriers</th><th>positions at sockets/s</th><th>position p99 ms</th><th>status p99 ms</th><th>broker floor p99 ms</th><th>invariants</th></tr>{rows}</table>
{}
</body></html>
"#,
        chart("p99 against the offered rate", " ms", " positions/s", &lines, Some(POSITION_P99_TARGET_MS)),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn step(offered: f64, passed: bool, p99: f64) -> Step {
        Step {
            offered,
            couriers: 1,
            passed,
            position_p99_ms: Some(p99),
            status_p99_ms: Some(p99),
            floor_p99_ms: Some(5.0),
            positions_at_sockets_per_second: Some(offered / 3.0),
        }
    }

    #[test]
    fn the_knee_is_the_last_rate_before_the_first_miss() {
        let steps =
            [step(1000.0, true, 20.0), step(2000.0, true, 45.0), step(4000.0, true, 80.0), step(8000.0, true, 30.0)];
        assert_eq!(knee(&steps), Some(2000.0));
        assert_eq!(knee(&[step(1000.0, true, 60.0)]), None);
        // A run whose invariants failed is no knee, however fast.
        assert_eq!(knee(&[step(1000.0, true, 10.0), step(2000.0, false, 10.0)]), Some(1000.0));
    }

    #[test]
    fn the_couriers_offer_the_rate_and_the_step_is_read_from_a_report() {
        assert_eq!(couriers_for(2000.0, 2.0, 2), 2000);
        assert_eq!(couriers_for(500.0, 3.0, 2), 750);
        let report = json!({ "latency": [
            { "name": "position ingest -> socket", "p99_ms": 41.0, "positions_per_second": 700.0 },
            { "name": "status change -> socket", "p99_ms": 25.0 },
            { "name": "broker floor (probe)", "p99_ms": 9.0 },
        ]});
        let read = step_of(2000.0, 2000, true, &report);
        assert_eq!((read.position_p99_ms, read.status_p99_ms, read.floor_p99_ms), (Some(41.0), Some(25.0), Some(9.0)));
        assert_eq!(read.positions_at_sockets_per_second, Some(700.0));
        let page = html(&[read], Some(2000.0));
        assert!(page.contains("2000 positions/s offered") && page.contains("<svg") && !page.contains("<script"));
    }
}
