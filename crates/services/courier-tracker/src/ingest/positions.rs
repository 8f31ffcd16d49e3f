//! Latest courier positions in Redis: a hash per courier (`tracker:courier:<store>/<id>`)
//! and one GEO set of all of them (members `<store>/<id>`), so "couriers near a point" is
//! one GEOSEARCH. A position only replaces an older one
//! (batches may race or arrive late). When Redis is away, the last points are kept in
//! memory so filtering goes on; Redis catches up with the next accepted point.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use deadpool_redis::redis::{self, Script};
use domain::geo::Coordinates;
use domain::ids::CourierKey;
use domain::position::Position;
use platform::redis::{RedisConfig, SharedConnection};
use prometheus::IntCounter;
use serde::Serialize;
use slog::{Logger, warn};

use super::filters::Last;

/// Sets the courier's hash and GEO entry if `t` is newer than what is stored.
const SAVE: &str = r"
local stored = redis.call('HGET', KEYS[1], 't')
if stored and tonumber(stored) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'lat', ARGV[1], 'lon', ARGV[2], 't', ARGV[3], 'acc', ARGV[4], 'speed', ARGV[5], 'heading', ARGV[6])
redis.call('GEOADD', KEYS[2], ARGV[2], ARGV[8], ARGV[7])
return 1
";

/// Redis GEO sets hold latitudes up to ±85.05112878° only (Web Mercator) and refuse the
/// rest: a position or a search centre beyond is put on that line in the GEO set (the
/// hash keeps the true latitude), so neither fails.
const GEO_MAX_LAT: f64 = 85.051_128_78;

fn geo_lat(lat: f64) -> f64 {
    lat.clamp(-GEO_MAX_LAT, GEO_MAX_LAT)
}

/// Memory kept for couriers while Redis is away.
const MAX_REMEMBERED: usize = 200_000;

pub struct Positions {
    redis: SharedConnection,
    config: RedisConfig,
    save: Script,
    remembered: Mutex<HashMap<CourierKey, Last>>,
    failures: IntCounter,
    log: Logger,
}

/// A courier near a point.
#[derive(Debug, Clone, Serialize)]
pub struct Nearby {
    pub store_id: String,
    pub courier_id: String,
    pub distance_m: f64,
    pub lat: f64,
    pub lon: f64,
    pub recorded_at: DateTime<Utc>,
}

impl Positions {
    pub fn new(redis: SharedConnection, config: RedisConfig, failures: IntCounter, log: Logger) -> Self {
        Self { redis, config, save: Script::new(SAVE), remembered: Mutex::new(HashMap::new()), failures, log }
    }

    fn courier_key(&self, courier: &str) -> String {
        // `courier` is a `CourierKey` written out: `<store>/<id>`.
        self.config.key(&format!("tracker:courier:{courier}"))
    }

    fn geo_key(&self) -> String {
        self.config.key("tracker:geo")
    }

    fn failed(&self, operation: &str, error: &str) {
        self.redis.reset();
        self.failures.inc();
        warn!(self.log, "redis unavailable for positions"; "operation" => operation, "error" => error);
    }

    fn remember(&self, courier: &CourierKey, last: Last) {
        if let Ok(mut remembered) = self.remembered.lock() {
            if remembered.len() >= MAX_REMEMBERED {
                remembered.clear();
            }
            remembered.insert(courier.clone(), last);
        }
    }

    /// The courier's last accepted point: from Redis, or from memory when Redis is away.
    pub async fn last(&self, courier: &CourierKey) -> Option<Last> {
        let key = self.courier_key(&courier.to_string());
        let result = async {
            let mut conn = self.redis.get().await?;
            let mut command = redis::cmd("HMGET");
            command.arg(&key).arg("lat").arg("lon").arg("t");
            let fetch = command.query_async::<(Option<f64>, Option<f64>, Option<i64>)>(&mut conn);
            tokio::time::timeout(self.config.timeout(), fetch)
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok((Some(lat), Some(lon), Some(t))) => Some(Last {
                point: Coordinates::parse(lat, lon).ok()?,
                recorded_at: Utc.timestamp_millis_opt(t).single()?,
            }),
            Ok(_) => None,
            Err(error) => {
                self.failed("read", &error);
                self.remembered.lock().ok().and_then(|remembered| remembered.get(courier).copied())
            }
        }
    }

    /// Stores the newest accepted position.
    pub async fn save(&self, courier: &CourierKey, position: &Position) {
        let member = courier.to_string();
        self.remember(courier, Last { point: position.point, recorded_at: position.recorded_at });
        let result = async {
            let mut conn = self.redis.get().await?;
            let mut invocation = self.save.key(self.courier_key(&member));
            invocation
                .key(self.geo_key())
                .arg(position.point.lat())
                .arg(position.point.lon())
                .arg(position.recorded_at.timestamp_millis())
                .arg(position.accuracy_m)
                .arg(position.speed_mps.map_or(String::new(), |s| s.to_string()))
                .arg(position.heading_deg.map_or(String::new(), |h| h.to_string()))
                .arg(&member)
                .arg(geo_lat(position.point.lat()));
            tokio::time::timeout(self.config.timeout(), invocation.invoke_async::<i64>(&mut conn))
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(error) = result {
            self.failed("save", &error);
        }
    }

    /// Couriers (of every store) within `radius_m` of `center`, nearest first.
    pub async fn nearby(&self, center: &Coordinates, radius_m: f64, limit: usize) -> Result<Vec<Nearby>, String> {
        let mut conn = self.redis.get().await?;
        let mut search = redis::cmd("GEOSEARCH");
        search
            .arg(self.geo_key())
            .arg("FROMLONLAT")
            .arg(center.lon())
            .arg(geo_lat(center.lat()))
            .arg("BYRADIUS")
            .arg(radius_m)
            .arg("m")
            .arg("ASC")
            .arg("COUNT")
            .arg(limit)
            .arg("WITHDIST");
        let found: Vec<(String, f64)> = tokio::time::timeout(self.config.timeout(), search.query_async(&mut conn))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        if found.is_empty() {
            // An empty pipeline answers nothing a Vec can be read from: no couriers, no query.
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (courier, _) in &found {
            pipe.cmd("HMGET").arg(self.courier_key(courier)).arg("lat").arg("lon").arg("t");
        }
        let details: Vec<(Option<f64>, Option<f64>, Option<i64>)> =
            tokio::time::timeout(self.config.timeout(), pipe.query_async(&mut conn))
                .await
                .map_err(|_| "timed out".to_owned())?
                .map_err(|e| e.to_string())?;
        Ok(found
            .into_iter()
            .zip(details)
            .filter_map(|((member, distance_m), (lat, lon, t))| {
                // A member of the time before couriers belonged to stores names no store.
                let key = CourierKey::parse(&member).ok()?;
                Some(Nearby {
                    store_id: key.store.to_string(),
                    courier_id: key.courier.to_string(),
                    distance_m,
                    lat: lat?,
                    lon: lon?,
                    recorded_at: Utc.timestamp_millis_opt(t?).single()?,
                })
            })
            .collect())
    }
}
