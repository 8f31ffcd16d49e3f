fn main() -> std::process::ExitCode {
    platform::service::main::<notifier::Application>()
}
