//! order-grpc starts on port 0 against real servers, follows its dependencies in
//! `/readyz` and in the standard gRPC health service, refuses bad configuration clearly
//! and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use std::collections::BTreeMap;

use order_grpc::config::GrpcConfig;
use order_grpc::{Application, Config};
use orders::OrdersSettings;
use platform::Secret;
use platform::http::HttpConfig;
use platform::keys::AuthSettings;
use test_support::service::{self, Dependencies, Started};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const BINARY: &str = env!("CARGO_BIN_EXE_order-grpc");

fn config(deps: &Dependencies) -> Config {
    Config {
        grpc: GrpcConfig { host: "127.0.0.1".into(), port: 0, health_interval_ms: 200 },
        http: HttpConfig::with_port(0),
        postgres: deps.postgres_config(),
        redis: deps.redis_config(),
        kafka: deps.kafka.clone(),
        log: test_support::test_log_config(),
        auth: AuthSettings {
            storefront_keys: BTreeMap::new(),
            service_keys: BTreeMap::from([("tests".to_owned(), Secret::new(SERVICE_KEY))]),
        },
        orders: OrdersSettings { saved_response_key: Secret::new(SAVED_RESPONSE_KEY), ..Default::default() },
    }
}

const SERVICE_KEY: &str = "a-service-key-0123456789";
const SAVED_RESPONSE_KEY: &str = "a-saved-response-key-0123456789-0123456789";
const SECRETS: [(&str, &str); 2] = [
    ("ORDERTRACK_AUTH__SERVICE_KEYS__TESTS", SERVICE_KEY),
    ("ORDERTRACK_ORDERS__SAVED_RESPONSE_KEY", SAVED_RESPONSE_KEY),
];

async fn grpc_health(port: u16) -> Option<ServingStatus> {
    let channel =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}")).ok()?.connect().await.ok()?;
    let mut client = HealthClient::new(channel);
    let response = client.check(HealthCheckRequest { service: String::new() }).await.ok()?;
    ServingStatus::try_from(response.into_inner().status).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_on_port_zero_and_not_ready_while_a_dependency_is_away() {
    let mut deps = Dependencies::start("order_grpc", true, true).await;
    let started = Started::start::<Application>(config(&deps)).await;
    let grpc_port = started.grpc_port.expect("order-grpc serves gRPC");

    test_support::eventually("gRPC health says SERVING", Duration::from_secs(30), || async {
        (grpc_health(grpc_port).await == Some(ServingStatus::Serving)).then_some(())
    })
    .await;
    service::assert_operational_endpoints(&started, &mut deps).await;

    deps.broker.kill();
    test_support::eventually("gRPC health says NOT_SERVING", Duration::from_secs(30), || async {
        (grpc_health(grpc_port).await == Some(ServingStatus::NotServing)).then_some(())
    })
    .await;
    deps.broker.resume().await;
    test_support::eventually("gRPC health says SERVING again", Duration::from_secs(30), || async {
        (grpc_health(grpc_port).await == Some(ServingStatus::Serving)).then_some(())
    })
    .await;

    started.stop().await;
}

#[test]
fn bad_configuration_is_one_clear_line_and_a_non_zero_exit() {
    service::assert_common_bad_configurations(BINARY, &SECRETS, true);
    service::assert_start_fails(BINARY, &[("ORDERTRACK_GRPC__PORT", "-1")], 2, &["grpc.port", "ORDERTRACK_GRPC__PORT"]);
    service::assert_start_fails(BINARY, &[("ORDERTRACK_KAFKA__CONSUMER_GROUP", " ")], 2, &["kafka.consumer_group"]);
    service::assert_start_fails(BINARY, &[SECRETS[0]], 2, &["orders.saved_response_key", "at least 32"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_process_cleanly() {
    let deps = Dependencies::start("order_grpc_sigterm", true, true).await;
    service::assert_process_stops_cleanly_on_sigterm(
        BINARY,
        &deps,
        &[SECRETS[0], SECRETS[1], ("ORDERTRACK_GRPC__PORT", "0")],
    )
    .await;
}

#[test]
fn the_shipped_config_file_is_valid() {
    let loaded: Config = service::load_shipped_config(&SECRETS);
    assert_eq!(loaded.http.host, "0.0.0.0");
}
