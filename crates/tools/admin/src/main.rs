//! `ordertrack-admin`: create the Kafka topics, wait for a broker, run the database
//! migrations, make courier tokens; for the local stack's scripts, search a run's logs for
//! secrets and read one value out of a JSON answer.
#![allow(clippy::print_stdout)]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use admin::Database;
use admin::scan_logs::{self, Scan};
use clap::{Parser, Subcommand};
use platform::Secret;
use platform::config::{ConfigError, ServiceConfig};
use platform::kafka::{self, KafkaConfig};
use platform::postgres::{self, MigrationDirection, PostgresConfig};
use serde::{Deserialize, Serialize};

#[derive(Parser)]
#[command(name = "ordertrack-admin", about = "One-shot operations for an ordertrack deployment")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create every topic (and its dead-letter topic) that does not exist yet. The
    /// brokers and topic prefix come from ORDERTRACK_KAFKA__BROKERS and
    /// ORDERTRACK_KAFKA__TOPIC_PREFIX.
    CreateTopics {
        /// Partitions of each new topic (dead-letter topics get one).
        #[arg(long, default_value_t = 4)]
        partitions: i32,
    },
    /// Wait until the brokers of ORDERTRACK_KAFKA__BROKERS answer a metadata request, then
    /// print the brokers they named; fails after the timeout. Scripts run it after they
    /// start a broker.
    KafkaReady {
        /// How long to keep asking.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
    },
    /// Print the Kafka ACLs of the system (crates/tools/admin/kafka-acls.txt), one binding a
    /// line: `User:<user> TOPIC|GROUP LITERAL|PREFIXED <name> <OPERATION>`, all allowed from
    /// any host. scripts/dev pipes them into scripts/kafka/CreateAcls.java (Kafka's Admin
    /// API); for a production cluster they are the arguments of kafka-acls.sh.
    KafkaAcls {
        /// Put in front of every topic name (the deployment's kafka.topic_prefix).
        #[arg(long, default_value = "")]
        topic_prefix: String,
        /// Print only the users the table names, one a line.
        #[arg(long)]
        users: bool,
        /// Include the grants of the local stack only (`allow-local`: the simulator's).
        #[arg(long)]
        local: bool,
    },
    /// Apply pending migrations (or revert all) of the databases given.
    Migrate {
        /// URL of the orders database.
        #[arg(long, env = "ORDERTRACK_ORDERS_DATABASE_URL")]
        orders: Option<String>,
        /// URL of the courier tracker's database.
        #[arg(long, env = "ORDERTRACK_TRACKER_DATABASE_URL")]
        tracker: Option<String>,
        /// URL of the logistics adapter's database.
        #[arg(long, env = "ORDERTRACK_LOGISTICS_DATABASE_URL")]
        logistics: Option<String>,
        /// Revert every migration instead (destroys the data).
        #[arg(long)]
        revert: bool,
    },
    /// Print a courier token for a courier app, signed with ORDERTRACK_COURIERS__TOKEN_SECRET.
    /// Couriers belong to stores: the token names the store and the courier, and its
    /// positions reach only that store's orders.
    CourierToken {
        /// The store the courier delivers for (its storefront key's name).
        #[arg(long)]
        store: String,
        /// The courier's id.
        #[arg(long)]
        courier: String,
        /// How long the token is valid.
        #[arg(long, default_value_t = 12)]
        hours: i64,
    },
    /// Search the logs of a local stack's run (<state dir>/logs/*.log) for the secrets of
    /// <state dir>/secrets.env, the CDEK client secret (ORDERTRACK_CDEK__CLIENT_SECRET, else
    /// the adapter's default), the tracking tokens printed in demo.log and the shapes of
    /// tickets, courier tokens, CDEK tokens and credentials in paths or queries. Prints
    /// each line found, masked, with its file and number; fails if there is any.
    ScanLogs {
        /// The stack's state folder (.state, .state/faults, .state/web-test).
        #[arg(long)]
        state_dir: PathBuf,
    },
    /// Print the value at a JSON Pointer (e.g. /error/code) of the JSON document on
    /// standard input: a string without quotes, anything else as JSON. Fails if the input
    /// is not JSON or has no such value.
    JsonGet {
        /// RFC 6901 JSON Pointer, e.g. /error/code or /items/0/id.
        pointer: String,
    },
}

