//! `ordertrack-sim`: drives the local stack. `demo` runs live traffic through it (orders,
//! couriers driving through Moscow, CDEK playing its part) to watch on the tracking page;
//! `bench` measures it (the figures in docs/benchmarks.md come from here);
//! `load` puts the whole stack under load and checks its invariants (`check` again later);
//! `hello-server` is the raw actix-web ceiling the benchmarks compare against. Usage in
//! this crate's README.md.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod demo;
mod load;

#[derive(Parser)]
#[command(name = "ordertrack-sim", about = "Demo traffic and load for ordertrack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Live demo traffic: orders, a fleet of couriers posting positions, CDEK statuses.
    Demo(demo::DemoArgs),
    /// Measure the order API against the raw ceilings of the same machine.
    Bench(bench::BenchArgs),
    /// The whole stack under load (couriers, orders, CDEK, sockets), then the invariants and a report.
    Load(load::LoadArgs),
    /// Checks the invariants of a saved load run again (`--run DIR`).
    Check(load::CheckArgs),
    /// An actix-web hello world (the ceiling of an HTTP server on this machine).
    HelloServer {
        #[arg(long, default_value_t = 18999)]
        port: u16,
        /// Worker threads (order-api uses one per core).
        #[arg(long, default_value_t = 0)]
        workers: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ordertrack-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await.map(|()| true),
            Command::Bench(args) => bench::run(args).await.map(|()| true),
            Command::Load(args) => load::run(args).await,
            Command::Check(args) => load::check(args).await,
            Command::HelloServer { port, workers } => bench::hello_server(port, workers).await.map(|()| true),
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        // The run went through but an invariant is broken (each was printed).
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("ordertrack-sim: {error:#}");
            ExitCode::FAILURE
        }
    }
}
