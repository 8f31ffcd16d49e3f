//! The notifier's own metrics (beside the HTTP ones from `platform`).

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

#[derive(Clone)]
pub struct NotifierMetrics {
    /// Open sockets by kind (customer, ops).
    pub sockets: IntGaugeVec,
    /// Sockets closed by the server, by reason (too_slow, idle, refused codes, ...).
    pub closed: IntCounterVec,
    /// Messages put in outboxes, by type.
    pub pushed: IntCounterVec,
    /// Events read from Kafka, by topic and outcome (applied, stale, invalid).
    pub events: IntCounterVec,
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
        registry.register(Box::new(sockets.clone()))?;
        registry.register(Box::new(closed.clone()))?;
        registry.register(Box::new(pushed.clone()))?;
        registry.register(Box::new(events.clone()))?;
        Ok(Self { sockets, closed, pushed, events })
    }
}
