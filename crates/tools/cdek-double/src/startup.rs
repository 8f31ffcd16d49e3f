//! Starting and stopping a double: the HTTP server plus its two background tasks.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::sync::mpsc::unbounded_channel;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DoubleConfig;
use crate::store::Shared;
use crate::{delivery, processing, routes};

/// A running double. Dropping it stops the server without waiting; prefer
/// [`CdekDouble::stop`].
pub struct CdekDouble {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: ServerHandle,
    server_task: Option<JoinHandle<std::io::Result<()>>>,
    workers: Vec<JoinHandle<()>>,
    cancel: CancellationToken,
}

impl CdekDouble {
    /// Binds `config.bind` (127.0.0.1:0 by default) and serves until stopped. Must be
    /// called inside a Tokio runtime.
    pub async fn start(config: DoubleConfig) -> anyhow::Result<CdekDouble> {
        let listener = TcpListener::bind(config.bind).with_context(|| format!("cannot listen on {}", config.bind))?;
        let addr = listener.local_addr().context("cannot read the bound address")?;
        let log = config.log.clone();
        let (jobs_tx, jobs_rx) = unbounded_channel();
        let (deliveries_tx, deliveries_rx) = unbounded_channel();
        let shared = Arc::new(Shared::new(config, jobs_tx, deliveries_tx));
        let cancel = CancellationToken::new();
        let workers = vec![
            tokio::spawn(processing::run(shared.clone(), jobs_rx, cancel.clone())),
            tokio::spawn(delivery::run(shared.clone(), deliveries_rx, cancel.clone())),
        ];
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(actix_web::middleware::from_fn(routes::log_request))
                .configure(routes::configure)
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .context("cannot start the HTTP server")?
        .run();
        let handle = server.handle();
        let server_task = tokio::spawn(server);
        slog::info!(log, "listening"; "addr" => %addr, "base_url" => format!("http://{addr}/v2"), "port" => addr.port());
        Ok(CdekDouble { addr, shared, server: handle, server_task: Some(server_task), workers, cancel })
    }

    /// The address the double listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v2`: what a CDEK client takes as its base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// `http://127.0.0.1:PORT/control`: the test controls.
    pub fn control_url(&self) -> String {
        format!("http://{}/control", self.addr)
    }

    /// The configuration the double runs with.
    pub fn config(&self) -> &DoubleConfig {
        &self.shared.config
    }

    /// Stops the server and the background tasks (pending webhook retries are dropped).
    pub async fn stop(mut self) {
        self.server.stop(true).await;
        self.cancel.cancel();
        for worker in std::mem::take(&mut self.workers) {
            let _ = worker.await;
        }
        if let Some(task) = self.server_task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for CdekDouble {
    fn drop(&mut self) {
        self.cancel.cancel();
        // The stop command is sent at once; the returned future only waits for it.
        drop(self.server.stop(false));
    }
}
