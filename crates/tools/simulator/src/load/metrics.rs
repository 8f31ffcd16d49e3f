//! What a load run measures: five latency histograms (whole run and per second), counters,
//! errors by kind; and the report made of them (printed, report.json, report.html).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{Value, json};

use crate::demo::api::CallError;

/// The measured paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A courier's batch sent to the tracker → the position at a customer's socket.
    Position,
    /// A status-change request sent (REST) → the `update` with that status at a customer's socket.
    Status,
    /// A CDEK status set at the double → the `update` with the status it maps to at a
    /// customer's socket. Includes CDEK's side: the double's webhook, the adapter's
    /// read-back of the order, then `order_commands`, order-grpc and `order_updated`.
    CarrierStatus,
    /// `POST /orders`, client side.
    Create,
    /// `GET /orders/{id}`, client side.
    Read,
    /// The broker alone: a probe message produced → consumed (`floor.rs`).
    Floor,
}

const PATHS: [(Measure, &str); 6] = [
    (Measure::Position, "position ingest -> socket"),
    (Measure::Status, "status change -> socket"),
    (Measure::CarrierStatus, "carrier status -> socket"),
    (Measure::Create, "create order"),
    (Measure::Read, "cached read"),
    (Measure::Floor, "broker floor (probe)"),
];

/// The paths held against the broker floor, and the most their p99 may be of the
/// floor's p99 (issue 20).
const AGAINST_FLOOR: [(Measure, &str, f64); 2] =
    [(Measure::Position, "position_p99_over_floor_p99", 2.0), (Measure::Status, "status_p99_over_floor_p99", 2.0)];

fn index(path: Measure) -> usize {
    match path {
        Measure::Position => 0,
        Measure::Status => 1,
        Measure::Create => 2,
        Measure::Read => 3,
        Measure::CarrierStatus => 4,
        Measure::Floor => 5,
    }
}

/// Counters shown in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    OrdersCreated,
    OrdersDelivered,
    OrdersCancelled,
    OrdersGivenUp,
    StatusChangesSent,
    CdekStatusesSent,
    BatchesSent,
    PositionsSent,
    PositionsAccepted,
    PositionsDropped,
    /// Positions that reached a customer socket (one per point of a message's trail, per socket).
    PositionsAtSockets,
    SocketsOpened,
    Reconnects,
    Gaps,
    Refetches,
}

struct Second {
    counts: [u64; 6],
    /// Points (not messages) that reached sockets.
    positions: u64,
    histograms: [Option<Histogram<u64>>; 2],
}

struct Inner {
    whole: [Histogram<u64>; 6],
    seconds: Vec<Second>,
    counts: BTreeMap<Count, u64>,
    errors: BTreeMap<String, u64>,
    dropped: BTreeMap<String, u64>,
}

pub struct Metrics {
    start: Instant,
    inner: Mutex<Inner>,
    /// Sockets open right now.
    pub open_sockets: std::sync::atomic::AtomicI64,
}

fn histogram(significant: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, significant)
        .or_else(|_| Histogram::new(significant))
        .unwrap_or_else(|_| unreachable_histogram())
}

#[allow(clippy::panic)]
fn unreachable_histogram() -> Histogram<u64> {
    panic!("a histogram of 2 or 3 significant digits can always be made")
}

