//! Kafka through rdkafka: producers, consumers with at-least-once offset handling and a
//! dead-letter topic, topic creation, and the readiness probe.
//!
//! Offsets: a consumer stores a message's offset only after its handler finished with
//! it (`enable.auto.offset.store = false`); stored offsets are committed every second
//! and once more, synchronously, at shutdown. A crash therefore redelivers at most the
//! last second of messages, never skips one, and every handler must be idempotent.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use domain::topics::Topic;
use futures::FutureExt;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde::{Deserialize, Serialize};
use slog::{Logger, error, info, warn};
use tokio_util::sync::CancellationToken;

use crate::Secret;
use crate::config::ConfigError;

/// How a client reaches the brokers (`security.protocol`): in the clear, over TLS (with a
/// client certificate, mutual TLS authenticates it), or over TLS with a SASL login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslSsl,
}

impl SecurityProtocol {
    fn as_librdkafka(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslSsl => "sasl_ssl",
        }
    }
}

/// The SASL mechanism of `sasl_ssl`: SCRAM (RFC 5802/7677), which librdkafka does with
/// OpenSSL alone. The brokers of this project (scripts/dev, the tests) hold SCRAM-SHA-512
/// credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaslMechanism {
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
}

impl SaslMechanism {
    fn as_librdkafka(self) -> &'static str {
        match self {
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::ScramSha256 => "SCRAM-SHA-256",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list of bootstrap brokers.
    pub brokers: String,
    /// Put in front of every topic name (empty in production; unique per test).
    pub topic_prefix: String,
    /// Consumer group of this service (each service sets its own default).
    pub consumer_group: String,
    /// Timeout of metadata and admin requests (readiness, topic creation).
    pub request_timeout_ms: u64,
    /// How long the producer waits to batch messages.
    pub linger_ms: u64,
    /// How long the producer keeps trying to deliver a message before reporting failure.
    pub delivery_timeout_ms: u64,
    /// A consumer's fetch waits up to this long for `fetch_min_bytes` to gather. Kafka
    /// answers a waiting fetch as soon as that much has arrived, so with the default of
    /// one byte a message is passed on when it is written, and the wait only bounds how
    /// long an idle consumer's request stays open. A larger `fetch_min_bytes` trades
    /// latency (up to the wait) for fewer, larger fetches.
    pub fetch_wait_max_ms: u64,
    pub fetch_min_bytes: u64,
    /// Idempotent producers (no duplicates or reordering from the producer's own
    /// retries). On everywhere; off only for a broker that lacks it.
    pub idempotence: bool,
    /// `plaintext`, `ssl` or `sasl_ssl` (docs/security.md, "Kafka"). The code's default is
    /// `plaintext`; the shipped config files, compose and Kubernetes set `sasl_ssl`.
    pub security_protocol: SecurityProtocol,
    /// `SCRAM-SHA-512` (the default) or `SCRAM-SHA-256`; used with `sasl_ssl` only.
    pub sasl_mechanism: SaslMechanism,
    /// The SASL user (`sasl_ssl` only): the service's own.
    pub username: String,
    /// The SASL user's password (`sasl_ssl` only). A secret: never printed.
    pub password: Secret,
    /// PEM file of the CA(s) that signed the brokers' certificates (`ssl`, `sasl_ssl`);
    /// unset, the system's trust store. Brokers' names are always checked.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and its unencrypted private key, for mutual TLS (`ssl`,
    /// `sasl_ssl`): both or neither.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            topic_prefix: String::new(),
            consumer_group: String::new(),
            request_timeout_ms: 3000,
            linger_ms: 5,
            delivery_timeout_ms: 30_000,
            fetch_wait_max_ms: 500,
            fetch_min_bytes: 1,
            idempotence: true,
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: SaslMechanism::ScramSha512,
            username: String::new(),
            password: Secret::default(),
            ca_file: None,
            cert_file: None,
            key_file: None,
        }
    }
}

