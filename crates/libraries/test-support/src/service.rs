//! Checks every service must pass: ready when its dependencies are, not ready while
//! one of them is away (and ready again when it is back), a clear one-line error on a
//! bad configuration, and a clean stop on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use platform::Secret;
use platform::config::ServiceConfig;
use platform::kafka::KafkaConfig;
use platform::postgres::PostgresConfig;
use platform::redis::RedisConfig;
use platform::service::{Running, Service};

use crate::{PrivateBroker, TcpProxy};

/// The dependencies of a service under test, each one cuttable: Postgres and Redis
/// behind proxies, Kafka as a private broker.
pub struct Dependencies {
    pub postgres: Option<(TcpProxy, String)>,
    pub redis: Option<(TcpProxy, RedisConfig)>,
    pub broker: PrivateBroker,
    pub kafka: KafkaConfig,
}

impl Dependencies {
    pub async fn start(tag: &str, with_postgres: bool, with_redis: bool) -> Self {
        let postgres = if with_postgres {
            let url = crate::fresh_database(tag).await;
            let (proxy, proxied) = proxied_url(&url).await;
            Some((proxy, proxied))
        } else {
            None
        };
        let redis = if with_redis {
            let mut config = crate::redis_config(tag);
            let (proxy, proxied) = proxied_url(config.url.expose()).await;
            config.url = Secret::new(proxied);
            Some((proxy, config))
        } else {
            None
        };
        let broker = PrivateBroker::start().await;
        let kafka = broker.configure(crate::kafka_config(tag));
        crate::create_system_topics(&kafka).await;
        Self { postgres, redis, broker, kafka }
    }

    pub fn postgres_config(&self) -> PostgresConfig {
        let (_, url) = self.postgres.as_ref().expect("started with postgres");
        crate::postgres_config(url)
    }

    pub fn redis_config(&self) -> RedisConfig {
        self.redis.as_ref().expect("started with redis").1.clone()
    }

    /// With the service at `base_url` ready: takes each dependency away in turn,
    /// expects `/readyz` to answer 503 naming it (and only it), brings it back and
    /// expects 200 again.
    pub async fn assert_readiness_follows_each_dependency(&mut self, base_url: &str) {
        let ready = format!("{base_url}/readyz");
        wait_ready(&ready).await;
        if let Some((proxy, _)) = &self.postgres {
            proxy.cut().await;
            expect_not_ready_because(&ready, "postgres").await;
            proxy.restore();
            wait_ready(&ready).await;
        }
        if let Some((proxy, _)) = &self.redis {
            proxy.cut().await;
            expect_not_ready_because(&ready, "redis").await;
            proxy.restore();
            wait_ready(&ready).await;
        }
        self.broker.kill();
        expect_not_ready_because(&ready, "kafka").await;
        self.broker.resume().await;
        wait_ready(&ready).await;
    }
}

/// A proxy in front of the host:port of `url`, and `url` rewritten to go through it.
async fn proxied_url(url: &str) -> (TcpProxy, String) {
    let proxy = TcpProxy::start(&crate::address_of(url)).await;
    let proxied = crate::with_address(url, &proxy.address());
    (proxy, proxied)
}

/// A service built for a test and running in the background until [`Started::stop`].
pub struct Started {
    /// The HTTP port it bound.
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its gRPC port, for a service that serves gRPC.
    pub grpc_port: Option<u16>,
    stop: tokio_util::sync::CancellationToken,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Started {
    /// Builds service `S` from `config` (ports 0 pick free ones) and runs it in the
    /// background: zero2prod's `spawn_app`, for every ordertrack service.
    pub async fn start<S: Service>(config: S::Config) -> Self {
        let app = S::build(config).await.unwrap_or_else(|error| panic!("{} builds: {error:#}", S::Config::SERVICE));
        Self::spawn(app)
    }

    /// [`Started::start`], then waits until `/readyz` answers 200.
    pub async fn start_ready<S: Service>(config: S::Config) -> Self {
        let started = Self::start::<S>(config).await;
        wait_ready(&format!("{}/readyz", started.base)).await;
        started
    }

    /// The value of a Prometheus series on its `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        crate::metric(&self.base, name, labels).await
    }

    pub fn spawn(app: Running) -> Self {
        let port = app.port();
        let base = format!("http://127.0.0.1:{port}");
        let (grpc_port, stop) = (app.grpc_port(), app.shutdown_token());
        Self { port, base, grpc_port, stop, running: tokio::spawn(app.run_until_stopped()) }
    }

