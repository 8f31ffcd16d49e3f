//! order-grpc: the order operations over gRPC for internal services; applies the
//! commands other services send on `order_commands` and records courier positions from
//! `courier_locations`.

pub mod config;
mod consumers;
mod grpc;
mod startup;

/// The generated gRPC types, server and client of `proto/order.proto`.
pub mod proto {
    #![allow(clippy::all, clippy::pedantic, missing_docs, unused_qualifications)]
    tonic::include_proto!("ordertrack.orders.v1");
}

pub use config::Config;
pub use grpc::ORDER_DESCRIPTORS;
pub use startup::Application;
