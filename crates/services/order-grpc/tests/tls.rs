//! gRPC over TLS (docs/security.md, "gRPC over TLS"): with `grpc.tls_*` set, the port
//! serves TLS only. A client that checks the server's certificate against the CA that
//! signed it is served (the RPCs, health); one that trusts another CA and a plaintext one
//! get nothing. With a client CA, only clients holding a certificate from it get in.
//! Every certificate is made here (test_support::tls).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use order_grpc::config::GrpcConfig;
use order_grpc::proto::{self, order_service_client::OrderServiceClient};
use order_grpc::{Application, Config};
use platform::Secret;
use platform::http::HttpConfig;
use platform::keys::AuthSettings;
use test_support::service::Started;
use test_support::tls::{TestCa, TlsFiles, grpc_channel};
use tonic::transport::{Channel, ClientTlsConfig};
use tonic::{Code, Request};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const SERVICE_KEY: &str = "tls-service-key-0123456789";

/// order-grpc with TLS from `server_ca`'s certificate; with `client_ca`, mutual TLS.
async fn spawn(tag: &str, server_ca: &TestCa, client_ca: Option<&TestCa>) -> (Started, u16, TlsFiles) {
    let kafka = test_support::kafka_config(tag);
    test_support::create_system_topics(&kafka).await;
    let postgres_url = test_support::fresh_database(tag).await;
    let server = server_ca.server();
    let mut files = vec![("server.crt", server.cert_pem.as_str()), ("server.key", server.key_pem.as_str())];
    let client_ca_pem = client_ca.map(TestCa::cert_pem);
    if let Some(pem) = &client_ca_pem {
        files.push(("clients-ca.crt", pem));
    }
    let tls = TlsFiles::write(&files);
    let config = Config {
        grpc: GrpcConfig {
            tls_client_ca_file: client_ca.map(|_| tls.path("clients-ca.crt")),
            ..GrpcConfig::on_free_port_with_tls(tls.cert(), tls.key())
        },
        http: HttpConfig::with_port(0),
        postgres: test_support::postgres_config(&postgres_url),
        redis: test_support::redis_config(tag),
        kafka,
        log: test_support::test_log_config(),
        auth: AuthSettings {
            storefront_keys: BTreeMap::new(),
            service_keys: BTreeMap::from([("tests".to_owned(), Secret::new(SERVICE_KEY))]),
        },
        orders: Default::default(),
    };
    let app = Started::start::<Application>(config).await;
    let port = app.grpc_port.expect("order-grpc serves gRPC");
    (app, port, tls)
}

/// GetOrder of an order that does not exist, with the service key: NOT_FOUND is an answer
/// from OrderService itself; any other error says the call did not get through.
async fn get_order(channel: Channel) -> Result<Code, String> {
    let mut client = OrderServiceClient::new(channel);
    let mut request = Request::new(proto::GetOrderRequest { order_id: uuid::Uuid::now_v7().to_string() });
    request.metadata_mut().insert("authorization", format!("Bearer {SERVICE_KEY}").parse().unwrap());
    match client.get_order(request).await {
        Ok(_) => Ok(Code::Ok),
        Err(status) if status.code() == Code::NotFound => Ok(Code::NotFound),
        Err(status) => Err(format!("{status:?}")),
    }
}

async fn health(channel: Channel) -> Result<i32, String> {
    let mut client = HealthClient::new(channel);
    let response = client.check(HealthCheckRequest { service: String::new() }).await.map_err(|s| format!("{s:?}"))?;
    Ok(response.into_inner().status)
}

/// Whether a client with `tls` (None: plaintext) gets an answer from OrderService: the
/// error, from the connection or the call, when it does not.
async fn served(port: u16, tls: Option<ClientTlsConfig>) -> Result<(), String> {
    let channel = grpc_channel(port, tls).await.map_err(|error| error_chain(&error))?;
    get_order(channel).await.map(drop)
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_client_that_checks_the_certificate_against_the_ca_is_served() {
    let ca = TestCa::new("grpc_tls");
    let (app, port, _tls) = spawn("grpc_tls", &ca, None).await;

    // Checking the certificate against the CA that signed it: the RPCs and health answer.
    let channel = grpc_channel(port, Some(ca.client_tls())).await.expect("a TLS connection");
    assert_eq!(get_order(channel.clone()).await, Ok(Code::NotFound));
    health(channel).await.expect("the health service over TLS");

    // Trusting another CA: the client refuses the server's certificate.
    let stranger = TestCa::new("stranger");
    let refused = served(port, Some(stranger.client_tls())).await.expect_err("a certificate of an unknown CA");
    assert!(refused.contains("UnknownIssuer") || refused.contains("unknown issuer"), "{refused}");

    // Plaintext: the port speaks TLS only, so no call gets through.
    let plaintext = served(port, None).await;
    assert!(plaintext.is_err(), "a plaintext client was served: {plaintext:?}");

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_lets_in_only_clients_with_a_certificate_from_the_client_ca() {
    let server_ca = TestCa::new("grpc_mtls_server");
    let clients_ca = TestCa::new("grpc_mtls_clients");
    let (app, port, _tls) = spawn("grpc_mtls", &server_ca, Some(&clients_ca)).await;

    let billing = clients_ca.client("billing");
    let with_certificate = server_ca.client_tls().identity(billing.identity());
    assert_eq!(served(port, Some(with_certificate)).await, Ok(()));

    let without = served(port, Some(server_ca.client_tls())).await;
    assert!(without.is_err(), "a client without a certificate was served");

    let forged = TestCa::new("grpc_mtls_forger").client("billing");
    let foreign = served(port, Some(server_ca.client_tls().identity(forged.identity()))).await;
    assert!(foreign.is_err(), "a client with a certificate of another CA was served");

    app.stop().await;
}
