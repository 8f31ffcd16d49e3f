//! order-api starts on port 0 against real servers, follows its dependencies in
//! `/readyz`, refuses bad configuration clearly and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use order_api::config::TrackingConfig;
use order_api::{Application, Config};
use orders::OrdersSettings;
use platform::Secret;
use platform::http::HttpConfig;
use platform::keys::AuthSettings;
use test_support::service::{self, Dependencies, Started};

const BINARY: &str = env!("CARGO_BIN_EXE_order-api");

fn config(deps: &Dependencies) -> Config {
    Config {
        http: HttpConfig::with_port(0),
        postgres: deps.postgres_config(),
        redis: deps.redis_config(),
        kafka: deps.kafka.clone(),
        log: test_support::test_log_config(),
        auth: AuthSettings {
            storefront_keys: BTreeMap::from([("shop".to_owned(), Secret::new(STORE_KEY))]),
            service_keys: BTreeMap::new(),
        },
        tracking: TrackingConfig { ticket_secret: Secret::new(TICKET_SECRET), ..TrackingConfig::default() },
        orders: OrdersSettings { saved_response_key: Secret::new(SAVED_RESPONSE_KEY), ..Default::default() },
        web: Default::default(),
    }
}

const STORE_KEY: &str = "a-storefront-key-0123456789";
const TICKET_SECRET: &str = "a-ticket-secret-0123456789-0123456789";
const SAVED_RESPONSE_KEY: &str = "a-saved-response-key-0123456789-0123456789";
/// The secrets every start needs, as environment variables.
const SECRETS: [(&str, &str); 3] = [
    ("ORDERTRACK_AUTH__STOREFRONT_KEYS__SHOP", STORE_KEY),
    ("ORDERTRACK_TRACKING__TICKET_SECRET", TICKET_SECRET),
    ("ORDERTRACK_ORDERS__SAVED_RESPONSE_KEY", SAVED_RESPONSE_KEY),
];

#[tokio::test(flavor = "multi_thread")]
async fn ready_on_port_zero_and_not_ready_while_a_dependency_is_away() {
    let mut deps = Dependencies::start("order_api", true, true).await;
    let started = Started::start::<Application>(config(&deps)).await;
    service::assert_operational_endpoints(&started, &mut deps).await;
    started.stop().await;
}

#[test]
fn bad_configuration_is_one_clear_line_and_a_non_zero_exit() {
    service::assert_common_bad_configurations(BINARY, &SECRETS, true);
    service::assert_start_fails(BINARY, &[], 2, &["auth.storefront_keys"]);
    service::assert_start_fails(
        BINARY,
        &[SECRETS[0], SECRETS[2], ("ORDERTRACK_TRACKING__TICKET_SECRET", "short")],
        2,
        &["tracking.ticket_secret", "at least 32"],
    );
    service::assert_start_fails(
        BINARY,
        &[SECRETS[0], SECRETS[1], ("ORDERTRACK_ORDERS__SAVED_RESPONSE_KEY", "short")],
        2,
        &["orders.saved_response_key", "at least 32"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_process_cleanly() {
    let deps = Dependencies::start("order_api_sigterm", true, true).await;
    service::assert_process_stops_cleanly_on_sigterm(BINARY, &deps, &SECRETS).await;
}

#[test]
fn the_shipped_config_file_is_valid() {
    let loaded: Config = service::load_shipped_config(&SECRETS);
    assert_eq!(loaded.auth.storefront_keys.keys().collect::<Vec<_>>(), ["shop"]);
    assert_eq!(loaded.http.host, "0.0.0.0");
}