impl KafkaConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.brokers.split(',').any(|b| {
            b.trim().rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        }) {
            return Err(ConfigError::invalid("kafka.brokers", "must be a comma-separated list of host:port"));
        }
        ConfigError::require_at_least_one([
            ("kafka.request_timeout_ms", self.request_timeout_ms),
            ("kafka.delivery_timeout_ms", self.delivery_timeout_ms),
        ])?;
        self.validate_security()
    }

    /// The security settings agree with one another and name files that exist. A setting
    /// the chosen protocol would ignore is refused rather than silently dropped: a
    /// password or CA given with `plaintext` means the deployment believes it is secured.
    fn validate_security(&self) -> Result<(), ConfigError> {
        let sasl = self.security_protocol == SecurityProtocol::SaslSsl;
        let tls = self.security_protocol != SecurityProtocol::Plaintext;
        if sasl {
            if self.username.trim().is_empty() {
                return Err(ConfigError::invalid(
                    "kafka.username",
                    "must be set when kafka.security_protocol is sasl_ssl",
                ));
            }
            if self.password.is_empty() {
                return Err(ConfigError::invalid(
                    "kafka.password",
                    "must be set when kafka.security_protocol is sasl_ssl",
                ));
            }
        } else {
            if !self.username.is_empty() {
                return Err(ConfigError::invalid(
                    "kafka.username",
                    "is used only with kafka.security_protocol = sasl_ssl",
                ));
            }
            if !self.password.is_empty() {
                return Err(ConfigError::invalid(
                    "kafka.password",
                    "is used only with kafka.security_protocol = sasl_ssl",
                ));
            }
        }
        let files = [
            ("kafka.ca_file", &self.ca_file),
            ("kafka.cert_file", &self.cert_file),
            ("kafka.key_file", &self.key_file),
        ];
        for (key, file) in files {
            let Some(path) = file else { continue };
            if !tls {
                return Err(ConfigError::invalid(key, "is used only with kafka.security_protocol = ssl or sasl_ssl"));
            }
            if !path.is_file() {
                return Err(ConfigError::invalid(key, format!("{} is not a readable file", path.display())));
            }
        }
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => Err(ConfigError::invalid("kafka.key_file", "must be set with kafka.cert_file")),
            (None, Some(_)) => Err(ConfigError::invalid("kafka.cert_file", "must be set with kafka.key_file")),
            _ => Ok(()),
        }
    }

    /// These settings as the `ORDERTRACK_KAFKA__*` variables a service process reads
    /// (the connection and its security; not the tuning). For starting a service with
    /// the same broker access as a test or a tool has.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("ORDERTRACK_KAFKA__BROKERS".to_owned(), self.brokers.clone()),
            ("ORDERTRACK_KAFKA__TOPIC_PREFIX".to_owned(), self.topic_prefix.clone()),
            ("ORDERTRACK_KAFKA__SECURITY_PROTOCOL".to_owned(), self.security_protocol.as_librdkafka().to_owned()),
            ("ORDERTRACK_KAFKA__SASL_MECHANISM".to_owned(), self.sasl_mechanism.as_librdkafka().to_owned()),
        ];
        if self.security_protocol == SecurityProtocol::SaslSsl {
            vars.push(("ORDERTRACK_KAFKA__USERNAME".to_owned(), self.username.clone()));
            vars.push(("ORDERTRACK_KAFKA__PASSWORD".to_owned(), self.password.expose().to_owned()));
        }
        let files = [("CA_FILE", &self.ca_file), ("CERT_FILE", &self.cert_file), ("KEY_FILE", &self.key_file)];
        for (key, file) in files {
            if let Some(path) = file {
                vars.push((format!("ORDERTRACK_KAFKA__{key}"), path.display().to_string()));
            }
        }
        vars
    }

    /// Validation for a service that consumes: it also needs a group.
    pub fn validate_consumer(&self) -> Result<(), ConfigError> {
        self.validate()?;
        if self.consumer_group.trim().is_empty() {
            return Err(ConfigError::invalid("kafka.consumer_group", "must not be empty"));
        }
        Ok(())
    }

    /// The full name of a topic under this configuration's prefix.
    pub fn topic(&self, topic: Topic) -> String {
        topic.with_prefix(&self.topic_prefix)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// How long a producer tries to deliver a message before it reports a failure.
    pub fn delivery_timeout(&self) -> Duration {
        Duration::from_millis(self.delivery_timeout_ms)
    }

    /// The librdkafka settings every client of this configuration shares: the brokers
    /// and how it authenticates to them. Public for the tools that build a client of a
    /// kind this module has no function for.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("socket.timeout.ms", self.request_timeout_ms.max(1000).to_string())
            // librdkafka leaves Nagle's algorithm on by default: a small request written
            // while an earlier one is unacknowledged waits for that ACK. Requests are
            // batched by linger.ms already; the socket must not add its own wait.
            .set("socket.nagle.disable", "true")
            .set("log_level", "3")
            .set("security.protocol", self.security_protocol.as_librdkafka());
        if self.security_protocol != SecurityProtocol::Plaintext {
            // librdkafka's defaults, said out loud: the broker's chain and its name are
            // both checked.
            config
                .set("enable.ssl.certificate.verification", "true")
                .set("ssl.endpoint.identification.algorithm", "https");
            if let Some(ca) = &self.ca_file {
                config.set("ssl.ca.location", ca.display().to_string());
            }
            if let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) {
                config
                    .set("ssl.certificate.location", cert.display().to_string())
                    .set("ssl.key.location", key.display().to_string());
            }
        }
        if self.security_protocol == SecurityProtocol::SaslSsl {
            config
                .set("sasl.mechanisms", self.sasl_mechanism.as_librdkafka())
                .set("sasl.username", &self.username)
                .set("sasl.password", self.password.expose());
        }
        config
    }
}

