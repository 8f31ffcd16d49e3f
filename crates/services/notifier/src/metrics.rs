//! The notifier's own metrics (beside the HTTP ones from `platform`).

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

#[derive(Clone)]
pub struct NotifierMetrics {
    /// Open sockets by kind (customer, ops).
    pub sockets: IntGaugeVec,
    /// Sockets closed by the server, by reason (too_slow, idle, refused codes, ...).
    pub closed: IntCounterVec,
    /// Messages put in queues, by type.
    pub pushed: IntCounterVec,
    /// Events read from Kafka, by topic and outcome (applied, stale, invalid).
    pub events: IntCounterVec,
    /// From an event's Kafka timestamp (when its producer queued it) to when the feed had
    /// applied it, by topic; only live events (not the catch-up read at start-up).
    pub event_delay: HistogramVec,
}

impl NotifierMetrics {
    pub fn new(registry: &Registry) -> anyhow::Result<Self> {
        let sockets = IntGaugeVec::new(Opts::new("notifier_sockets", "Open WebSockets"), &["kind"])?;
        let closed = IntCounterVec::new(
            Opts::new("notifier_sockets_closed_total", "WebSockets closed or refused by the server"),
            &["reason"],
        )?;
        let pushed = IntCounterVec::new(Opts::new("notifier_pushed_total", "Messages queued for sockets"), &["type"])?;
        let events =
            IntCounterVec::new(Opts::new("notifier_events_total", "Kafka events read"), &["topic", "outcome"])?;
        let event_delay = HistogramVec::new(
            HistogramOpts::new(
                "notifier_event_delay_seconds",
                "From an event's Kafka timestamp to the notifier having applied it",
            )
            .buckets(vec![0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["topic"],
        )?;
        registry.register(Box::new(sockets.clone()))?;
        registry.register(Box::new(closed.clone()))?;
        registry.register(Box::new(pushed.clone()))?;
        registry.register(Box::new(events.clone()))?;
        registry.register(Box::new(event_delay.clone()))?;
        Ok(Self { sockets, closed, pushed, events, event_delay })
    }
}
