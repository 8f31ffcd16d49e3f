//! A Tansu broker of the test's own, for tests that stop the broker.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use platform::kafka::KafkaConfig;

pub struct PrivateBroker {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl PrivateBroker {
    /// Starts a broker with SQLite storage in a fresh temporary folder.
    pub async fn start() -> Self {
        let port = port_below_ephemeral_range();
        let dir = std::env::temp_dir().join(crate::unique_name("broker"));
        std::fs::create_dir_all(&dir).expect("broker folder");
        let mut broker = Self { port, dir, child: None };
        broker.resume().await;
        broker
    }

    /// Broker address, `127.0.0.1:<port>`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `config` pointed at this broker.
    pub fn configure(&self, mut config: KafkaConfig) -> KafkaConfig {
        config.brokers = self.brokers();
        config
    }

    /// Kills the broker (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port and storage.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(crate::tansu_bin())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start tansu ({}): {e}; run `scripts/dev infra` first", crate::tansu_bin())
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "private broker did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A free port below Linux's ephemeral range (32768-60999). The broker is stopped and
/// started again on its port; were the port inside that range, a client reconnecting
/// meanwhile could be given it as its own source port and connect to itself, and the
/// broker could not bind again (seen with the fault suite, docs/load-and-faults.md).
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
