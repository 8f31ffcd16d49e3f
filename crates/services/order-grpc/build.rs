//! Generates the OrderService server and client from `proto/order.proto` with protox
//! (no system `protoc`). Event types are not generated again: they come from `domain`.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = "../../../proto";
    println!("cargo:rerun-if-changed={proto_dir}/order.proto");
    println!("cargo:rerun-if-changed={proto_dir}/events.proto");
    let descriptors = protox::compile([format!("{proto_dir}/order.proto")], [proto_dir])?;
    // For gRPC reflection.
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("order_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure().extern_path(".ordertrack.events.v1", "::domain::events").compile_fds(descriptors)?;
    Ok(())
}
