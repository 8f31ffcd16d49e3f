//! order-api starts on port 0 against real servers, follows its dependencies in
//! `/readyz`, refuses bad configuration clearly and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use order_api::config::TrackingConfig;
use order_api::{Application, Config};
use platform::Secret;
use platform::http::HttpConfig;
use platform::keys::AuthSettings;
use platform::service::Service;
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
        orders: Default::default(),
        web: Default::default(),
    }
}

const STORE_KEY: &str = "a-storefront-key-0123456789";
const TICKET_SECRET: &str = "a-ticket-secret-0123456789-0123456789";
/// The secrets every start needs, as environment variables.
const SECRETS: [(&str, &str); 2] =
    [("ORDERTRACK_AUTH__STOREFRONT_KEYS__SHOP", STORE_KEY), ("ORDERTRACK_TRACKING__TICKET_SECRET", TICKET_SECRET)];

#[tokio::test(flavor = "multi_thread")]
async fn ready_on_port_zero_and_not_ready_while_a_dependency_is_away() {
    let mut deps = Dependencies::start("order_api", true, true).await;
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
    service::assert_start_fails(BINARY, &[], 2, &["auth.storefront_keys"]);
    service::assert_start_fails(
        BINARY,
        &[SECRETS[0], ("ORDERTRACK_TRACKING__TICKET_SECRET", "short")],
        2,
        &["tracking.ticket_secret", "at least 32"],
    );
    let stderr = service::assert_start_fails(
        BINARY,
        &[
            SECRETS[0],
            SECRETS[1],
            ("ORDERTRACK_POSTGRES__URL", "postgres://ordertrack:secret-pw@127.0.0.1:1/ordertrack"),
        ],
        1,
        &["start-up failed", "postgres", "127.0.0.1:1", "not reachable"],
    );
    assert!(!stderr.contains("secret-pw"), "the password leaked: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_process_cleanly() {
    let deps = Dependencies::start("order_api_sigterm", true, true).await;
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
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../config/order-api.toml"));
    assert!(path.exists());
    let env = SECRETS.map(|(k, v)| (k.to_owned(), v.to_owned()));
    let loaded: Config = platform::config::load_from(Some(path), env).unwrap();
    assert_eq!(loaded.auth.storefront_keys.keys().collect::<Vec<_>>(), ["shop"]);
    assert_eq!(loaded.http.host, "0.0.0.0");
}
