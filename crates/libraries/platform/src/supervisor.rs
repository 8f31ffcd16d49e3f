//! Runs a service's parts (HTTP servers, gRPC server, consumers, relays) and stops them
//! together: on SIGTERM/SIGINT, on request, or when any part stops on its own (which is
//! a failure: the process then exits non-zero so its orchestrator restarts it).
//!
//! Stopping: the shutdown token is cancelled (consumers finish their message and commit
//! offsets, gRPC stops accepting and drains), HTTP servers stop accepting and drain the
//! requests in flight, then the Kafka producers are flushed.

use std::future::Future;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::producer::FutureProducer;
use slog::{Logger, error, info, warn};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::HttpConfig;
use crate::kafka;
use crate::metrics::Metrics;
use crate::readiness::Readiness;

type Part = (&'static str, JoinHandle<anyhow::Result<()>>);

pub struct Supervisor {
    log: Logger,
    shutdown: CancellationToken,
    http: Vec<(&'static str, actix_web::dev::Server)>,
    tasks: Vec<Part>,
    producers: Vec<FutureProducer>,
    drain_timeout: Duration,
}

impl Supervisor {
    /// `drain_timeout` bounds how long stopping may take.
    pub fn new(log: Logger, drain_timeout: Duration) -> Self {
        Self {
            log,
            shutdown: CancellationToken::new(),
            http: Vec::new(),
            tasks: Vec::new(),
            producers: Vec::new(),
            drain_timeout,
        }
    }

    /// The supervisor of a service with an HTTP server: stopping may take the server's
    /// `[http] shutdown_timeout_secs` and five seconds more for the other parts.
    pub fn for_http(log: Logger, http: &HttpConfig) -> Self {
        Self::new(log, Duration::from_secs(http.shutdown_timeout_secs + 5))
    }

    /// Binds the `[http]` address and serves the operational endpoints and the service's
    /// own `routes` there ([`crate::http::serve`]), as the part "http". Returns the port
    /// bound (0 in the configuration picks a free one).
    pub fn serve_http<F>(
        &mut self,
        http: &HttpConfig,
        metrics: Metrics,
        readiness: Readiness,
        routes: F,
    ) -> anyhow::Result<u16>
    where
        F: Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static,
    {
        let listener = http.bind()?;
        let port = listener.local_addr()?.port();
        let server = crate::http::serve(http, listener, self.log.clone(), metrics, readiness, routes)?;
        self.add_http("http", server);
        Ok(port)
    }

    /// Cancelled when the service stops; long-running parts watch it. Cancelling it
    /// stops the service (tests do that instead of sending a signal).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub fn add_http(&mut self, name: &'static str, server: actix_web::dev::Server) {
        self.http.push((name, server));
    }

    /// Runs a part on the runtime; it must return once the shutdown token is cancelled.
    pub fn spawn(&mut self, name: &'static str, part: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        self.tasks.push((name, tokio::spawn(part)));
    }

    /// Runs a task that ends by design (a start-up chore): once it has finished well it
    /// waits for the shutdown instead of counting as a part that stopped on its own.
    pub fn spawn_once(&mut self, name: &'static str, task: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        let shutdown = self.shutdown.clone();
        self.spawn(name, async move {
            task.await?;
            shutdown.cancelled().await;
            Ok(())
        });
    }

    /// Flushes this producer after everything else stopped.
    pub fn flush_on_stop(&mut self, producer: FutureProducer) {
        self.producers.push(producer);
    }

    pub async fn run(self) -> anyhow::Result<()> {
        let Supervisor { log, shutdown, http, tasks, producers, drain_timeout } = self;
        let handles: Vec<_> = http.iter().map(|(_, server)| server.handle()).collect();
        let mut running: FuturesUnordered<_> = http
            .into_iter()
            .map(|(name, server)| (name, tokio::spawn(async move { server.await.map_err(anyhow::Error::from) })))
            .chain(tasks)
            .map(|(name, handle)| async move { (name, handle.await) })
            .collect();

        let mut failure = None;
        tokio::select! {
            biased;
            signal = termination_signal() => info!(log, "stopping"; "reason" => signal),
            () = shutdown.cancelled() => info!(log, "stopping"; "reason" => "requested"),
            Some((name, result)) = running.next() => {
                // A part that stopped because shutdown began is not a failure.
                if shutdown.is_cancelled() && matches!(result, Ok(Ok(()))) {
                    info!(log, "stopping"; "reason" => "requested");
                } else {
                let reason = match result {
                    Ok(Ok(())) => "stopped on its own".to_owned(),
                    Ok(Err(error)) => format!("{error:#}"),
                    Err(join_error) => format!("panicked: {join_error}"),
                };
                error!(log, "a part of the service stopped, stopping the rest"; "part" => name, "error" => &reason);
                failure = Some(anyhow::anyhow!("{name} stopped: {reason}"));
                }
            }
        }

        shutdown.cancel();
        for handle in handles {
            handle.stop(true).await;
        }
        let drained = tokio::time::timeout(drain_timeout, async {
            while let Some((name, result)) = running.next().await {
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        warn!(log, "part stopped with an error"; "part" => name, "error" => %format!("{error:#}"))
                    }
                    Err(join_error) => warn!(log, "part panicked"; "part" => name, "error" => %join_error),
                }
            }
        })
        .await;
        if drained.is_err() {
            warn!(log, "parts still running after the drain timeout"; "timeout_secs" => drain_timeout.as_secs());
        }
        for producer in &producers {
            if let Err(error) = kafka::flush(producer, drain_timeout).await {
                warn!(log, "kafka producer flush failed"; "error" => %error);
            }
        }
        info!(log, "stopped");
        failure.map_or(Ok(()), Err)
    }
}

/// Resolves on SIGTERM or SIGINT with the signal's name.
async fn termination_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => tokio::select! {
                _ = sigterm.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