/// The `[kafka]` settings of the process's environment alone (`ORDERTRACK_KAFKA__*`: the
/// security settings above all), with `brokers` in place of the environment's. For the
/// tools that take the brokers on their command line (ordertrack-sim).
pub fn settings_from_env(brokers: &str) -> Result<KafkaConfig, ConfigError> {
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct KafkaOnly {
        kafka: KafkaConfig,
    }
    impl crate::config::ServiceConfig for KafkaOnly {
        const SERVICE: &'static str = "kafka-client";
        fn validate(&self) -> Result<(), ConfigError> {
            Ok(())
        }
    }
    let mut loaded: KafkaOnly = crate::config::load_from(None, std::env::vars())?;
    loaded.kafka.brokers = brokers.to_owned();
    loaded.kafka.validate()?;
    Ok(loaded.kafka)
}

/// A producer that waits for all in-sync replicas and keeps each partition in order
/// (idempotent unless the configuration says otherwise).
pub fn producer(config: &KafkaConfig, client_id: &str) -> anyhow::Result<FutureProducer> {
    let producer = config
        .client_config()
        .set("client.id", client_id)
        .set("enable.idempotence", config.idempotence.to_string())
        // Without idempotence, one request in flight keeps each partition in order on retries.
        .set("max.in.flight.requests.per.connection", if config.idempotence { "5" } else { "1" })
        .set("acks", "all")
        .set("linger.ms", config.linger_ms.to_string())
        .set("message.timeout.ms", config.delivery_timeout_ms.to_string())
        .create()?;
    Ok(producer)
}

/// Sends one message and waits for the broker's acknowledgement.
pub async fn publish(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    payload: &[u8],
) -> Result<(i32, i64), KafkaError> {
    let record = FutureRecord::to(topic).key(key).payload(payload);
    producer
        .send(record, Duration::from_secs(0))
        .await
        .map(|delivery| (delivery.partition, delivery.offset))
        .map_err(|(error, _)| error)
}

/// Waits (off the async threads) until everything queued in the producer is delivered.
pub async fn flush(producer: &FutureProducer, timeout: Duration) -> Result<(), KafkaError> {
    let producer = producer.clone();
    tokio::task::spawn_blocking(move || producer.flush(timeout)).await.unwrap_or(Err(KafkaError::Canceled))
}

/// Settings every consumer shares: its group and how it fetches.
fn consumer_settings(config: &KafkaConfig, group: &str) -> rdkafka::ClientConfig {
    let mut settings = config.client_config();
    settings
        .set("group.id", group)
        .set("fetch.wait.max.ms", config.fetch_wait_max_ms.to_string())
        .set("fetch.min.bytes", config.fetch_min_bytes.to_string());
    settings
}

