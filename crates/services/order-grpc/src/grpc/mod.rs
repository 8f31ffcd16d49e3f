//! The gRPC server: OrderService behind service-key authentication, the standard health
//! service (following `/readyz`) and reflection, so `grpcurl` and Kubernetes' gRPC
//! probes work. All three share one listener, which serves TLS only when `grpc.tls_*`
//! say so ([`tls`]).

mod auth;
mod convert;
pub mod error;
mod service;
pub mod tls;
pub mod track;

use std::time::Duration;

use platform::readiness::Readiness;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

pub use auth::ServiceKeys;
pub use service::OrderGrpc;

use crate::proto::order_service_server::OrderServiceServer;

/// The encoded descriptors of `order.proto` (and `events.proto`), for reflection (and
/// for the test that checks docs/security.md lists every RPC).
pub const ORDER_DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/order_descriptor.bin"));

/// The server of the gRPC port: TLS only when `tls` is given, else plaintext. Fails when
/// tonic cannot build its TLS acceptor from the settings.
pub fn server(tls: Option<tonic::transport::ServerTlsConfig>) -> anyhow::Result<tonic::transport::Server> {
    let server = tonic::transport::Server::builder();
    match tls {
        Some(tls) => server.tls_config(tls).map_err(|error| anyhow::anyhow!("grpc.tls_*: {error:#}")),
        None => Ok(server),
    }
}

/// Serves gRPC on `listener` with `server` (from [`server`]) until `shutdown` is
/// cancelled, then drains the calls in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    mut server: tonic::transport::Server,
    service: OrderGrpc,
    keys: ServiceKeys,
    readiness: Readiness,
    health_interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(ORDER_DESCRIPTORS)
        .build_v1()?;
    let orders = OrderServiceServer::with_interceptor(service, move |request| keys.check(request));

    // The overall health ("" service) and OrderService's mirror readiness.
    let follow = {
        let shutdown = shutdown.clone();
        async move {
            let mut ticks = tokio::time::interval(health_interval);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => {
                        for name in ["", SERVICE_NAME] {
                            health_reporter.set_service_status(name, ServingStatus::NotServing).await;
                        }
                        return;
                    }
                    _ = ticks.tick() => {}
                }
                let status =
                    if readiness.check().await.ready { ServingStatus::Serving } else { ServingStatus::NotServing };
                for name in ["", SERVICE_NAME] {
                    health_reporter.set_service_status(name, status).await;
                }
            }
        }
    };
    let follower = tokio::spawn(follow);

    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let result = server
        .add_service(health_service)
        .add_service(reflection)
        .add_service(orders)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await;
    follower.abort();
    result.map_err(Into::into)
}

const SERVICE_NAME: &str = "ordertrack.orders.v1.OrderService";
