//! order-grpc: the order operations over gRPC for internal services; applies the
//! commands other services send on `order_commands`.

pub mod config;
mod grpc;
mod startup;

pub use config::Config;
pub use startup::Application;