/// A consumer in `group`, subscribed to `topics`, that starts from the earliest offset
/// when the group has none and stores offsets only when told to.
///
/// The group protocol is the classic one, with a 10 s session: a member that dies without
/// leaving (`kill -9`, a lost node) holds its partitions until its session expires, and
/// the group rebalances then, also when the process was started again at once. Measured
/// (`platform/tests/kafka.rs`, `a_member_killed_and_started_again_at_once_...`, Kafka
/// 4.1.0): messages flowed again 10.0 s after the kill with `classic`, 45.2 s with KIP-848's
/// `consumer` protocol, whose session is set by the broker (45 s by default and at least).
pub fn consumer(config: &KafkaConfig, group: &str, topics: &[String]) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer = consumer_settings(config, group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("group.protocol", "classic")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .create()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    Ok(consumer)
}

/// Where a fan-out consumer starts reading a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Only what is published from now on.
    Latest,
    /// Everything the broker still has.
    Earliest,
    /// Messages published at or after this time (milliseconds since the epoch); if the
    /// broker cannot look offsets up by time, from the start.
    Since(i64),
}

/// A consumer that reads every partition of the given topics itself, without a consumer
/// group (nothing is split with other instances, nothing is committed): each instance of
/// a service that holds clients (the notifier's sockets, order-grpc's `TrackOrder`
/// streams) sees every event. Partitions added later are not followed until the process
/// restarts.
/// A partition's low and high watermarks. Blocking. A broker that cannot answer yet is
/// asked again for up to a minute: a partition just created has no leader for a moment
/// (`NotLeaderForPartition`), a broker just restarted is slow.
pub fn watermarks<C: Consumer>(
    consumer: &C,
    topic: &str,
    partition: i32,
    timeout: Duration,
) -> anyhow::Result<(i64, i64)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match consumer.fetch_watermarks(topic, partition, timeout) {
            Ok(marks) => return Ok(marks),
            Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!("the watermarks of {topic}/{partition}")));
            }
        }
    }
}

pub async fn fanout_consumer(
    config: &KafkaConfig,
    purpose: &str,
    topics: &[(String, StartAt)],
) -> anyhow::Result<StreamConsumer> {
    use rdkafka::{Offset, TopicPartitionList};
    // librdkafka wants a group id even for assigned partitions; nothing joins it.
    let group = format!("{}-{purpose}-{}", config.consumer_group, uuid::Uuid::new_v4().simple());
    let consumer: StreamConsumer = consumer_settings(config, &group).set("enable.auto.commit", "false").create()?;
    let consumer = Arc::new(consumer);
    let (client, topics, timeout) = (Arc::clone(&consumer), topics.to_vec(), config.request_timeout());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        // A broker that is slow to answer (busy, or just restarted) is asked again for up
        // to a minute before start-up gives up (seen with the local broker under load).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let metadata = loop {
            match client.fetch_metadata(None, timeout) {
                Ok(metadata) => break metadata,
                Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(500)),
                Err(error) => return Err(error.into()),
            }
        };
        let mut assignment = TopicPartitionList::new();
        let mut by_time = TopicPartitionList::new();
        for (topic, start) in &topics {
            let partitions = metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic.as_str())
                .map(|t| t.partitions().len())
                .filter(|count| *count > 0)
                .ok_or_else(|| anyhow::anyhow!("topic {topic} does not exist"))?;
            for partition in 0..partitions as i32 {
                match start {
                    StartAt::Latest => assignment.add_partition_offset(topic, partition, Offset::End)?,
                    StartAt::Earliest => assignment.add_partition_offset(topic, partition, Offset::Beginning)?,
                    StartAt::Since(millis) => {
                        by_time.add_partition_offset(topic, partition, Offset::Offset(*millis))?
                    }
                }
            }
        }
        if by_time.count() > 0 {
            match client.offsets_for_times(by_time.clone(), timeout) {
                Ok(found) => {
                    for element in found.elements() {
                        // No message at or after the time: start at the end.
                        let offset = match element.offset() {
                            Offset::Offset(offset) if offset >= 0 => Offset::Offset(offset),
                            _ => Offset::End,
                        };
                        assignment.add_partition_offset(element.topic(), element.partition(), offset)?;
                    }
                }
                Err(_) => {
                    for element in by_time.elements() {
                        assignment.add_partition_offset(element.topic(), element.partition(), Offset::Beginning)?;
                    }
                }
            }
        }
        client.assign(&assignment)?;
        Ok(())
    })
    .await??;
    Arc::try_unwrap(consumer).map_err(|_| anyhow::anyhow!("the consumer is still shared"))
}