    /// Cancels its shutdown token (as SIGTERM does) and expects a clean stop.
    pub async fn stop(self) {
        self.stop.cancel();
        self.running.await.expect("the service's task").expect("the service stops cleanly");
    }
}

/// What every service's start-up must show over HTTP: `/healthz` answers, `/readyz`
/// follows each of its dependencies away and back, `/metrics` counts the requests.
pub async fn assert_operational_endpoints(started: &Started, deps: &mut Dependencies) {
    let (status, body) = crate::get_json(&format!("{}/healthz", started.base)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    deps.assert_readiness_follows_each_dependency(&started.base).await;
    let metrics =
        reqwest::get(format!("{}/metrics", started.base)).await.expect("GET /metrics").text().await.expect("its body");
    assert!(metrics.contains("ordertrack_http_requests_total{"), "{metrics}");
    assert!(metrics.contains(r#"route="/readyz""#), "{metrics}");
}

pub async fn wait_ready(ready_url: &str) {
    crate::eventually(&format!("{ready_url} answers 200"), Duration::from_secs(30), || async {
        let (status, _) = crate::get_json(ready_url).await;
        (status == 200).then_some(())
    })
    .await;
}

async fn expect_not_ready_because(ready_url: &str, dependency: &str) {
    let body =
        crate::eventually(&format!("{ready_url} reports {dependency} down"), Duration::from_secs(30), || async {
            let (status, body) = crate::get_json(ready_url).await;
            (status == 503 && body["checks"][dependency] != "ok").then_some(body)
        })
        .await;
    assert_eq!(body["ready"], false, "{body}");
    for (name, result) in body["checks"].as_object().expect("checks").iter() {
        if name != dependency {
            assert_eq!(result, "ok", "only {dependency} is away, yet: {body}");
        }
    }
}

/// Runs a service binary with `env` (and nothing else from ORDERTRACK_*), expects it to
/// exit with `code` and one line on stderr containing every one of `expected`. Returns
/// that line.
pub fn assert_start_fails(binary: &str, env: &[(&str, &str)], code: i32, expected: &[&str]) -> String {
    let output = service_command(binary, env).stdout(Stdio::null()).output().expect("run the service");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "exit status of {binary} with {env:?}; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line on stderr, got: {stderr}");
    let line: serde_json::Value = serde_json::from_str(stderr.trim()).expect("a JSON line");
    let text = line.to_string();
    for needle in expected {
        assert!(text.contains(needle), "stderr should mention {needle:?}: {text}");
    }
    assert!(!text.contains("panicked"), "{text}");
    text
}

/// Starts the binary, waits until `/readyz` on `http_port` answers 200, sends SIGTERM
/// and expects a zero exit and a "stopped" log line.
pub async fn assert_sigterm_stops_cleanly(binary: &str, env: &[(&str, &str)], http_port: u16) {
    let mut child = service_command(binary, env).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start");
    wait_ready(&format!("http://127.0.0.1:{http_port}/readyz")).await;
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if child.try_wait().expect("wait").is_some() {
                return child.wait_with_output().expect("output");
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("the service did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"))).collect();
    assert!(lines.iter().any(|l| l["msg"] == "stopping" && l["reason"] == "SIGTERM"), "{stdout}");
    assert!(lines.iter().any(|l| l["msg"] == "stopped"), "{stdout}");
}

/// What every service binary must refuse with one clear line and exit code 2: an unknown
/// field and a port that is not a number; and, for a service with a database, given the
/// `secrets` its configuration needs, a database it cannot reach (exit code 1), without
/// the database password in the line.
pub fn assert_common_bad_configurations(binary: &str, secrets: &[(&str, &str)], with_postgres: bool) {
    assert_start_fails(
        binary,
        &[("ORDERTRACK_HTTP__PROT", "1")],
        2,
        &["unknown field", "prot", "ORDERTRACK_HTTP__PROT"],
    );
    assert_start_fails(binary, &[("ORDERTRACK_HTTP__PORT", "eighty")], 2, &["http.port", "ORDERTRACK_HTTP__PORT"]);
    // Kafka's security settings: a combination that cannot be meant names its key, and
    // the password never shows.
    let mut env = secrets.to_vec();
    env.extend([
        ("ORDERTRACK_KAFKA__SECURITY_PROTOCOL", "sasl_ssl"),
        ("ORDERTRACK_KAFKA__PASSWORD", "kafka-secret-pw"),
    ]);
    let line = assert_start_fails(
        binary,
        &env,
        2,
        &["kafka.username", "must be set when kafka.security_protocol is sasl_ssl"],
    );
    assert!(!line.contains("kafka-secret-pw"), "the Kafka password leaked: {line}");
    let mut env = secrets.to_vec();
    env.extend([("ORDERTRACK_KAFKA__SECURITY_PROTOCOL", "sasl_ssl"), ("ORDERTRACK_KAFKA__USERNAME", "a-service")]);
    assert_start_fails(binary, &env, 2, &["kafka.password", "must be set"]);
    let mut env = secrets.to_vec();
    env.push(("ORDERTRACK_KAFKA__SECURITY_PROTOCOL", "sasl_plaintext"));
    assert_start_fails(binary, &env, 2, &["sasl_plaintext", "ORDERTRACK_KAFKA__SECURITY_PROTOCOL"]);
    let mut env = secrets.to_vec();
    env.extend([
        ("ORDERTRACK_KAFKA__SECURITY_PROTOCOL", "ssl"),
        ("ORDERTRACK_KAFKA__CA_FILE", "/nonexistent/kafka-ca.crt"),
    ]);
    assert_start_fails(binary, &env, 2, &["kafka.ca_file", "/nonexistent/kafka-ca.crt is not a readable file"]);
    if with_postgres {
        let mut env = secrets.to_vec();
        env.push(("ORDERTRACK_POSTGRES__URL", "postgres://ordertrack:secret-pw@127.0.0.1:1/ordertrack"));
        let line =
            assert_start_fails(binary, &env, 1, &["start-up failed", "postgres", "127.0.0.1:1", "not reachable"]);
        assert!(!line.contains("secret-pw"), "the password leaked: {line}");
    }
}

/// [`assert_sigterm_stops_cleanly`] for a service process pointed at `deps` through its
/// environment, with `env` added (its secrets, other ports).
pub async fn assert_process_stops_cleanly_on_sigterm(binary: &str, deps: &Dependencies, env: &[(&str, &str)]) {
    let port = free_port();
    let kafka = deps.kafka.env_vars();
    let mut vars: Vec<(&str, String)> = vec![("ORDERTRACK_HTTP__PORT", port.to_string())];
    vars.extend(kafka.iter().map(|(key, value)| (key.as_str(), value.clone())));
    if deps.postgres.is_some() {
        vars.push(("ORDERTRACK_POSTGRES__URL", deps.postgres_config().url.expose().to_owned()));
    }
    if deps.redis.is_some() {
        let redis = deps.redis_config();
        vars.push(("ORDERTRACK_REDIS__URL", redis.url.expose().to_owned()));
        vars.push(("ORDERTRACK_REDIS__CA_FILE", redis.ca_file));
    }
    vars.extend(env.iter().map(|(key, value)| (*key, (*value).to_owned())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(key, value)| (*key, value.as_str())).collect();
    assert_sigterm_stops_cleanly(binary, &vars, port).await;
}

/// The service's shipped configuration file (`config/<service>.toml`), loaded with the
/// `secrets` it leaves to the environment (and the Kafka password, which every service's
/// file leaves to `ORDERTRACK_KAFKA__PASSWORD`); it must load.
pub fn load_shipped_config<C: ServiceConfig>(secrets: &[(&str, &str)]) -> C {
    let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../config"))
        .join(format!("{}.toml", C::SERVICE));
    assert!(path.exists(), "{}", path.display());
    let kafka_password = [("ORDERTRACK_KAFKA__PASSWORD", "a-kafka-password")];
    let env = kafka_password.iter().chain(secrets).map(|(key, value)| ((*key).to_owned(), (*value).to_owned()));
    let loaded: C = platform::config::load_from(Some(&path), env).expect("the shipped configuration loads");
    loaded
}

/// A free TCP port on loopback (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

fn service_command(binary: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars() {
        if key.starts_with("ORDERTRACK_") {
            command.env_remove(key);
        }
    }
    // No config file: the defaults and `env` are the whole configuration.
    command.env("ORDERTRACK_CONFIG", "/nonexistent/ordertrack.toml");
    command.envs(env.iter().copied());
    command
}
