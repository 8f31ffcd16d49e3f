//! Prometheus metrics. Each service builds its own registry (no global state, so tests
//! can run many services in one process) and adds its own collectors to it.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by method, route pattern and status code.
    pub http_requests: IntCounterVec,
    /// HTTP request latency in seconds by method and route pattern.
    pub http_duration: HistogramVec,
}

impl Metrics {
    pub fn new(service: &str) -> anyhow::Result<Self> {
        let labels = std::collections::HashMap::from([("service".to_owned(), service.to_owned())]);
        let registry = Registry::new_custom(Some("ordertrack".into()), Some(labels))?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests served"),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["method", "route"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        Ok(Self { registry, http_requests, http_duration })
    }

    /// The registry to add a service's own collectors to.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// All metrics in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            return format!("# encoding failed: {error}\n");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }
}
