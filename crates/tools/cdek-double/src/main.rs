//! `cdek-double`: runs the CDEK API v2 double as a process (for the demo stack and for
//! manual tests). Logs JSON lines to stdout, the first of them `listening` with the port.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use cdek_double::{CdekDouble, DoubleConfig, TEST_CLIENT_ID, TEST_CLIENT_SECRET};
use clap::Parser;
use slog::{Drain, o};

#[derive(Debug, Parser)]
#[command(name = "cdek-double", version, about = "A faithful in-memory test double of CDEK's API v2")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "CDEK_DOUBLE_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one (logged in the `listening` line).
    #[arg(long, env = "CDEK_DOUBLE_PORT", default_value_t = 8085)]
    port: u16,
    /// The account's client id (default: CDEK's public test account).
    #[arg(long, env = "CDEK_DOUBLE_CLIENT_ID", default_value = TEST_CLIENT_ID)]
    client_id: String,
    /// The account's secret (default: CDEK's public test account). Never logged.
    #[arg(long, env = "CDEK_DOUBLE_CLIENT_SECRET", default_value = TEST_CLIENT_SECRET, hide_default_value = true)]
    client_secret: String,
    /// Lifetime of access tokens, seconds.
    #[arg(long, env = "CDEK_DOUBLE_TOKEN_TTL_SECS", default_value_t = 3600)]
    token_ttl_secs: u64,
    /// Delay before an accepted request is decided, milliseconds.
    #[arg(long, env = "CDEK_DOUBLE_PROCESSING_DELAY_MS", default_value_t = 1000)]
    processing_delay_ms: u64,
    /// Tries per webhook delivery (real CDEK: 12).
    #[arg(long, env = "CDEK_DOUBLE_WEBHOOK_ATTEMPTS", default_value_t = 12)]
    webhook_attempts: u32,
    /// Pause before the first webhook retry, doubling up to 16x (36000 ≈ CDEK's 75 minutes).
    #[arg(long, env = "CDEK_DOUBLE_WEBHOOK_RETRY_MS", default_value_t = 500)]
    webhook_retry_ms: u64,
    /// Time limit of one webhook attempt, milliseconds (real CDEK: 15 s).
    #[arg(long, env = "CDEK_DOUBLE_WEBHOOK_TIMEOUT_MS", default_value_t = 15000)]
    webhook_timeout_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let json = slog_json::Json::new(std::io::stdout()).set_newlines(true).add_default_keys().build().fuse();
    let (drain, _guard) = slog_async::Async::new(json).chan_size(4096).build_with_guard();
    let log = slog::Logger::root(drain.fuse(), o!("service" => "cdek-double", "version" => env!("CARGO_PKG_VERSION")));

    let config = DoubleConfig {
        bind: SocketAddr::new(args.host, args.port),
        client_id: args.client_id,
        client_secret: args.client_secret,
        token_ttl: Duration::from_secs(args.token_ttl_secs),
        processing_delay: Duration::from_millis(args.processing_delay_ms),
        webhook_attempts: args.webhook_attempts,
        webhook_retry_base: Duration::from_millis(args.webhook_retry_ms),
        webhook_timeout: Duration::from_millis(args.webhook_timeout_ms),
        log: log.clone(),
    };
    let double = match CdekDouble::start(config).await {
        Ok(double) => double,
        Err(error) => {
            slog::crit!(log, "cannot start"; "error" => format!("{error:#}"));
            return Err(error);
        }
    };
    shutdown_signal().await;
    slog::info!(log, "stopping");
    double.stop().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
