//! The `main` of every service: load the configuration, build the application, run it
//! until it is stopped. A bad configuration or a failed start-up is reported as one
//! JSON line on stderr and a non-zero exit code, never a panic.

use std::future::Future;
use std::process::ExitCode;

use crate::config::{self, ServiceConfig};

/// What a service's `Application` offers: `build` binds its ports and connects its
/// dependencies; `run_until_stopped` serves until SIGTERM/SIGINT and shuts down cleanly.
pub trait Service: Sized {
    type Config: ServiceConfig;

    fn build(config: Self::Config) -> impl Future<Output = anyhow::Result<Self>>;

    fn run_until_stopped(self) -> impl Future<Output = anyhow::Result<()>>;
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
