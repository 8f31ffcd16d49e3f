//! The floor of the run's latencies: a bare produce → consume round trip on the same
//! broker, under the same load, with the services' own client settings (an idempotent
//! producer with `acks=all` and their linger, a fan-out reader fetching as the notifier
//! does). Every path to a customer's socket crosses the broker at least once, so its p99
//! is read against this one's, measured in the same run: on a busy two-core machine an
//! absolute millisecond figure moves with everything else, the ratio much less.
//!
//! The probe sends a small message every `EVERY` to its own one-partition topic
//! (`<prefix>load_floor`) and times each from its send to its arrival.

use std::sync::Arc;
use std::time::{Duration, Instant};

use platform::kafka::{self, KafkaConfig, StartAt, TopicSpec};
use rdkafka::Message;

use super::Load;
use super::metrics::Measure;

const EVERY: Duration = Duration::from_millis(10);

/// Runs the probe until the run finishes. Failures are counted as errors of the probe
/// (a broker stopped by a fault, say), never fatal.
pub async fn run(load: Arc<Load>, brokers: String, topic_prefix: String) {
    if let Err(error) = probe(&load, brokers, topic_prefix).await {
        load.metrics.error_kind(format!("broker floor probe: {error:#}"));
    }
}

async fn probe(load: &Load, brokers: String, topic_prefix: String) -> anyhow::Result<()> {
    let config = KafkaConfig {
        topic_prefix,
        consumer_group: "ordertrack-load-floor".to_owned(),
        ..kafka::settings_from_env(&brokers)?
    };
    let topic = format!("{}load_floor", config.topic_prefix);
    kafka::create_topics(&config, &[TopicSpec { name: topic.clone(), partitions: 1 }]).await?;
    let consumer = kafka::fanout_consumer(&config, "floor", &[(topic.clone(), StartAt::Latest)]).await?;
    let producer = kafka::producer(&config, "ordertrack-load-floor")?;
    let base = Instant::now();

    let sender = async {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !load.finished() {
            tick.tick().await;
            let sent_micros = base.elapsed().as_micros() as u64;
            let producer = producer.clone();
            let topic = topic.clone();
            // Each send on its own, as a service's would be: a slow acknowledgement must
            // not hold the next probe back.
            tokio::spawn(async move {
                let _ = kafka::publish(&producer, &topic, "floor", &sent_micros.to_be_bytes()).await;
            });
        }
    };
    // Sends before the first round trip are not timed: a new topic's first messages wait
    // for its leader and metadata, up to a second, which says nothing about the run.
    let mut timed_from: Option<Instant> = None;
    let receiver = async {
        while !load.finished() {
            let received = tokio::select! {
                received = consumer.recv() => received,
                () = load.sleep(Duration::from_secs(1)) => continue,
            };
            let Ok(message) = received else { continue };
            let Some(sent_micros) = message.payload().and_then(|p| <[u8; 8]>::try_from(p).ok()).map(u64::from_be_bytes)
            else {
                continue;
            };
            let sent = base + Duration::from_micros(sent_micros);
            match timed_from {
                Some(from) if sent >= from => load.metrics.latency(Measure::Floor, sent, 1),
                Some(_) => {}
                None => timed_from = Some(Instant::now()),
            }
        }
    };
    tokio::join!(sender, receiver);
    Ok(())
}
