fn main() -> std::process::ExitCode {
    platform::service::main::<order_grpc::Application>()
}
