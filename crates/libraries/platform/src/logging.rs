//! Structured JSON logs with slog: one JSON object per line on stdout, with `ts`,
//! `level`, `msg`, the service name and whatever key-values the call site adds.

use serde::{Deserialize, Serialize};
use slog::{Drain, Logger, o};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Lowest level written: critical, error, warning, info, debug, trace.
    pub level: LogLevel,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: LogLevel::Info }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Critical,
    Error,
    Warning,
    Info,
    Debug,
    Trace,
}

impl From<LogLevel> for slog::Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Critical => slog::Level::Critical,
            LogLevel::Error => slog::Level::Error,
            LogLevel::Warning => slog::Level::Warning,
            LogLevel::Info => slog::Level::Info,
            LogLevel::Debug => slog::Level::Debug,
            LogLevel::Trace => slog::Level::Trace,
        }
    }
}

/// The root logger and the guard of its writer thread: dropping the guard flushes
/// what is still queued, so keep it until the service has stopped.
pub struct Logging {
    pub log: Logger,
    _guard: slog_async::AsyncGuard,
}

/// Builds the root logger of a service.
pub fn init(service: &'static str, config: &LogConfig) -> Logging {
    let json = slog_json::Json::new(std::io::stdout()).set_newlines(true).add_default_keys().build().fuse();
    let (drain, guard) = slog_async::Async::new(json).chan_size(4096).build_with_guard();
    let drain = drain.filter_level(config.level.into()).fuse();
    let log = Logger::root(drain, o!("service" => service, "version" => env!("CARGO_PKG_VERSION")));
    Logging { log, _guard: guard }
}

/// Writes the full cause chain of an error on one line: "outer: inner: root cause".
pub fn error_chain(error: &anyhow::Error) -> String {
    format!("{error:#}")
}