/// The admin tool reads the `kafka` and `couriers` sections like the services do.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct AdminConfig {
    kafka: KafkaConfig,
    couriers: courier_tracker::config::CouriersConfig,
}

impl ServiceConfig for AdminConfig {
    const SERVICE: &'static str = "admin";

    fn validate(&self) -> Result<(), ConfigError> {
        self.kafka.validate()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ordertrack-admin: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::CreateTopics { partitions } => {
            anyhow::ensure!(partitions >= 1, "--partitions must be at least 1");
            let config: AdminConfig = platform::config::load()?;
            let topics = kafka::system_topics(&config.kafka, partitions);
            let created = kafka::create_topics(&config.kafka, &topics).await?;
            for topic in &topics {
                let state = if created.contains(&topic.name) { "created" } else { "exists" };
                println!("    topic {:<40} {state}", topic.name);
            }
        }
        Command::KafkaReady { timeout_secs } => {
            let config: AdminConfig = platform::config::load()?;
            let brokers = kafka::wait_until_ready(&config.kafka, std::time::Duration::from_secs(timeout_secs)).await?;
            println!("    kafka ready: brokers {}", brokers.join(", "));
        }
        Command::KafkaAcls { topic_prefix, users, local } => {
            let grants = admin::kafka_acls::parse(admin::kafka_acls::TABLE).map_err(anyhow::Error::msg)?;
            let grants = admin::kafka_acls::for_deployment(grants, local);
            if users {
                for user in admin::kafka_acls::users(&grants) {
                    println!("{user}");
                }
            } else {
                for binding in admin::kafka_acls::bindings(&grants, &topic_prefix) {
                    println!("{binding}");
                }
            }
        }
        Command::CourierToken { store, courier, hours } => {
            let config: AdminConfig = platform::config::load()?;
            let secret = config.couriers.token_secret;
            anyhow::ensure!(secret.expose().len() >= 32, "set ORDERTRACK_COURIERS__TOKEN_SECRET (32+ characters)");
            let store = domain::ids::StoreId::parse(&store).map_err(|e| anyhow::anyhow!("--store: {}", e.message))?;
            let courier =
                domain::ids::CourierId::parse(&courier).map_err(|e| anyhow::anyhow!("--courier: {}", e.message))?;
            let courier = domain::ids::CourierKey::new(store, courier);
            anyhow::ensure!((1..=24 * 30).contains(&hours), "--hours must be between 1 and 720");
            let expires = chrono::Utc::now() + chrono::Duration::hours(hours);
            println!("{}", domain::token::sign_courier(secret.expose().as_bytes(), &courier, expires));
        }
        Command::ScanLogs { state_dir } => {
            let cdek = scan_logs::cdek_client_secret(std::env::var("ORDERTRACK_CDEK__CLIENT_SECRET").ok());
            let scan = Scan::of_state_dir(&state_dir, vec![cdek])?;
            println!("    {}", scan.describe());
            let findings = scan.run()?;
            for finding in &findings {
                eprintln!("    LEAK {}:{}: {}", finding.file.display(), finding.line, finding.masked);
            }
            anyhow::ensure!(
                findings.is_empty(),
                "{} log lines carry a secret or a credential (above, masked; docs/security.md)",
                findings.len()
            );
            println!("    no secret, token or ticket in the logs");
        }
        Command::JsonGet { pointer } => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            println!("{}", admin::json_get::json_get(&input, &pointer)?);
        }
        Command::Migrate { orders, tracker, logistics, revert } => {
            let urls = [(Database::Orders, orders), (Database::Tracker, tracker), (Database::Logistics, logistics)];
            anyhow::ensure!(
                urls.iter().any(|(_, url)| url.is_some()),
                "give at least one of --orders, --tracker, --logistics"
            );
            let direction = if revert { MigrationDirection::RevertAll } else { MigrationDirection::Up };
            for (database, url) in urls {
                let Some(url) = url else { continue };
                let config = PostgresConfig { url: Secret::new(url), ..PostgresConfig::default() };
                let versions = postgres::migrate(&config, database.migrations(), direction).await?;
                let verb = if revert { "reverted" } else { "applied" };
                if versions.is_empty() {
                    println!("    {:<10} up to date", database.name());
                } else {
                    println!("    {:<10} {verb} {}", database.name(), versions.join(", "));
                }
            }
        }
    }
    Ok(())
}
