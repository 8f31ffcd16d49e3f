fn main() -> std::process::ExitCode {
    platform::service::main::<courier_tracker::Application>()
}
