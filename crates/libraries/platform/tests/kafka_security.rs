//! Kafka's security against the real broker (the tests' broker of scripts/dev: SASL_SSL
//! only, StandardAuthorizer, the users and ACLs of crates/tools/admin/kafka-acls.txt):
//! each user may write its own topics and no other, a wrong password or a client without
//! TLS gets nothing.
//!
//! Writes are tried with a message larger than the broker takes (1 MiB): the broker checks
//! the ACLs first, so a user it refuses gets `TopicAuthorizationFailed`, and one it lets
//! write gets `MessageSizeTooLarge`. Nothing is ever written to the topics, which the
//! browser tests' stack uses afterwards under these very names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::sync::Mutex;
use std::time::Duration;

use domain::topics::Topic;
use platform::Secret;
use platform::kafka::{self, KafkaConfig, SecurityProtocol};
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// The system's topics under their production names (no prefix), made by the super user.
async fn system_topics() {
    let admin = test_support::kafka_client(test_support::KAFKA_ADMIN_USER);
    kafka::create_topics(&admin, &kafka::system_topics(&admin, 2)).await.expect("the system topics");
}

/// What the broker answers `user` writing (an oversized message) to `topic`.
async fn write(user: &str, topic: &str) -> RDKafkaErrorCode {
    let producer: FutureProducer = test_support::kafka_client(user)
        .client_config()
        .set("message.max.bytes", "4000000")
        .set("message.timeout.ms", "15000")
        .create()
        .expect("a producer");
    let payload = vec![0_u8; 1_500_000];
    let record = FutureRecord::to(topic).key("acl-test").payload(&payload);
    match producer.send(record, Duration::from_secs(0)).await {
        Ok(delivery) => panic!("{user} wrote {} bytes to {topic} at {delivery:?}", payload.len()),
        Err((KafkaError::MessageProduction(code), _)) => code,
        Err((error, _)) => panic!("{user} writing {topic}: {error}"),
    }
}

const REFUSED: RDKafkaErrorCode = RDKafkaErrorCode::TopicAuthorizationFailed;
const ALLOWED: RDKafkaErrorCode = RDKafkaErrorCode::MessageSizeTooLarge;

#[tokio::test]
async fn the_courier_trackers_user_cannot_write_order_created() {
    system_topics().await;
    assert_eq!(write("courier-tracker", "order_created").await, REFUSED);
    // ...but writes what it owns: positions, commands, the dead letters of what it reads.
    assert_eq!(write("courier-tracker", "courier_locations").await, ALLOWED);
    assert_eq!(write("courier-tracker", "order_created.dlq").await, ALLOWED);
    assert_eq!(write("order-api", "order_created").await, ALLOWED);
}

#[tokio::test]
async fn nobody_but_the_courier_tracker_and_the_logistics_adapter_writes_order_commands() {
    system_topics().await;
    let commands = Topic::OrderCommands.name();
    for user in ["order-api", "order-grpc", "notifier"] {
        assert_eq!(write(user, commands).await, REFUSED, "{user} on {commands}");
    }
    for user in ["courier-tracker", "logistics-adapter"] {
        assert_eq!(write(user, commands).await, ALLOWED, "{user} on {commands}");
    }
}

#[tokio::test]
async fn a_user_is_not_even_told_of_a_topic_it_has_no_business_with() {
    system_topics().await;
    // The error the broker gives `user` for `topic` in a metadata answer (None: none).
    let describe = |user: &'static str, topic: &'static str| async move {
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = test_support::kafka_client(user).client_config().create().expect("a client");
            let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
            metadata.topics()[0].error().map(RDKafkaErrorCode::from)
        })
        .await
        .unwrap()
    };
    assert_eq!(describe("order-api", "courier_locations").await, Some(REFUSED));
    assert_eq!(describe("logistics-adapter", "customer_notifications").await, Some(REFUSED));
    assert_eq!(describe("notifier", "courier_locations").await, None);
}

/// Whether a client of `config` gets the broker's metadata within a few seconds, and the
/// last error if not.
async fn connects(config: &KafkaConfig) -> Result<(), String> {
    kafka::wait_until_ready(config, Duration::from_secs(6)).await.map(|_| ()).map_err(|error| format!("{error:#}"))
}

/// Keeps the errors librdkafka reports about the client's connections.
#[derive(Default)]
struct Reports(Mutex<Vec<String>>);

impl ClientContext for Reports {
    fn error(&self, error: KafkaError, reason: &str) {
        self.0.lock().unwrap().push(format!("{error}: {reason}"));
    }
}

impl ConsumerContext for Reports {}

/// Asks for metadata as a client of `config` (it must fail) and returns what librdkafka
/// reported meanwhile, one line.
async fn refused_connection(config: &KafkaConfig) -> String {
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer<Reports> =
            config.client_config().create_with_context(Reports::default()).expect("a client");
        let answer = client.fetch_metadata(None, Duration::from_secs(6));
        assert!(answer.is_err(), "the broker answered {}", config.username);
        // The error callback runs when the client is polled.
        for _ in 0..5 {
            let _ = client.poll(Duration::from_millis(100));
        }
        client.context().0.lock().unwrap().join(" | ")
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn every_user_of_the_acl_table_logs_in() {
    for user in [test_support::KAFKA_ADMIN_USER, "order-api", "order-grpc", "courier-tracker", "notifier"] {
        connects(&test_support::kafka_client(user)).await.unwrap_or_else(|error| panic!("{user}: {error}"));
    }
    connects(&test_support::kafka_client("logistics-adapter")).await.unwrap();
    connects(&test_support::kafka_client("simulator")).await.unwrap();
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_not_told() {
    let right = test_support::kafka_client("order-api");
    connects(&right).await.expect("the right password logs in");
    let wrong = KafkaConfig { password: Secret::new("not-the-password-of-order-api"), ..right };
    let reports = refused_connection(&wrong).await;
    assert!(reports.contains("SASL authentication error") && reports.contains("invalid credentials"), "{reports}");
    assert!(!reports.contains("not-the-password"), "{reports}");
    let nobody = KafkaConfig { username: "nobody".into(), ..wrong };
    assert!(refused_connection(&nobody).await.contains("invalid credentials"));
}

#[tokio::test]
async fn a_client_without_tls_gets_nothing_from_the_sasl_ssl_port() {
    let plaintext = KafkaConfig {
        security_protocol: SecurityProtocol::Plaintext,
        username: String::new(),
        password: Secret::default(),
        ca_file: None,
        ..test_support::kafka_client("order-api")
    };
    plaintext.validate().expect("a valid configuration, only of the wrong kind for this broker");
    // The broker drops the connection at the client's first request; librdkafka reports
    // the broker down (the same user over TLS gets its answer: the first test above).
    let reports = refused_connection(&plaintext).await;
    assert!(reports.contains("AllBrokersDown"), "{reports}");
    connects(&test_support::kafka_client("order-api")).await.expect("the same client over SASL_SSL connects");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_local_ca_refuses_the_broker() {
    // The system's trust store: it does not hold the local stack's own CA.
    let untrusting = KafkaConfig { ca_file: None, ..test_support::kafka_client("order-api") };
    let reports = refused_connection(&untrusting).await;
    assert!(reports.contains("certificate verify failed"), "{reports}");
}
