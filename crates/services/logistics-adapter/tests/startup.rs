//! logistics-adapter starts on port 0 against real servers, follows its dependencies in
//! `/readyz`, refuses bad configuration clearly and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use logistics_adapter::{Application, Config};
use platform::http::HttpConfig;
use platform::service::Service;
use test_support::service::{self, Dependencies, Started};

const BINARY: &str = env!("CARGO_BIN_EXE_logistics-adapter");
const WEBHOOK_SECRET: &str = "a-webhook-secret-0123456789";

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
        &[("ORDERTRACK_CDEK__WEBHOOK_SECRET", "short")],
        2,
        &["cdek.webhook_secret", "at least 16"],
    );
    service::assert_start_fails(
        BINARY,
        &[
            ("ORDERTRACK_CDEK__WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("ORDERTRACK_POSTGRES__URL", "postgres://ordertrack:secret-pw@127.0.0.1:1/ordertrack"),
        ],
        1,
        &["start-up failed", "postgres", "127.0.0.1:1", "not reachable"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_process_cleanly() {
    let deps = Dependencies::start("logistics_adapter_sigterm", true, false).await;
    let port = service::free_port();
    let postgres = deps.postgres_config();
    service::assert_sigterm_stops_cleanly(
        BINARY,
        &[
            ("ORDERTRACK_HTTP__PORT", &port.to_string()),
            ("ORDERTRACK_POSTGRES__URL", postgres.url.expose()),
            ("ORDERTRACK_KAFKA__BROKERS", &deps.kafka.brokers),
            ("ORDERTRACK_KAFKA__TOPIC_PREFIX", &deps.kafka.topic_prefix),
            ("ORDERTRACK_CDEK__WEBHOOK_SECRET", WEBHOOK_SECRET),
        ],
        port,
    )
    .await;
}

#[test]
fn the_shipped_config_file_is_valid() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../config/logistics-adapter.toml"));
    assert!(path.exists());
    let secret = ("ORDERTRACK_CDEK__WEBHOOK_SECRET".to_owned(), WEBHOOK_SECRET.to_owned());
    let loaded: Config = platform::config::load_from(Some(path), vec![secret]).unwrap();
    assert_eq!(loaded.http.host, "0.0.0.0");
}