/// What a handler says about a message it could not process.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Worth trying again (a dependency is down): the loop backs off and retries the
    /// same message, so nothing after it is processed out of order.
    #[error("retry: {0:#}")]
    Retry(anyhow::Error),
    /// Never going to work (undecodable, invalid): the message goes to the dead-letter
    /// topic and the loop moves on.
    #[error("rejected: {0:#}")]
    Reject(anyhow::Error),
}

/// Where rejected messages go: `<topic>.dlq`, with the reason and origin in headers.
#[derive(Clone)]
pub struct DeadLetters {
    pub producer: FutureProducer,
}

impl DeadLetters {
    async fn send(&self, message: &OwnedMessage, reason: &str) -> Result<(), KafkaError> {
        let topic = format!("{}.dlq", message.topic());
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let headers = OwnedHeaders::new()
            .insert(Header { key: "error", value: Some(reason) })
            .insert(Header { key: "source_topic", value: Some(message.topic()) })
            .insert(Header { key: "source_partition", value: Some(&partition) })
            .insert(Header { key: "source_offset", value: Some(&offset) });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        self.producer.send(record, Duration::from_secs(0)).await.map(|_| ()).map_err(|(error, _)| error)
    }
}

const RETRY_START: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// Feeds every message to `handle`, in order per partition, until `shutdown` is
/// cancelled; then commits the stored offsets. See the module docs for the guarantees.
pub async fn consume<F, Fut>(
    consumer: StreamConsumer,
    dead_letters: Option<DeadLetters>,
    shutdown: CancellationToken,
    log: Logger,
    mut handle: F,
) -> anyhow::Result<()>
where
    F: FnMut(OwnedMessage) -> Fut,
    Fut: Future<Output = Result<(), HandleError>>,
{
    consume_batches(consumer, dead_letters, shutdown, log, 1, move |mut batch| {
        let handled = batch.pop().map(&mut handle);
        async move {
            match handled {
                None => Ok(Vec::new()),
                Some(handled) => match handled.await {
                    Ok(()) => Ok(Vec::new()),
                    Err(HandleError::Reject(reason)) => Ok(vec![(0, reason)]),
                    Err(HandleError::Retry(reason)) => Err(reason),
                },
            }
        }
    })
    .await
}

/// Like [`consume`], for handlers that do better with many messages at once (one
/// database transaction for all of them, say): each call gets the messages already
/// fetched, in order, at most `max_batch`, without waiting for more. `handle` answers
/// the messages it rejects (index in the batch, reason: they go to the dead-letter
/// topic), or an error, and then the same batch is offered again after a back-off, so
/// nothing after it is processed first. A handler must treat a batch seen again as a
/// replay (the offsets are stored only after it succeeded).
pub async fn consume_batches<F, Fut>(
    consumer: StreamConsumer,
    dead_letters: Option<DeadLetters>,
    shutdown: CancellationToken,
    log: Logger,
    max_batch: usize,
    mut handle: F,
) -> anyhow::Result<()>
where
    F: FnMut(Vec<OwnedMessage>) -> Fut,
    Fut: Future<Output = Result<Vec<(usize, anyhow::Error)>, anyhow::Error>>,
{
    'batches: loop {
        let received = tokio::select! {
            () = shutdown.cancelled() => break,
            received = consumer.recv() => received,
        };
        let mut batch = match received {
            Ok(message) => vec![message.detach()],
            Err(error) => {
                warn!(log, "kafka receive failed"; "error" => %error);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(RETRY_START) => continue,
                }
            }
        };
        while batch.len() < max_batch {
            match consumer.recv().now_or_never() {
                Some(Ok(message)) => batch.push(message.detach()),
                Some(Err(error)) => {
                    warn!(log, "kafka receive failed"; "error" => %error);
                    break;
                }
                None => break,
            }
        }
        let mut backoff = RETRY_START;
        let rejected = loop {
            match handle(batch.clone()).await {
                Ok(rejected) => break rejected,
                Err(error) => {
                    let first = batch.first().map(|m| (m.topic().to_owned(), m.partition(), m.offset()));
                    let (topic, partition, offset) = first.unwrap_or_default();
                    warn!(log, "message handling failed, will retry";
                        "topic" => topic, "partition" => partition, "offset" => offset,
                        "messages" => batch.len(), "error" => %format!("{error:#}"), "retry_in_ms" => backoff.as_millis());
                    tokio::select! {
                        () = shutdown.cancelled() => break 'batches,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(RETRY_MAX);
                }
            }
        };
        for (index, reason) in rejected {
            let Some(message) = batch.get(index) else { continue };
            let reason = format!("{reason:#}");
            let Some(dlq) = &dead_letters else {
                error!(log, "message rejected and skipped (no dead-letter topic)";
                    "topic" => message.topic(), "offset" => message.offset(), "reason" => &reason);
                continue;
            };
            warn!(log, "message rejected, sent to the dead-letter topic";
                "topic" => message.topic(), "partition" => message.partition(),
                "offset" => message.offset(), "reason" => &reason);
            let mut backoff = RETRY_START;
            while let Err(error) = dlq.send(message, &reason).await {
                warn!(log, "the dead-letter topic did not take the message, will retry";
                    "topic" => message.topic(), "offset" => message.offset(), "error" => %error,
                    "retry_in_ms" => backoff.as_millis());
                tokio::select! {
                    () = shutdown.cancelled() => break 'batches,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(RETRY_MAX);
            }
        }
        for message in &batch {
            if let Err(error) = consumer.store_offset(message.topic(), message.partition(), message.offset()) {
                // The partition was revoked meanwhile; its new owner will see the message again.
                warn!(log, "could not store offset"; "error" => %error);
            }
        }
    }
    commit(&consumer, &log);
    Ok(())
}

