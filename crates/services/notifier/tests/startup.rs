//! notifier starts on port 0 against real servers, follows its dependencies in
//! `/readyz`, refuses bad configuration clearly and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use notifier::config::TrackingConfig;
use notifier::{Application, Config};
use platform::Secret;
use platform::http::HttpConfig;
use platform::keys::OpsConfig;
use test_support::service::{self, Dependencies, Started};

const BINARY: &str = env!("CARGO_BIN_EXE_notifier");

fn config(deps: &Dependencies) -> Config {
    Config {
        http: HttpConfig::with_port(0),
        kafka: deps.kafka.clone(),
        log: test_support::test_log_config(),
        tracking: TrackingConfig { ticket_secret: Secret::new(TICKET_SECRET), ..TrackingConfig::default() },
        ops: OpsConfig { keys: BTreeMap::from([("ops".to_owned(), Secret::new(OPS_KEY))]) },
        ws: Default::default(),
    }
}

const TICKET_SECRET: &str = "ticket-secret-for-the-notifier-tests-0123";
const OPS_KEY: &str = "an-ops-key-0123456789";
const SECRETS: [(&str, &str); 2] =
    [("ORDERTRACK_TRACKING__TICKET_SECRET", TICKET_SECRET), ("ORDERTRACK_OPS__KEYS__OPS", OPS_KEY)];

#[tokio::test(flavor = "multi_thread")]
async fn ready_on_port_zero_and_not_ready_while_a_dependency_is_away() {
    let mut deps = Dependencies::start("notifier", false, false).await;
    let started = Started::start::<Application>(config(&deps)).await;
    service::assert_operational_endpoints(&started, &mut deps).await;
    started.stop().await;
}

#[test]
fn bad_configuration_is_one_clear_line_and_a_non_zero_exit() {
    service::assert_common_bad_configurations(BINARY, &SECRETS, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_process_cleanly() {
    let deps = Dependencies::start("notifier_sigterm", false, false).await;
    service::assert_process_stops_cleanly_on_sigterm(BINARY, &deps, &SECRETS).await;
}

#[test]
fn the_shipped_config_file_is_valid() {
    let loaded: Config = service::load_shipped_config(&SECRETS);
    assert_eq!(loaded.ws.queue_limit, notifier::config::WsConfig::default().queue_limit);
    assert_eq!(loaded.http.host, "0.0.0.0");
}
