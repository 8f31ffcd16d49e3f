//! courier-tracker starts on port 0 against real servers, follows its dependencies in
//! `/readyz`, refuses bad configuration clearly and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use courier_tracker::config::{CouriersConfig, OpsConfig};
use courier_tracker::{Application, Config};
use platform::Secret;
use platform::http::HttpConfig;
use platform::service::Service;
use test_support::service::{self, Dependencies, Started};

const BINARY: &str = env!("CARGO_BIN_EXE_courier-tracker");

fn config(deps: &Dependencies) -> Config {
    Config {
        http: HttpConfig::with_port(0),
        postgres: deps.postgres_config(),
        redis: deps.redis_config(),
        kafka: deps.kafka.clone(),
        log: test_support::test_log_config(),
        couriers: CouriersConfig { token_secret: Secret::new(TOKEN_SECRET), max_batch: 100 },
        ops: OpsConfig { keys: BTreeMap::from([("ops".to_owned(), Secret::new(OPS_KEY))]) },
        filters: Default::default(),
        motion: Default::default(),
    }
}

const TOKEN_SECRET: &str = "a-courier-token-secret-0123456789-0123";
const OPS_KEY: &str = "an-ops-key-0123456789";
const SECRETS: [(&str, &str); 2] =
    [("ORDERTRACK_COURIERS__TOKEN_SECRET", TOKEN_SECRET), ("ORDERTRACK_OPS__KEYS__OPS", OPS_KEY)];

#[tokio::test(flavor = "multi_thread")]
async fn ready_on_port_zero_and_not_ready_while_a_dependency_is_away() {
    let mut deps = Dependencies::start("courier_tracker", true, true).await;
    let started = Started::spawn(Application::build(config(&deps)).await.unwrap());
    service::assert_operational_endpoints(&started, &mut deps).await;
    started.stop().await;
}

#[test]
fn bad_configuration_is_one_clear_line_and_a_non_zero_exit() {
    service::assert_start_fails(
        BINARY,
        &[("ORDERTRACK_HTTP__PROT", "1")],
        2,
        &["unknown field", "prot", "ORDERTRACK_HTTP__PROT"],
    );
    service::assert_start_fails(
        BINARY,
        &[("ORDERTRACK_HTTP__PORT", "eighty")],
        2,
        &["http.port", "ORDERTRACK_HTTP__PORT"],
    );
    service::assert_start_fails(
        BINARY,
        &[
            SECRETS[0],
            SECRETS[1],
            ("ORDERTRACK_POSTGRES__URL", "postgres://ordertrack:secret-pw@127.0.0.1:1/ordertrack"),
        ],
        1,
        &["start-up failed", "postgres", "127.0.0.1:1", "not reachable"],
    );
    service::assert_start_fails(BINARY, &[SECRETS[1]], 2, &["couriers.token_secret"]);
    service::assert_start_fails(
        BINARY,
        &[SECRETS[0], SECRETS[1], ("ORDERTRACK_FILTERS__MAX_SPEED_MPS", "-3")],
        2,
        &["filters.max_speed_mps"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_process_cleanly() {
    let deps = Dependencies::start("courier_tracker_sigterm", true, true).await;
    let port = service::free_port();
    let (postgres, redis) = (deps.postgres_config(), deps.redis_config());
    service::assert_sigterm_stops_cleanly(
        BINARY,
        &[
            ("ORDERTRACK_HTTP__PORT", &port.to_string()),
            ("ORDERTRACK_POSTGRES__URL", postgres.url.expose()),
            ("ORDERTRACK_REDIS__URL", redis.url.expose()),
            ("ORDERTRACK_KAFKA__BROKERS", &deps.kafka.brokers),
            ("ORDERTRACK_KAFKA__TOPIC_PREFIX", &deps.kafka.topic_prefix),
            SECRETS[0],
            SECRETS[1],
        ],
        port,
    )
    .await;
}

#[test]
fn the_shipped_config_file_is_valid() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../config/courier-tracker.toml"));
    assert!(path.exists());
    let env = SECRETS.map(|(k, v)| (k.to_owned(), v.to_owned()));
    let loaded: Config = platform::config::load_from(Some(path), env).unwrap();
    assert_eq!(loaded.http.host, "0.0.0.0");
}