/// Commits the stored offsets synchronously; "nothing to commit" is not an error.
fn commit(consumer: &StreamConsumer, log: &Logger) {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => info!(log, "kafka offsets committed"),
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(error) => warn!(log, "kafka offset commit failed"; "error" => %error),
    }
}

/// A topic to create.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
}

/// Every topic of the system under `config`'s prefix, with its dead-letter topic.
pub fn system_topics(config: &KafkaConfig, partitions: i32) -> Vec<TopicSpec> {
    Topic::ALL
        .iter()
        .flat_map(|topic| {
            [
                TopicSpec { name: topic.with_prefix(&config.topic_prefix), partitions },
                TopicSpec { name: topic.dlq_with_prefix(&config.topic_prefix), partitions: 1 },
            ]
        })
        .collect()
}

/// Creates the topics that do not exist yet; returns the names it created.
pub async fn create_topics(config: &KafkaConfig, topics: &[TopicSpec]) -> anyhow::Result<Vec<String>> {
    let admin: AdminClient<DefaultClientContext> = config.client_config().create()?;
    let new_topics: Vec<NewTopic<'_>> =
        topics.iter().map(|spec| NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(1))).collect();
    let options = AdminOptions::new().operation_timeout(Some(config.request_timeout()));
    let results = admin.create_topics(&new_topics, &options).await?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("creating topic {name} failed: {code}"),
        }
    }
    Ok(created)
}

