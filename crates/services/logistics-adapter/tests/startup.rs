//! logistics-adapter starts on port 0 against real servers, follows its dependencies in
//! `/readyz`, refuses bad configuration clearly and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use logistics_adapter::{Application, Config};
use platform::http::HttpConfig;
use test_support::service::{self, Dependencies, Started};

const BINARY: &str = env!("CARGO_BIN_EXE_logistics-adapter");
const WEBHOOK_SECRET: &str = "a-webhook-secret-0123456789";
const SECRETS: [(&str, &str); 1] = [("ORDERTRACK_CDEK__WEBHOOK_SECRET", WEBHOOK_SECRET)];

fn config(deps: &Dependencies) -> Config {
    Config {
        http: HttpConfig::with_port(0),
        postgres: deps.postgres_config(),
        kafka: deps.kafka.clone(),
        log: test_support::test_log_config(),
        cdek: logistics_adapter::config::CdekConfig {
            webhook_secret: platform::Secret::new("a-webhook-secret-0123456789"),
            ..Default::default()
        },
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_on_port_zero_and_not_ready_while_a_dependency_is_away() {
    let mut deps = Dependencies::start("logistics_adapter", true, false).await;
    let started = Started::start::<Application>(config(&deps)).await;
    service::assert_operational_endpoints(&started, &mut deps).await;
    started.stop().await;
}

#[test]
fn bad_configuration_is_one_clear_line_and_a_non_zero_exit() {
    service::assert_common_bad_configurations(BINARY, &SECRETS, true);
    service::assert_start_fails(
        BINARY,
        &[("ORDERTRACK_CDEK__WEBHOOK_SECRET", "short")],
        2,
        &["cdek.webhook_secret", "at least 16"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_process_cleanly() {
    let deps = Dependencies::start("logistics_adapter_sigterm", true, false).await;
    service::assert_process_stops_cleanly_on_sigterm(BINARY, &deps, &SECRETS).await;
}

#[test]
fn the_shipped_config_file_is_valid() {
    let loaded: Config = service::load_shipped_config(&SECRETS);
    assert_eq!(loaded.http.host, "0.0.0.0");
}
