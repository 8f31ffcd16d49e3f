fn main() -> std::process::ExitCode {
    platform::service::main::<logistics_adapter::Application>()
}
