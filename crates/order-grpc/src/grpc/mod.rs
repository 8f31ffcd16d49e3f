//! The gRPC server: the standard health service (following `/readyz`) and reflection,
//! so `grpcurl` and Kubernetes' gRPC probes work.

use std::time::Duration;

use platform::readiness::Readiness;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

/// Serves gRPC on `listener` until `shutdown` is cancelled, then drains the calls in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    readiness: Readiness,
    health_interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    // The overall health ("" service) mirrors readiness, re-checked periodically.
    let follow = {
        let shutdown = shutdown.clone();
        async move {
            let mut ticks = tokio::time::interval(health_interval);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => {
                        health_reporter.set_service_status("", ServingStatus::NotServing).await;
                        return;
                    }
                    _ = ticks.tick() => {}
                }
                let status = if readiness.check().await.ready {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                health_reporter.set_service_status("", status).await;
            }
        }
    };
    let follower = tokio::spawn(follow);

    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let result = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await;
    follower.abort();
    result.map_err(Into::into)
}
