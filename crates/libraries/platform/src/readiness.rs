//! Readiness: a service is ready when every dependency it uses answers. `/readyz`
//! runs all checks at once, each with a timeout, and reports each one.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::kafka::KafkaProbe;
#[cfg(feature = "postgres")]
use crate::postgres::{self, PgPool};
#[cfg(feature = "redis")]
use crate::redis::{self, RedisPool};

/// One dependency to check.
#[derive(Clone)]
pub enum Dependency {
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    #[cfg(feature = "redis")]
    Redis(RedisPool),
    Kafka(KafkaProbe),
    /// Work the service does at start-up before it can serve (set to true when done).
    StartupTask(std::sync::Arc<std::sync::atomic::AtomicBool>),
}

impl Dependency {
    async fn check(&self, timeout: Duration) -> Result<(), String> {
        match self {
            #[cfg(feature = "postgres")]
            Dependency::Postgres(pool) => postgres::ping(pool, timeout).await,
            #[cfg(feature = "redis")]
            Dependency::Redis(pool) => redis::ping(pool, timeout).await,
            Dependency::Kafka(probe) => {
                tokio::time::timeout(timeout + Duration::from_millis(500), probe.check(timeout))
                    .await
                    .map_err(|_| format!("no answer within {timeout:?}"))?
            }
            Dependency::StartupTask(done) => {
                if done.load(std::sync::atomic::Ordering::Acquire) {
                    Ok(())
                } else {
                    Err("still starting".to_owned())
                }
            }
        }
    }
}

#[derive(Clone, Default)]
pub struct Readiness {
    dependencies: Vec<(&'static str, Dependency)>,
    timeout: Duration,
}

#[derive(Debug, Serialize)]
pub struct ReadinessReport {
    pub ready: bool,
    /// "ok", or what went wrong, per dependency.
    pub checks: BTreeMap<&'static str, String>,
}

impl Readiness {
    pub fn new(timeout: Duration) -> Self {
        Self { dependencies: Vec::new(), timeout }
    }

    pub fn with(mut self, name: &'static str, dependency: Dependency) -> Self {
        self.dependencies.push((name, dependency));
        self
    }

    pub async fn check(&self) -> ReadinessReport {
        let results = futures::future::join_all(
            self.dependencies
                .iter()
                .map(|(name, dependency)| async move { (*name, dependency.check(self.timeout).await) }),
        )
        .await;
        let ready = results.iter().all(|(_, result)| result.is_ok());
        let checks =
            results.into_iter().map(|(name, result)| (name, result.err().unwrap_or_else(|| "ok".to_owned()))).collect();
        ReadinessReport { ready, checks }
    }
}
