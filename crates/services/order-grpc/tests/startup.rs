//! order-grpc starts on port 0 against real servers, follows its dependencies in
//! `/readyz` and in the standard gRPC health service, refuses bad configuration clearly
//! and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use std::collections::BTreeMap;

use order_grpc::config::GrpcConfig;
use order_grpc::{Application, Config};
use platform::Secret;
use platform::http::HttpConfig;
use platform::keys::AuthSettings;
use platform::service::Service;
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
        orders: Default::default(),
    }
}

const SERVICE_KEY: &str = "a-service-key-0123456789";
const SECRETS: [(&str, &str); 1] = [("ORDERTRACK_AUTH__SERVICE_KEYS__TESTS", SERVICE_KEY)];

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
    let started = Started::spawn(Application::build(config(&deps)).await.unwrap());
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
    service::assert_start_fails(BINARY, &[("ORDERTRACK_GRPC__PORT", "-1")], 2, &["grpc.port", "ORDERTRACK_GRPC__PORT"]);
    service::assert_start_fails(BINARY, &[("ORDERTRACK_KAFKA__CONSUMER_GROUP", " ")], 2, &["kafka.consumer_group"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_process_cleanly() {
    let deps = Dependencies::start("order_grpc_sigterm", true, true).await;
    let port = service::free_port();
    let (postgres, redis) = (deps.postgres_config(), deps.redis_config());
    service::assert_sigterm_stops_cleanly(
        BINARY,
        &[
            ("ORDERTRACK_HTTP__PORT", &port.to_string()),
            ("ORDERTRACK_GRPC__PORT", "0"),
            ("ORDERTRACK_POSTGRES__URL", postgres.url.expose()),
            ("ORDERTRACK_REDIS__URL", redis.url.expose()),
            ("ORDERTRACK_KAFKA__BROKERS", &deps.kafka.brokers),
            ("ORDERTRACK_KAFKA__TOPIC_PREFIX", &deps.kafka.topic_prefix),
            SECRETS[0],
        ],
        port,
    )
    .await;
}

#[test]
fn the_shipped_config_file_is_valid() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../config/order-grpc.toml"));
    assert!(path.exists());
    let env = SECRETS.map(|(k, v)| (k.to_owned(), v.to_owned()));
    let loaded: Config = platform::config::load_from(Some(path), env).unwrap();
    assert_eq!(loaded.http.host, "0.0.0.0");
}
