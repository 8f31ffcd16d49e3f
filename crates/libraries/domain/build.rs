//! Generates the event types from `proto/events.proto` with protox, a protobuf compiler
//! written in Rust, so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = "../../../proto";
    println!("cargo:rerun-if-changed={proto_dir}/events.proto");
    let descriptors = protox::compile([format!("{proto_dir}/events.proto")], [proto_dir])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
