//! The `main` of every service: load the configuration, build the application, run it
//! until it is stopped. A bad configuration or a failed start-up is reported as one
//! JSON line on stderr and a non-zero exit code, never a panic.

use std::future::Future;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::config::{self, ServiceConfig};
use crate::logging::Logging;
use crate::supervisor::Supervisor;

/// What every service offers: `build` connects its dependencies, binds its ports and
/// starts its servers and tasks under one [`Supervisor`]; the [`Running`] it returns is
/// served until SIGTERM/SIGINT and shut down cleanly by [`main`], or by a test through
/// its shutdown token.
pub trait Service {
    type Config: ServiceConfig;

    fn build(config: Self::Config) -> impl Future<Output = anyhow::Result<Running>>;
}

/// A service, built: its supervisor (every server and task it started), its log kept
/// open, and the ports it bound (0 in the configuration picks free ones).
pub struct Running {
    port: u16,
    grpc_port: Option<u16>,
    supervisor: Supervisor,
    _logging: Logging,
}

impl Running {
    pub fn new(port: u16, supervisor: Supervisor, logging: Logging) -> Self {
        Self { port, grpc_port: None, supervisor, _logging: logging }
    }

    pub fn with_grpc_port(self, port: u16) -> Self {
        Self { grpc_port: Some(port), ..self }
    }

    /// The HTTP port actually bound (order-grpc's: its operational endpoints).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The gRPC port actually bound, for a service that serves gRPC.
    pub fn grpc_port(&self) -> Option<u16> {
        self.grpc_port
    }

    /// Cancelling it stops the service as SIGTERM does.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.supervisor.shutdown_token()
    }

    /// Serves until stopped, then shuts everything down in order.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.supervisor.run().await
    }
}

/// Exit code for a configuration error (the process never started).
const EXIT_CONFIG: u8 = 2;
/// Exit code for a failed start-up or a service that stopped with an error.
const EXIT_FAILURE: u8 = 1;

pub fn main<S: Service>() -> ExitCode {
    let service = S::Config::SERVICE;
    let config = match config::load::<S::Config>() {
        Ok(config) => config,
        Err(error) => {
            return fail(service, "configuration error", &error.to_string(), EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(service, "cannot start the async runtime", &error.to_string(), EXIT_FAILURE);
        }
    };
    runtime.block_on(async {
        let application = match S::build(config).await {
            Ok(application) => application,
            Err(error) => {
                return fail(service, "start-up failed", &format!("{error:#}"), EXIT_FAILURE);
            }
        };
        match application.run_until_stopped().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(service, "stopped with an error", &format!("{error:#}"), EXIT_FAILURE),
        }
    })
}

/// One JSON line on stderr, in the same shape as the service's logs.
fn fail(service: &str, msg: &str, error: &str, code: u8) -> ExitCode {
    let line = serde_json::json!({
        "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
        "level": "CRIT",
        "service": service,
        "msg": msg,
        "error": error,
    });
    eprintln!("{line}");
    ExitCode::from(code)
}
