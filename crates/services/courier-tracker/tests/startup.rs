//! courier-tracker starts on port 0 against real servers, follows its dependencies in
//! `/readyz`, refuses bad configuration clearly and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use courier_tracker::config::{CouriersConfig, OpsConfig};
use courier_tracker::{Application, Config};
use platform::Secret;
use platform::http::HttpConfig;
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
    let started = Started::start::<Application>(config(&deps)).await;
    service::assert_operational_endpoints(&started, &mut deps).await;
    started.stop().await;
}

#[test]
fn bad_configuration_is_one_clear_line_and_a_non_zero_exit() {
    service::assert_common_bad_configurations(BINARY, &SECRETS, true);
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
    service::assert_process_stops_cleanly_on_sigterm(BINARY, &deps, &SECRETS).await;
}

#[test]
fn the_shipped_config_file_is_valid() {
    let loaded: Config = service::load_shipped_config(&SECRETS);
    assert_eq!(loaded.http.host, "0.0.0.0");
}
