//! A read-through Redis cache of the storefront's order view (`GET /orders/{id}`), safe against races: every entry carries
//! the order version it shows. A change writes a "tombstone" with the new version after
//! it commits; a reader fills the cache only with a version at least as new as what is
//! there. So a slow reader can never put an older view over a newer change.
//!
//! Redis is optional: when it fails, reads go to Postgres (a warning and a metric), the
//! cache is skipped for a second, and invalidations that could not be written are
//! retried until Redis is back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::Script;
use deadpool_redis::redis::aio::MultiplexedConnection;
use domain::ids::OrderId;
use platform::redis::{RedisConfig, RedisPool, SharedConnection};
use prometheus::{IntCounterVec, Opts, Registry};
use slog::{Logger, warn};

const FILL: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if v then
  local have, want = tonumber(v), tonumber(ARGV[1])
  if want < have then return 0 end
  if want == have and redis.call('HGET', KEYS[1], 'b') ~= '' then return 0 end
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'b', ARGV[2], 's', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
";

const INVALIDATE: &str = r"
for _, key in ipairs(KEYS) do
  local v = redis.call('HGET', key, 'v')
  if (not v) or tonumber(v) < tonumber(ARGV[1]) then
    redis.call('HSET', key, 'v', ARGV[1], 'b', '')
    redis.call('EXPIRE', key, ARGV[2])
  end
end
return 1
";

#[derive(Clone)]
pub struct OrderCache {
    inner: Arc<Inner>,
}

struct Inner {
    config: RedisConfig,
    ttl_secs: u64,
    fill: Script,
    invalidate: Script,
    connection: SharedConnection,
    /// Milliseconds since the epoch until which Redis is not tried.
    skip_until_ms: AtomicU64,
    /// Invalidations Redis did not take, retried later: order → version.
    pending: Mutex<HashMap<OrderId, i64>>,
    events: IntCounterVec,
    log: Logger,
}

const BREAK_FOR: Duration = Duration::from_secs(1);
const MAX_PENDING: usize = 100_000;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl OrderCache {
    pub fn new(
        pool: RedisPool,
        config: RedisConfig,
        ttl: Duration,
        registry: &Registry,
        log: Logger,
    ) -> anyhow::Result<Self> {
        let events = IntCounterVec::new(
            Opts::new("order_cache_events_total", "Order cache lookups and failures by outcome"),
            &["outcome"],
        )?;
        registry.register(Box::new(events.clone()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                connection: SharedConnection::new(pool, config.timeout()),
                config,
                ttl_secs: ttl.as_secs().max(1),
                fill: Script::new(FILL),
                invalidate: Script::new(INVALIDATE),
                skip_until_ms: AtomicU64::new(0),
                pending: Mutex::new(HashMap::new()),
                events,
                log,
            }),
        })
    }

    fn key(&self, id: OrderId) -> String {
        self.inner.config.key(&format!("order:{id}"))
    }

    fn available(&self) -> bool {
        now_ms() >= self.inner.skip_until_ms.load(Ordering::Relaxed)
    }

    fn failed(&self, what: &str, error: &str) {
        self.inner.connection.reset();
        self.inner.skip_until_ms.store(now_ms() + BREAK_FOR.as_millis() as u64, Ordering::Relaxed);
        self.inner.events.with_label_values(&["error"]).inc();
        warn!(self.inner.log, "redis cache unavailable, using postgres"; "operation" => what, "error" => error);
    }

    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        self.inner.connection.get().await
    }
}

/// A cached view and the store of its order (so a hit can be checked against the
/// caller's scope without asking Postgres).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub body: Vec<u8>,
    pub store_id: String,
}

impl OrderCache {
    /// The cached body, if there is a current one.
    pub async fn get(&self, id: OrderId) -> Option<Cached> {
        if !self.available() || self.is_pending(id) {
            // Redis is away, or it may still hold a view older than a committed change.
            self.inner.events.with_label_values(&["skipped"]).inc();
            return None;
        }
        let key = self.key(id);
        let result = async {
            let mut conn = self.connection().await?;
            let mut command = deadpool_redis::redis::cmd("HMGET");
            command.arg(&key).arg("b").arg("s");
            let fetch = command.query_async::<(Option<Vec<u8>>, Option<String>)>(&mut conn);
            tokio::time::timeout(self.inner.config.timeout(), fetch)
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok((Some(body), Some(store_id))) if !body.is_empty() => {
                self.inner.events.with_label_values(&["hit"]).inc();
                Some(Cached { body, store_id })
            }
            Ok(_) => {
                self.inner.events.with_label_values(&["miss"]).inc();
                None
            }
            Err(error) => {
                self.failed("get", &error);
                None
            }
        }
    }

    /// Stores a view read from Postgres at `version`, unless something newer is there.
    pub async fn fill(&self, id: OrderId, version: i64, store_id: &str, body: &[u8]) {
        if !self.available() || self.is_pending(id) {
            return;
        }
        let key = self.key(id);
        let result = async {
            let mut conn = self.connection().await?;
            let mut invocation = self.inner.fill.key(&key);
            invocation.arg(version).arg(body).arg(self.inner.ttl_secs).arg(store_id);
            tokio::time::timeout(self.inner.config.timeout(), invocation.invoke_async::<i64>(&mut conn))
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(error) = result {
            self.failed("fill", &error);
        }
    }

    /// Marks the cached view stale if it is older than `version`. Called after the
    /// change committed; if Redis does not take it, it is retried later.
    pub async fn invalidate(&self, id: OrderId, version: i64) {
        if self.available() && self.write_invalidation(id, version).await.is_ok() {
            return;
        }
        let mut pending = self.inner.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if pending.len() < MAX_PENDING {
            let entry = pending.entry(id).or_insert(version);
            *entry = (*entry).max(version);
        }
    }

    async fn write_invalidation(&self, id: OrderId, version: i64) -> Result<(), ()> {
        let keys = [self.key(id)];
        let result = async {
            let mut conn = self.connection().await?;
            let mut invocation = self.inner.invalidate.prepare_invoke();
            for key in &keys {
                invocation.key(key);
            }
            invocation.arg(version).arg(self.inner.ttl_secs);
            tokio::time::timeout(self.inner.config.timeout(), invocation.invoke_async::<i64>(&mut conn))
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())
        }
        .await;
        result.map(|_| ()).map_err(|error| self.failed("invalidate", &error))
    }

    /// Retries the invalidations Redis missed. An entry leaves the pending list only
    /// after its tombstone is written, so reads bypass the cache until then.
    pub async fn retry_pending(&self) {
        if !self.available() {
            return;
        }
        let snapshot: Vec<(OrderId, i64)> = {
            let pending = self.inner.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            pending.iter().map(|(id, version)| (*id, *version)).collect()
        };
        for (id, version) in snapshot {
            if self.write_invalidation(id, version).await.is_err() {
                return;
            }
            let mut pending = self.inner.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if pending.get(&id) == Some(&version) {
                pending.remove(&id);
            }
        }
    }

    /// Retries missed invalidations every second until `shutdown` (a supervisor part).
    pub async fn retry_until_stopped(self, shutdown: tokio_util::sync::CancellationToken) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(Duration::from_secs(1)) => self.retry_pending().await,
            }
        }
    }

    fn is_pending(&self, id: OrderId) -> bool {
        self.inner.pending.lock().is_ok_and(|pending| pending.contains_key(&id))
    }

    /// Invalidations waiting for Redis.
    pub fn pending(&self) -> usize {
        self.inner.pending.lock().map_or(0, |pending| pending.len())
    }
}