impl Metrics {
    pub fn new(start: Instant) -> Metrics {
        Metrics {
            start,
            inner: Mutex::new(Inner {
                whole: [histogram(3), histogram(3), histogram(3), histogram(3), histogram(3), histogram(3)],
                seconds: Vec::new(),
                counts: BTreeMap::new(),
                errors: BTreeMap::new(),
                dropped: BTreeMap::new(),
            }),
            open_sockets: std::sync::atomic::AtomicI64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records one latency of `path`, from `since` to now; `points` positions for the
    /// position path (1 otherwise).
    pub fn latency(&self, path: Measure, since: Instant, points: u64) {
        self.latency_at(path, since, Instant::now(), points);
    }

    /// As [`Metrics::latency`], ending at `now`.
    pub fn latency_at(&self, path: Measure, since: Instant, now: Instant, points: u64) {
        let micros = (now.saturating_duration_since(since).as_micros() as u64).clamp(1, 600_000_000);
        let second = now.saturating_duration_since(self.start).as_secs() as usize;
        let mut inner = self.lock();
        let i = index(path);
        if let Some(h) = inner.whole.get_mut(i) {
            let _ = h.record(micros);
        }
        while inner.seconds.len() <= second {
            inner.seconds.push(Second { counts: [0; 6], positions: 0, histograms: [None, None] });
        }
        if let Some(s) = inner.seconds.get_mut(second) {
            if let Some(c) = s.counts.get_mut(i) {
                *c += 1;
            }
            if path == Measure::Position {
                s.positions += points;
            }
            if let Some(slot) = s.histograms.get_mut(i) {
                let _ = slot.get_or_insert_with(|| histogram(2)).record(micros);
            }
        }
        drop(inner);
        if path == Measure::Position {
            self.add(Count::PositionsAtSockets, points);
        }
    }

    pub fn add(&self, count: Count, n: u64) {
        *self.lock().counts.entry(count).or_default() += n;
    }

    pub fn get(&self, count: Count) -> u64 {
        self.lock().counts.get(&count).copied().unwrap_or(0)
    }

    /// Counts an error of `what` (`create`, `positions`, ...) by its kind.
    pub fn error(&self, what: &str, error: &CallError) {
        let kind = match error {
            CallError::Unreachable { error, .. } => {
                format!("{what}: no answer ({})", error.split(':').next().unwrap_or("failed"))
            }
            CallError::Answer { status, code, .. } => format!("{what}: {status} {code}"),
            CallError::Unexpected { .. } => format!("{what}: unexpected answer"),
        };
        self.error_kind(kind);
    }

    pub fn error_kind(&self, kind: String) {
        *self.lock().errors.entry(kind).or_default() += 1;
    }

    pub fn dropped(&self, reason: &str) {
        *self.lock().dropped.entry(reason.to_owned()).or_default() += 1;
        self.add(Count::PositionsDropped, 1);
    }

    pub fn errors_total(&self) -> u64 {
        self.lock().errors.values().sum()
    }

    /// Points at sockets per second and the p99 of positions over the last `window` seconds.
    pub fn recent(&self, window: usize) -> (f64, f64, f64) {
        let inner = self.lock();
        let now = self.start.elapsed().as_secs() as usize;
        let from = now.saturating_sub(window);
        let mut positions = 0;
        let mut merged = [histogram(2), histogram(2)];
        for s in inner.seconds.iter().skip(from).take(window) {
            positions += s.positions;
            for (m, h) in merged.iter_mut().zip(&s.histograms) {
                if let Some(h) = h {
                    let _ = m.add(h);
                }
            }
        }
        let p99 = |h: Option<&Histogram<u64>>| {
            h.filter(|h| !h.is_empty()).map_or(0.0, |h| h.value_at_quantile(0.99) as f64 / 1000.0)
        };
        (positions as f64 / window.max(1) as f64, p99(merged.first()), p99(merged.get(1)))
    }

    /// The report as JSON; `seconds` is the length of the generating phase (throughputs are
    /// over it).
    pub fn report(&self, settings: Value, generating_secs: f64, invariants: Option<Value>, cores: Value) -> Value {
        let inner = self.lock();
        let ms = |micros: u64| micros as f64 / 1000.0;
        let generating = generating_secs.max(1.0) as usize;
        let paths: Vec<Value> = PATHS
            .iter()
            .map(|(path, name)| {
                let i = index(*path);
                let h = inner.whole.get(i);
                let count = h.map_or(0, Histogram::len);
                let in_generating: u64 =
                    inner.seconds.iter().take(generating).map(|s| s.counts.get(i).copied().unwrap_or(0)).sum();
                let mut value = json!({
                    "name": name,
                    "count": count,
                    "per_second": in_generating as f64 / generating_secs.max(1.0),
                    "p50_ms": h.filter(|h| !h.is_empty()).map(|h| ms(h.value_at_quantile(0.5))),
                    "p99_ms": h.filter(|h| !h.is_empty()).map(|h| ms(h.value_at_quantile(0.99))),
                    "max_ms": h.filter(|h| !h.is_empty()).map(|h| ms(h.max())),
                });
                if *path == Measure::Position {
                    let points: u64 = inner.seconds.iter().take(generating).map(|s| s.positions).sum();
                    if let Some(fields) = value.as_object_mut() {
                        fields.insert("positions_per_second".into(), json!(points as f64 / generating_secs.max(1.0)));
                    }
                }
                value
            })
            .collect();
        let series: Vec<Value> = inner
            .seconds
            .iter()
            .enumerate()
            .map(|(second, s)| {
                let p99 = |i: usize| s.histograms.get(i)?.as_ref().map(|h| ms(h.value_at_quantile(0.99)));
                let count = |path: Measure| s.counts.get(index(path)).copied().unwrap_or(0);
                json!({
                    "second": second,
                    "positions_at_sockets": s.positions,
                    "status_updates": count(Measure::Status),
                    "carrier_status_updates": count(Measure::CarrierStatus),
                    "creates": count(Measure::Create),
                    "reads": count(Measure::Read),
                    "position_p99_ms": p99(0),
                    "status_p99_ms": p99(1),
                })
            })
            .collect();
        let p99 = |path: Measure| {
            inner.whole.get(index(path)).filter(|h| !h.is_empty()).map(|h| ms(h.value_at_quantile(0.99)))
        };
        let mut against_floor = serde_json::Map::new();
        if let Some(floor) = p99(Measure::Floor).filter(|floor| *floor > 0.0) {
            for (path, name, _) in AGAINST_FLOOR {
                if let Some(p99) = p99(path) {
                    against_floor.insert(name.to_owned(), json!(p99 / floor));
                }
            }
        }
        json!({
            "settings": settings,
            "generating_seconds": generating_secs,
            "latency": paths,
            "against_floor": against_floor,
            "cores_while_generating": cores,
            "counts": inner.counts,
            "errors": inner.errors,
            "positions_dropped_by_reason": inner.dropped,
            "per_second": series,
            "invariants": invariants,
        })
    }
}

/// Prints the `==> report` section.
pub fn print_report(report: &Value) {
    println!("==> report");
    let generating = report.get("generating_seconds").and_then(Value::as_f64).unwrap_or(0.0);
    println!("    load generated for {generating:.0} s; throughputs are over that time");
    let empty = Vec::new();
    let ms = |v: Option<&Value>| v.and_then(Value::as_f64).map_or("-".to_owned(), |x| format!("{x:.1} ms"));
    for path in report.get("latency").and_then(Value::as_array).unwrap_or(&empty) {
        let name = path.get("name").and_then(Value::as_str).unwrap_or("?");
        let rate = path.get("per_second").and_then(Value::as_f64).unwrap_or(0.0);
        let extra = path
            .get("positions_per_second")
            .and_then(Value::as_f64)
            .map(|p| format!(" ({p:.0} positions/s)"))
            .unwrap_or_default();
        println!(
            "    {name:<26} {rate:>8.0} /s{extra:<22} p50 {:>9}  p99 {:>9}  max {:>9}  ({} samples)",
            ms(path.get("p50_ms")),
            ms(path.get("p99_ms")),
            ms(path.get("max_ms")),
            path.get("count").and_then(Value::as_u64).unwrap_or(0)
        );
    }
    println!(
        "    targets: position ingest -> socket p99 <= 50 ms, status change -> socket p99 <= 30 ms (at 2,000 positions/s)"
    );
    if let Some(ratios) = report.get("against_floor").and_then(Value::as_object).filter(|r| !r.is_empty()) {
        let line: Vec<String> = AGAINST_FLOOR
            .iter()
            .filter_map(|(_, name, target)| {
                let ratio = ratios.get(*name)?.as_f64()?;
                Some(format!("{} {ratio:.2} (target <= {target})", name.replace('_', " ")))
            })
            .collect();
        println!("    against the broker floor: {}", line.join("; "));
    }
    if let Some(cores) = report.get("cores_while_generating").and_then(Value::as_array).filter(|c| !c.is_empty()) {
        let line: Vec<String> = cores
            .iter()
            .take(9)
            .filter_map(|c| Some(format!("{} {:.2}", c.get("process")?.as_str()?, c.get("cores")?.as_f64()?)))
            .collect();
        println!("    cores while generating: {}", line.join(", "));
    }
    if let Some(counts) = report.get("counts").and_then(Value::as_object) {
        let line: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("    counts: {}", line.join(", "));
    }
    match report.get("errors").and_then(Value::as_object) {
        Some(errors) if !errors.is_empty() => {
            println!("    errors by kind:");
            for (kind, n) in errors {
                println!("      {n:>7}  {kind}");
            }
        }
        _ => println!("    errors: none"),
    }
    if let Some(dropped) = report.get("positions_dropped_by_reason").and_then(Value::as_object) {
        if !dropped.is_empty() {
            let line: Vec<String> = dropped.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!("    positions dropped by the tracker: {}", line.join(", "));
        }
    }
}

/// Writes report.json and report.html (inline SVG, no scripts) into `dir`.
pub fn write_report(dir: &Path, report: &Value) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(report)?)?;
    std::fs::write(dir.join("report.html"), html(report))?;
    println!("    written: {} and report.html", dir.join("report.json").display());
    Ok(())
}

