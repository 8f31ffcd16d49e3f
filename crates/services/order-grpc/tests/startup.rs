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
use test_support::tls::{TestCa, TlsFiles};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const BINARY: &str = env!("CARGO_BIN_EXE_order-grpc");

fn config(deps: &Dependencies, tls: &TlsFiles) -> Config {
    Config {
        grpc: GrpcConfig::on_free_port_with_tls(tls.cert(), tls.key()),
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

/// The standard health service's answer, asked over TLS trusting `ca`.
async fn grpc_health(ca: &TestCa, port: u16) -> Option<ServingStatus> {
    let channel = test_support::tls::grpc_channel(port, Some(ca.client_tls())).await.ok()?;
    let mut client = HealthClient::new(channel);
    let response = client.check(HealthCheckRequest { service: String::new() }).await.ok()?;
    ServingStatus::try_from(response.into_inner().status).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_on_port_zero_and_not_ready_while_a_dependency_is_away() {
    let mut deps = Dependencies::start("order_grpc", true, true).await;
    let ca = TestCa::new("order_grpc");
    let tls = ca.server_files();
    let started = Started::start::<Application>(config(&deps, &tls)).await;
    let grpc_port = started.grpc_port.expect("order-grpc serves gRPC");

    test_support::eventually("gRPC health says SERVING", Duration::from_secs(30), || async {
        (grpc_health(&ca, grpc_port).await == Some(ServingStatus::Serving)).then_some(())
    })
    .await;
    service::assert_operational_endpoints(&started, &mut deps).await;

    deps.broker.kill();
    test_support::eventually("gRPC health says NOT_SERVING", Duration::from_secs(30), || async {
        (grpc_health(&ca, grpc_port).await == Some(ServingStatus::NotServing)).then_some(())
    })
    .await;
    deps.broker.resume().await;
    test_support::eventually("gRPC health says SERVING again", Duration::from_secs(30), || async {
        (grpc_health(&ca, grpc_port).await == Some(ServingStatus::Serving)).then_some(())
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

/// One start with bad settings: the environment, and what its error must name.
type Case = (Vec<(&'static str, String)>, Vec<&'static str>);

/// Bad TLS settings stop the start with the key and the file named, before any
/// connection is made: a missing file, a key that is not the certificate's, half a pair,
/// a client CA without a server certificate, a file that holds no certificate.
#[test]
fn bad_tls_settings_are_one_clear_line_and_a_non_zero_exit() {
    let ca = TestCa::new("bad_tls");
    let other = ca.server();
    let files = ca.server_files();
    let extra = TlsFiles::write(&[("other.key", &other.key_pem), ("empty.crt", "no certificate here\n")]);
    let path = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    let (cert, key) = (path(files.cert()), path(files.key()));
    let (other_key, empty) = (path(extra.path("other.key")), path(extra.path("empty.crt")));
    let missing = path(files.dir().join("missing.crt"));
    let with = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        SECRETS
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .chain(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())))
            .collect()
    };
    let cases: Vec<Case> = vec![
        (
            with(&[("ORDERTRACK_GRPC__TLS_CERT_FILE", &missing), ("ORDERTRACK_GRPC__TLS_KEY_FILE", &key)]),
            vec!["grpc.tls_cert_file", "missing.crt", "cannot read"],
        ),
        (
            with(&[("ORDERTRACK_GRPC__TLS_CERT_FILE", &cert), ("ORDERTRACK_GRPC__TLS_KEY_FILE", &other_key)]),
            vec!["grpc.tls_key_file", "other.key", "is not the key of the certificate"],
        ),
        (with(&[("ORDERTRACK_GRPC__TLS_CERT_FILE", &cert)]), vec!["grpc.tls_key_file", "must be set with"]),
        (with(&[("ORDERTRACK_GRPC__TLS_KEY_FILE", &key)]), vec!["grpc.tls_cert_file", "must be set with"]),
        (with(&[("ORDERTRACK_GRPC__TLS_CLIENT_CA_FILE", &cert)]), vec!["grpc.tls_client_ca_file", "mutual TLS needs"]),
        (
            with(&[("ORDERTRACK_GRPC__TLS_CERT_FILE", &empty), ("ORDERTRACK_GRPC__TLS_KEY_FILE", &key)]),
            vec!["grpc.tls_cert_file", "empty.crt", "no PEM certificate"],
        ),
        (
            with(&[
                ("ORDERTRACK_GRPC__TLS_CERT_FILE", &cert),
                ("ORDERTRACK_GRPC__TLS_KEY_FILE", &key),
                ("ORDERTRACK_GRPC__TLS_CLIENT_CA_FILE", &missing),
            ]),
            vec!["grpc.tls_client_ca_file", "cannot read"],
        ),
    ];
    for (env, expected) in cases {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        service::assert_start_fails(BINARY, &env, 2, &expected);
    }
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
