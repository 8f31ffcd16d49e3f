//! The knobs of one double: where it listens, the account it accepts and its timings.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// CDEK's public test account (published by CDEK for integrators).
pub const TEST_CLIENT_ID: &str = "wqGwiQx0gg8mLtiEKsUinjVSICCjtTEP";
/// The secret of CDEK's public test account.
pub const TEST_CLIENT_SECRET: &str = "RmAmgvSgSl1yirlz9QupbzOJVqhCxcP5";

/// How a double behaves. `Default` is what tests want: port 0 on 127.0.0.1, the public
/// test account, tokens valid for an hour, orders processed after 1 s, webhooks retried
/// 12 times from 500 ms on.
#[derive(Clone)]
pub struct DoubleConfig {
    /// Address to listen on; port 0 picks a free one (see `CdekDouble::local_addr`).
    pub bind: SocketAddr,
    /// The only account the double knows.
    pub client_id: String,
    /// Its secret. Never logged, and redacted by `Debug`.
    pub client_secret: String,
    /// Lifetime of an access token (`expires_in`).
    pub token_ttl: Duration,
    /// Time between accepting a request (202, ACCEPTED) and deciding it
    /// (SUCCESSFUL or INVALID).
    pub processing_delay: Duration,
    /// Tries per webhook delivery, the first one included (real CDEK: 12).
    pub webhook_attempts: u32,
    /// Pause before the first retry; it doubles with every retry, capped at 16 times
    /// this value. Real CDEK spreads its 12 tries over about 75 minutes; 12 attempts
    /// with `webhook_retry_base` = 36 s give the same (11 pauses, about 76 minutes).
    pub webhook_retry_base: Duration,
    /// How long one delivery attempt may take before it counts as a timeout
    /// (real CDEK: 15 s to connect).
    pub webhook_timeout: Duration,
    /// Where the double writes one line per request; discards by default.
    pub log: slog::Logger,
}

impl Default for DoubleConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            client_id: TEST_CLIENT_ID.to_owned(),
            client_secret: TEST_CLIENT_SECRET.to_owned(),
            token_ttl: Duration::from_secs(3600),
            processing_delay: Duration::from_millis(1000),
            webhook_attempts: 12,
            webhook_retry_base: Duration::from_millis(500),
            webhook_timeout: Duration::from_secs(15),
            log: slog::Logger::root(slog::Discard, slog::o!()),
        }
    }
}

impl fmt::Debug for DoubleConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoubleConfig")
            .field("bind", &self.bind)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_ttl", &self.token_ttl)
            .field("processing_delay", &self.processing_delay)
            .field("webhook_attempts", &self.webhook_attempts)
            .field("webhook_retry_base", &self.webhook_retry_base)
            .field("webhook_timeout", &self.webhook_timeout)
            .finish_non_exhaustive()
    }
}

impl DoubleConfig {
    /// The pause before retry number `retry` (1 = the first retry).
    pub fn webhook_backoff(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(4);
        self.webhook_retry_base.saturating_mul(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let config = DoubleConfig { webhook_retry_base: Duration::from_millis(100), ..DoubleConfig::default() };
        let pauses: Vec<u128> = (1..=7).map(|retry| config.webhook_backoff(retry).as_millis()).collect();
        assert_eq!(pauses, vec![100, 200, 400, 800, 1600, 1600, 1600]);
    }

    #[test]
    fn debug_hides_the_secret() {
        let printed = format!("{:?}", DoubleConfig::default());
        assert!(!printed.contains(TEST_CLIENT_SECRET));
        assert!(printed.contains(TEST_CLIENT_ID));
    }
}