fn series(report: &Value, field: &str) -> Vec<(f64, f64)> {
    let empty = Vec::new();
    report
        .get("per_second")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .filter_map(|s| Some((s.get("second")?.as_f64()?, s.get(field)?.as_f64()?)))
        .collect()
}

/// A chart's line: name, colour, (x, y) points.
pub type Line<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// One line chart as an SVG element; `target` draws a dashed horizontal line.
/// The x axis is labelled with its largest value and `x_unit`.
pub fn chart(title: &str, unit: &str, x_unit: &str, lines: &[Line<'_>], target: Option<f64>) -> String {
    let (width, height, left, bottom) = (760.0, 220.0, 60.0, 30.0);
    let max_x = lines.iter().flat_map(|(_, _, p)| p.iter().map(|(x, _)| *x)).fold(1.0, f64::max);
    let max_y = lines.iter().flat_map(|(_, _, p)| p.iter().map(|(_, y)| *y)).chain(target).fold(1.0, f64::max) * 1.1;
    let x = |v: f64| left + v / max_x * (width - left - 10.0);
    let y = |v: f64| (height - bottom) - v / max_y * (height - bottom - 20.0);
    let mut svg = format!(
        r#"<h2>{title}</h2><svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" style="background:#fafafa;border:1px solid #ddd">"#
    );
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/><line x1="{left}" y1="20" x2="{left}" y2="{b}" stroke="#999"/>"##,
        b = height - bottom,
        r = width - 10.0
    );
    for i in 0..=4 {
        let value = max_y * f64::from(i) / 4.0;
        let _ =
            write!(svg, r##"<text x="4" y="{}" font-size="11" fill="#555">{:.0}{unit}</text>"##, y(value) + 4.0, value);
    }
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" font-size="11" fill="#555">{max_x:.0}{x_unit}</text>"##,
        width - 110.0,
        height - 8.0
    );
    if let Some(target) = target {
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{t}" x2="{r}" y2="{t}" stroke="#c00" stroke-dasharray="4 4"/><text x="{l2}" y="{t2}" font-size="11" fill="#c00">target {target}{unit}</text>"##,
            t = y(target),
            r = width - 10.0,
            l2 = left + 4.0,
            t2 = y(target) - 4.0
        );
    }
    for (n, (name, colour, points)) in lines.iter().enumerate() {
        let path: Vec<String> = points.iter().map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py))).collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/><text x="{}" y="14" font-size="12" fill="{colour}">{name}</text>"#,
            path.join(" "),
            left + 10.0 + n as f64 * 220.0
        );
    }
    svg.push_str("</svg>");
    svg
}

