//! Kafka plumbing against the real broker: produce → consume in a group → commit →
//! a restarted consumer resumes after the committed offset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::topics::Topic;
use platform::kafka::{self, DeadLetters, HandleError, TopicSpec};
use rdkafka::message::{Headers, Message};
use slog::{Logger, o};
use tokio_util::sync::CancellationToken;

fn log() -> Logger {
    Logger::root(slog::Discard, o!())
}

async fn produce(producer: &rdkafka::producer::FutureProducer, topic: &str, range: std::ops::Range<u32>) {
    for i in range {
        kafka::publish(producer, topic, &format!("key-{}", i % 3), i.to_string().as_bytes()).await.unwrap();
    }
}

/// Consumes in `group` until `stop_after` messages were handled; returns their payloads.
async fn consume_until(config: &kafka::KafkaConfig, topic: &str, group: &str, stop_after: usize) -> Vec<u32> {
    let consumer = kafka::consumer(config, group, &[topic.to_owned()]).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let (seen_in, stop) = (Arc::clone(&seen), shutdown.clone());
    let run = kafka::consume(consumer, None, shutdown.clone(), log(), move |message| {
        let value: u32 = std::str::from_utf8(message.payload().unwrap()).unwrap().parse().unwrap();
        let mut seen = seen_in.lock().unwrap();
        seen.push(value);
        if seen.len() == stop_after {
            stop.cancel();
        }
        async { Ok(()) }
    });
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("consumer did not finish").unwrap();
    seen.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_consumer_resumes_after_the_committed_offset() {
    let config = test_support::kafka_config("resume");
    let topic = config.topic(Topic::OrderCommands);
    kafka::create_topics(&config, &[TopicSpec { name: topic.clone(), partitions: 2 }]).await.unwrap();
    let producer = kafka::producer(&config, "test").unwrap();
    let group = config.consumer_group.clone();

    produce(&producer, &topic, 0..10).await;
    let first = consume_until(&config, &topic, &group, 6).await;

    produce(&producer, &topic, 10..15).await;
    let second = consume_until(&config, &topic, &group, 15 - first.len()).await;

    let first_set: BTreeSet<u32> = first.iter().copied().collect();
    let second_set: BTreeSet<u32> = second.iter().copied().collect();
    assert_eq!(first.len(), first_set.len(), "the first consumer saw a message twice: {first:?}");
    assert_eq!(second.len(), second_set.len(), "the second consumer saw a message twice: {second:?}");
    assert!(first_set.is_disjoint(&second_set), "repeated after restart: {first:?} then {second:?}");
    let all: BTreeSet<u32> = first_set.union(&second_set).copied().collect();
    assert_eq!(all, (0..15).collect(), "skipped messages: {first:?} then {second:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_of_one_key_arrive_in_order() {
    let config = test_support::kafka_config("order");
    let topic = config.topic(Topic::OrderUpdated);
    kafka::create_topics(&config, &[TopicSpec { name: topic.clone(), partitions: 3 }]).await.unwrap();
    let producer = kafka::producer(&config, "test").unwrap();
    for i in 0..30u32 {
        kafka::publish(&producer, &topic, "one-order", i.to_string().as_bytes()).await.unwrap();
    }
    let seen = consume_until(&config, &topic, &config.consumer_group, 30).await;
    assert_eq!(seen, (0..30).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_message_goes_to_the_dead_letter_topic_and_the_rest_flows_on() {
    let config = test_support::kafka_config("dlq");
    let topic = config.topic(Topic::OrderCommands);
    let dlq_topic = Topic::OrderCommands.dlq_with_prefix(&config.topic_prefix);
    kafka::create_topics(
        &config,
        &[TopicSpec { name: topic.clone(), partitions: 1 }, TopicSpec { name: dlq_topic.clone(), partitions: 1 }],
    )
    .await
    .unwrap();
    let producer = kafka::producer(&config, "test").unwrap();
    for payload in ["1", "poison", "2"] {
        kafka::publish(&producer, &topic, "k", payload.as_bytes()).await.unwrap();
    }

    let consumer = kafka::consumer(&config, &config.consumer_group, std::slice::from_ref(&topic)).unwrap();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let (handled_in, stop) = (Arc::clone(&handled), shutdown.clone());
    let dead_letters = DeadLetters { producer: producer.clone() };
    let run = kafka::consume(consumer, Some(dead_letters), shutdown.clone(), log(), move |message| {
        let text = String::from_utf8(message.payload().unwrap().to_vec()).unwrap();
        let result = if text == "poison" {
            Err(HandleError::Reject(anyhow::anyhow!("not a number")))
        } else {
            handled_in.lock().unwrap().push(text.clone());
            if text == "2" {
                stop.cancel();
            }
            Ok(())
        };
        async move { result }
    });
    tokio::time::timeout(Duration::from_secs(60), run).await.unwrap().unwrap();
    assert_eq!(*handled.lock().unwrap(), ["1", "2"]);

    let dlq = kafka::consumer(&config, &format!("{}-dlq", config.consumer_group), &[dlq_topic]).unwrap();
    let message = tokio::time::timeout(Duration::from_secs(30), dlq.recv()).await.unwrap().unwrap();
    assert_eq!(message.payload(), Some(b"poison".as_slice()));
    assert_eq!(message.key(), Some(b"k".as_slice()));
    let headers = message.headers().unwrap();
    let error = headers.iter().find(|h| h.key == "error").and_then(|h| h.value).unwrap();
    assert!(std::str::from_utf8(error).unwrap().contains("not a number"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_message_is_retried_before_anything_after_it() {
    let config = test_support::kafka_config("retry");
    let topic = config.topic(Topic::CourierLocations);
    kafka::create_topics(&config, &[TopicSpec { name: topic.clone(), partitions: 1 }]).await.unwrap();
    let producer = kafka::producer(&config, "test").unwrap();
    produce(&producer, &topic, 0..3).await;

    let consumer = kafka::consumer(&config, &config.consumer_group, &[topic]).unwrap();
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let (attempts_in, stop) = (Arc::clone(&attempts), shutdown.clone());
    let run = kafka::consume(consumer, None, shutdown.clone(), log(), move |message| {
        let value: u32 = std::str::from_utf8(message.payload().unwrap()).unwrap().parse().unwrap();
        let mut attempts = attempts_in.lock().unwrap();
        attempts.push(value);
        let failures_so_far = attempts.iter().filter(|v| **v == 1).count();
        let result = if value == 1 && failures_so_far <= 2 {
            Err(HandleError::Retry(anyhow::anyhow!("dependency down")))
        } else {
            if value == 2 {
                stop.cancel();
            }
            Ok(())
        };
        async move { result }
    });
    tokio::time::timeout(Duration::from_secs(60), run).await.unwrap().unwrap();
    assert_eq!(*attempts.lock().unwrap(), [0, 1, 1, 1, 2]);
}
