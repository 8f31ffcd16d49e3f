//! An Apache Kafka broker of the test's own, for tests that stop the broker: the same
//! broker as the local stack's (scripts/kafka: its libraries, its properties and its
//! logging configuration), one KRaft node in a fresh temporary folder, secured as those
//! are: SASL_SSL for clients with the local stack's certificate, the controller on mutual
//! TLS, StandardAuthorizer, and the super user `admin` with the local stack's password
//! (test-support's `kafka_client("admin")`). No ACLs: the tests on a private broker are
//! about the broker going away, not about who may do what.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform::kafka::KafkaConfig;

/// The broker as checked in under scripts/kafka: its properties, its logging, and the POM
/// that pins its version (read when a broker starts, not when this crate is built).
const SERVER_PROPERTIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../scripts/kafka/server.properties");
const LOG4J2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../scripts/kafka/log4j2.properties");
const POM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../scripts/kafka/pom.xml");

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

pub struct PrivateBroker {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateBroker {
    /// Formats a broker's storage in a fresh temporary folder and starts it.
    pub async fn start() -> Self {
        let port = port_below_ephemeral_range();
        let controller = port_below_ephemeral_range();
        let dir = std::env::temp_dir().join(crate::unique_name("broker"));
        std::fs::create_dir_all(&dir).expect("broker folder");
        // Kafka's PEM key store: the private key and its certificate in one file.
        let (cert, key) = crate::kafka_server_tls();
        let keystore = format!("{}{}", read(&key.display().to_string()), read(&cert.display().to_string()));
        std::fs::write(dir.join("keystore.pem"), keystore).expect("broker key store");
        let admin = crate::kafka_password(crate::KAFKA_ADMIN_USER);
        let properties = format!(
            "{}\n# a test's private broker\n\
             listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
             advertised.listeners=SASL_SSL://127.0.0.1:{port}\n\
             controller.quorum.bootstrap.servers=127.0.0.1:{controller}\n\
             log.dirs={}\n\
             ssl.keystore.location={}\n\
             ssl.truststore.location={}\n\
             listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{}\" password=\"{}\";\n",
            read(SERVER_PROPERTIES),
            dir.join("data").display(),
            dir.join("keystore.pem").display(),
            crate::kafka_ca_file().display(),
            crate::KAFKA_ADMIN_USER,
            admin.expose(),
        );
        std::fs::write(dir.join("server.properties"), properties).expect("broker properties");
        // Any 16 bytes in URL-safe base64 make a cluster id; one starting with '-' would
        // read as an option, so it is given as `--cluster-id=`.
        let cluster_id = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
        let formatted = java(&dir)
            .args(["kafka.tools.StorageTool", "format", "--standalone"])
            .arg(format!("--cluster-id={cluster_id}"))
            .arg("--add-scram")
            .arg(format!("SCRAM-SHA-512=[name={},password={}]", crate::KAFKA_ADMIN_USER, admin.expose()))
            .arg("--config")
            .arg(dir.join("server.properties"))
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run java ({e}); run `scripts/dev infra` first"));
        assert!(formatted.success(), "formatting the private broker's storage failed (libraries: {})", kafka_libs());
        let mut broker = Self { port, dir, child: None };
        broker.resume().await;
        broker
    }

    /// Broker address, `127.0.0.1:<port>`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `config` pointed at this broker (as its super user).
    pub fn configure(&self, mut config: KafkaConfig) -> KafkaConfig {
        let admin = crate::kafka_client(crate::KAFKA_ADMIN_USER);
        config.brokers = self.brokers();
        config.security_protocol = admin.security_protocol;
        config.sasl_mechanism = admin.sasl_mechanism;
        config.username = admin.username;
        config.password = admin.password;
        config.ca_file = admin.ca_file;
        config
    }

    /// Kills the broker (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker (again) on the same ports and storage, and waits until it answers
    /// a metadata request.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let log = std::fs::File::create(self.dir.join("broker.log")).expect("broker log");
        let child = java(&self.dir)
            .args(["-Xms256m", "-Xmx256m", "kafka.Kafka"])
            .arg(self.dir.join("server.properties"))
            .stdout(Stdio::from(log))
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the private broker ({e}); run `scripts/dev infra` first"));
        self.child = Some(child);
        let config = self.configure(KafkaConfig::default());
        if let Err(error) = platform::kafka::wait_until_ready(&config, Duration::from_secs(90)).await {
            let log = std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            panic!("the private broker did not become ready: {error:#}\n{}", tail.join("\n"));
        }
    }
}

/// `java` with the broker's libraries and logging, run in `dir`.
fn java(dir: &Path) -> Command {
    let mut command = Command::new("java");
    command
        .arg("-cp")
        .arg(format!("{}/*", kafka_libs()))
        .arg(format!("-Dlog4j2.configurationFile={LOG4J2}"))
        .current_dir(dir);
    command
}

/// The folder of the broker's jars: `ORDERTRACK_TEST_KAFKA_LIBS` (scripts/dev test sets
/// it), else where scripts/dev puts them for the version pinned in scripts/kafka/pom.xml.
fn kafka_libs() -> String {
    let pom = read(POM);
    let version = pom
        .split_once("<kafka.version>")
        .and_then(|(_, rest)| rest.split_once("</kafka.version>"))
        .map(|(version, _)| version.trim())
        .expect("scripts/kafka/pom.xml names kafka.version");
    let default =
        std::env::var("HOME").map(|home| format!("{home}/.cache/ordertrack/kafka-{version}/libs")).unwrap_or_default();
    crate::env_or("ORDERTRACK_TEST_KAFKA_LIBS", &default)
}

/// A free port below Linux's ephemeral range (32768-60999). The broker is stopped and
/// started again on its ports; were a port inside that range, a client reconnecting
/// meanwhile could be given it as its own source port and connect to itself (TCP
/// simultaneous open), and the broker could not bind again. This holds for any server,
/// Kafka included (Kafka sets SO_REUSEADDR, which covers TIME_WAIT but not a live socket).
fn port_below_ephemeral_range() -> u16 {
    for _ in 0..1000 {
        let random = uuid::Uuid::new_v4().as_u128();
        let port = 20_000 + u16::try_from(random % 12_000).unwrap_or(0);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000-31999");
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