/// Waits until the cluster answers a metadata request that names at least one broker,
/// asking again every 200 ms for up to `within`; returns the brokers it named
/// (`host:port`). Scripts use it (`ordertrack-admin kafka-ready`) to know a broker they
/// started is ready, and so do the tests' private brokers.
pub async fn wait_until_ready(config: &KafkaConfig, within: Duration) -> anyhow::Result<Vec<String>> {
    let client: Arc<BaseConsumer> = Arc::new(config.client_config().create()?);
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (asking, timeout) = (Arc::clone(&client), config.request_timeout());
        let answer = tokio::task::spawn_blocking(move || asking.fetch_metadata(None, timeout)).await?;
        let last_error = match answer {
            Ok(metadata) if !metadata.brokers().is_empty() => {
                return Ok(metadata.brokers().iter().map(|b| format!("{}:{}", b.host(), b.port())).collect());
            }
            Ok(_) => "the metadata named no broker".to_owned(),
            Err(error) => error.to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("no metadata from {} within {} s: {last_error}", config.brokers, within.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Readiness check for Kafka: the brokers answer a metadata request and the topics the
/// service uses exist.
#[derive(Clone)]
pub struct KafkaProbe {
    client: Arc<BaseConsumer>,
    topics: Vec<String>,
}

impl KafkaProbe {
    pub fn new(config: &KafkaConfig, topics: Vec<String>) -> anyhow::Result<Self> {
        let client: BaseConsumer = config.client_config().create()?;
        Ok(Self { client: Arc::new(client), topics })
    }

    pub async fn check(&self, timeout: Duration) -> Result<(), String> {
        let client = Arc::clone(&self.client);
        let metadata = tokio::task::spawn_blocking(move || client.fetch_metadata(None, timeout))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let missing: Vec<&str> = self
            .topics
            .iter()
            .filter(|wanted| !metadata.topics().iter().any(|t| t.name() == wanted.as_str() && t.error().is_none()))
            .map(String::as_str)
            .collect();
        if missing.is_empty() { Ok(()) } else { Err(format!("missing topics: {}", missing.join(", "))) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sasl() -> KafkaConfig {
        KafkaConfig {
            security_protocol: SecurityProtocol::SaslSsl,
            username: "order-api".into(),
            password: Secret::new("hunter2-kafka"),
            ..KafkaConfig::default()
        }
    }

    fn refused(config: KafkaConfig) -> String {
        config.validate().unwrap_err().to_string()
    }

    #[test]
    fn security_settings_that_do_not_fit_together_are_refused_naming_the_key() {
        assert!(sasl().validate().is_ok());
        assert!(KafkaConfig::default().validate().is_ok());
        assert_eq!(
            refused(KafkaConfig { username: String::new(), ..sasl() }),
            "invalid value for key `kafka.username`: must be set when kafka.security_protocol is sasl_ssl"
        );
        assert_eq!(
            refused(KafkaConfig { password: Secret::default(), ..sasl() }),
            "invalid value for key `kafka.password`: must be set when kafka.security_protocol is sasl_ssl"
        );
        let plaintext = KafkaConfig { security_protocol: SecurityProtocol::Plaintext, ..sasl() };
        assert!(refused(plaintext).contains("`kafka.username`: is used only with kafka.security_protocol = sasl_ssl"));
        let ssl_with_password =
            KafkaConfig { security_protocol: SecurityProtocol::Ssl, username: String::new(), ..sasl() };
        assert!(refused(ssl_with_password).contains("`kafka.password`: is used only with"));
        let ca_in_the_clear = KafkaConfig { ca_file: Some("/etc/hostname".into()), ..KafkaConfig::default() };
        assert!(
            refused(ca_in_the_clear)
                .contains("`kafka.ca_file`: is used only with kafka.security_protocol = ssl or sasl_ssl")
        );
        let missing = KafkaConfig { ca_file: Some("/nonexistent/ca.crt".into()), ..sasl() };
        assert!(refused(missing).contains("`kafka.ca_file`: /nonexistent/ca.crt is not a readable file"));
        let half_mtls = KafkaConfig { cert_file: Some("/etc/hostname".into()), ..sasl() };
        assert!(refused(half_mtls).contains("`kafka.key_file`: must be set with kafka.cert_file"));
        let mtls = KafkaConfig {
            security_protocol: SecurityProtocol::Ssl,
            username: String::new(),
            password: Secret::default(),
            ca_file: Some("/etc/hostname".into()),
            cert_file: Some("/etc/hostname".into()),
            key_file: Some("/etc/hostname".into()),
            ..KafkaConfig::default()
        };
        assert!(mtls.validate().is_ok());
    }

    #[test]
    fn the_password_is_never_printed() {
        let config = sasl();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2-kafka") && debug.contains("password: ***"), "{debug}");
        let error = refused(KafkaConfig { username: String::new(), ..sasl() });
        assert!(!error.contains("hunter2-kafka"));
    }

    #[test]
    fn the_client_is_configured_for_tls_and_scram() {
        let config = KafkaConfig { ca_file: Some("/etc/hostname".into()), ..sasl() };
        let client = config.client_config();
        assert_eq!(client.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(client.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
        assert_eq!(client.get("sasl.username"), Some("order-api"));
        assert_eq!(client.get("ssl.ca.location"), Some("/etc/hostname"));
        assert_eq!(client.get("enable.ssl.certificate.verification"), Some("true"));
        assert_eq!(KafkaConfig::default().client_config().get("sasl.username"), None);
    }
}