fn html(report: &Value) -> String {
    let mut rows = String::new();
    let empty = Vec::new();
    let cell = |v: Option<&Value>| v.and_then(Value::as_f64).map_or("-".to_owned(), |x| format!("{x:.1}"));
    for path in report.get("latency").and_then(Value::as_array).unwrap_or(&empty) {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            path.get("name").and_then(Value::as_str).unwrap_or("?"),
            cell(path.get("per_second")),
            cell(path.get("positions_per_second")),
            cell(path.get("p50_ms")),
            cell(path.get("p99_ms")),
            cell(path.get("max_ms")),
            path.get("count").and_then(Value::as_u64).unwrap_or(0)
        );
    }
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let pretty =
        |key: &str| escape(&serde_json::to_string_pretty(report.get(key).unwrap_or(&Value::Null)).unwrap_or_default());
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>ordertrack load run</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}pre{{background:#f4f4f4;padding:1em}}</style></head><body>
<h1>ordertrack load run</h1>
<table><tr><th>path</th><th>per second</th><th>positions/s</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>samples</th></tr>{rows}</table>
<p>Targets at the default load (2,000 positions/s, 20 orders/s): position ingest &rarr; socket p99 &le; 50 ms, status change &rarr; socket p99 &le; 30 ms, each at most 2&times; the broker floor's p99.</p>
{}{}{}
<h2>Against the broker floor</h2><pre>{}</pre><h2>Cores while generating</h2><pre>{}</pre>
<h2>Counts</h2><pre>{}</pre><h2>Errors by kind</h2><pre>{}</pre><h2>Invariants</h2><pre>{}</pre><h2>Settings</h2><pre>{}</pre>
</body></html>
"#,
        chart(
            "Throughput per second",
            "",
            " s",
            &[
                ("positions at sockets", "#1f77b4", series(report, "positions_at_sockets")),
                ("status updates at sockets", "#2ca02c", series(report, "status_updates")),
            ],
            None
        ),
        chart(
            "Position ingest → socket, p99 per second",
            " ms",
            " s",
            &[("p99", "#1f77b4", series(report, "position_p99_ms"))],
            Some(50.0)
        ),
        chart(
            "Status change → socket, p99 per second",
            " ms",
            " s",
            &[("p99", "#2ca02c", series(report, "status_p99_ms"))],
            Some(30.0)
        ),
        pretty("against_floor"),
        pretty("cores_while_generating"),
        pretty("counts"),
        pretty("errors"),
        pretty("invariants"),
        pretty("settings"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_counts_latencies_and_the_html_has_no_script() {
        let metrics = Metrics::new(Instant::now());
        metrics.latency(Measure::Position, Instant::now(), 5);
        metrics.latency(Measure::Status, Instant::now(), 1);
        metrics.latency(Measure::CarrierStatus, Instant::now(), 1);
        metrics.latency(Measure::CarrierStatus, Instant::now(), 1);
        metrics.error_kind("create: 503 service_unavailable".into());
        metrics.latency(Measure::Floor, Instant::now() - Duration::from_millis(10), 1);
        let report = metrics.report(json!({}), 1.0, None, json!([]));
        assert_eq!(report["latency"][0]["count"], 1);
        assert_eq!(report["latency"][0]["positions_per_second"], 5.0);
        assert_eq!(report["counts"]["positions_at_sockets"], 5);
        // A CDEK status is a path of its own, beside the requested status changes.
        assert_eq!(report["latency"][1]["name"], "status change -> socket");
        assert_eq!(report["latency"][1]["count"], 1);
        assert_eq!(report["latency"][2]["name"], "carrier status -> socket");
        assert_eq!(report["latency"][2]["count"], 2);
        assert_eq!(report["per_second"][0]["status_updates"], 1);
        assert_eq!(report["per_second"][0]["carrier_status_updates"], 2);
        assert_eq!(report["errors"]["create: 503 service_unavailable"], 1);
        // The floor probe is a path of its own, and the socket paths are read against it.
        assert_eq!(report["latency"][5]["name"], "broker floor (probe)");
        assert_eq!(report["latency"][5]["count"], 1);
        let ratio = report["against_floor"]["position_p99_over_floor_p99"].as_f64().unwrap();
        assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
        let page = html(&report);
        assert!(page.contains("<svg") && !page.contains("<script"));
    }
}
