//! Reads what the invariants compare: the run's orders and their timelines from the
//! orders database (diesel, through the orders crate's schema), their events from the order
//! topics, the orders the CDEK double holds, and where the services' consumer groups stand.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use ::orders::store::schema::{order_timeline, orders, outbox, processed_commands};
use anyhow::Context;
use diesel::dsl::count;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::topics::Topic;
use platform::kafka::KafkaConfig;
use prost::Message as _;
use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use serde_json::Value;
use uuid::Uuid;

use super::invariants::{CdekOrder, DbOrder, DbTimeline, Event, EventKind, Gathered, GroupOffset};
use crate::load::record::RunRecord;

/// The consumer groups of the services and the topics each reads (the fan-out readers of
/// the notifier and order-grpc's `TrackOrder` commit nothing and are not listed). The
/// names are the `[kafka] consumer_group` of `config/<service>.toml` (a unit test below
/// holds them to it) and, for a service's second consumer, the suffix its `startup.rs`
/// gives it (docs/deploy.md lists them all).
pub const CONSUMER_GROUPS: [(&str, &[Topic]); 5] = [
    ("order-grpc", &[Topic::OrderCommands]),
    ("order-grpc-locations", &[Topic::CourierLocations]),
    ("courier-tracker", &[Topic::OrderCreated, Topic::OrderUpdated]),
    ("courier-tracker-motion", &[Topic::CourierLocations]),
    ("logistics-adapter", &[Topic::OrderCreated, Topic::OrderUpdated]),
];

/// How long the check waits for the consumer groups to commit the ends of their topics
/// (they commit every second; a group that moves on catches up well within this).
const GROUPS_CATCH_UP: Duration = Duration::from_secs(60);

/// The error CDEK gives a second registration of a number (docs/cdek-api.md).
const DUPLICATE_NUMBER: &str = "error_validate_im_dep_number_has_already_had_integration";

/// Reads everything the invariants compare, once the outbox has published the run's events.
pub async fn gather(record: &RunRecord) -> anyhow::Result<Gathered> {
    let prefix = record.number_prefix();
    // The pattern is a bound parameter, but `%` and `_` in it would still match anything.
    anyhow::ensure!(
        prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "the run's tag {:?} is not a load run's",
        record.tag
    );
    let numbers = format!("{prefix}%");
    let mut db = platform::postgres::connect_once(&record.orders_db).await.with_context(|| {
        format!("connecting to the orders database {}", platform::secret::redact_url(&record.orders_db))
    })?;
    wait_outbox_empty(&mut db, &numbers).await?;
    let orders = read_orders(&mut db, &numbers).await?;
    let timeline = read_timeline(&mut db, &numbers).await?;
    let mut ids: HashSet<String> = record.orders.iter().map(|o| o.id.clone()).collect();
    ids.extend(orders.iter().map(|o| o.id.clone()));
    // The broker's security settings come from ORDERTRACK_KAFKA__* (scripts/dev: the
    // simulator's own user).
    let kafka = KafkaConfig {
        topic_prefix: record.topic_prefix.clone(),
        ..platform::kafka::settings_from_env(&record.brokers)?
    };
    let reader = kafka.clone();
    let events = tokio::task::spawn_blocking(move || read_events(&reader, &ids, &prefix)).await??;
    let cdek_orders =
        if record.orders.iter().any(|o| o.cdek) { cdek_orders(&record.double).await? } else { Vec::new() };
    let group_offsets =
        tokio::task::spawn_blocking(move || read_group_offsets(&kafka, &CONSUMER_GROUPS, GROUPS_CATCH_UP)).await??;
    Ok(Gathered { orders, timeline, events, cdek_orders, group_offsets })
}

/// Waits (up to 60 s) until the outbox holds no event of the run's orders (those whose
/// store number is LIKE `numbers`), so every change is on the topics before they are read.
async fn wait_outbox_empty(db: &mut AsyncPgConnection, numbers: &str) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        // An outbox row's key is its order's id, as text.
        let run_orders =
            orders::table.filter(orders::store_order_number.like(numbers)).select(orders::id.cast::<Text>());
        let pending: i64 = outbox::table
            .filter(outbox::message_key.eq_any(run_orders))
            .count()
            .get_result(db)
            .await
            .context("counting the run's events in the outbox")?;
        if pending == 0 {
            return Ok(());
        }
        if Instant::now() > until {
            println!("    {pending} events of the run still in the outbox after 60 s; checking anyway");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The run's orders (store number LIKE `numbers`), each with how many of its commands
/// `processed_commands` records as applied (a left join counted per order, so an order
/// with none counts 0).
async fn read_orders(db: &mut AsyncPgConnection, numbers: &str) -> anyhow::Result<Vec<DbOrder>> {
    let applied_to_the_order =
        processed_commands::order_id.eq(orders::id).and(processed_commands::outcome.eq("applied"));
    let rows: Vec<(Uuid, String, i64, Option<String>, i64)> = orders::table
        .left_join(processed_commands::table.on(applied_to_the_order))
        .filter(orders::store_order_number.like(numbers))
        .group_by(orders::id)
        .select((
            orders::id,
            orders::store_order_number,
            orders::version,
            orders::carrier_reference,
            count(processed_commands::command_id.nullable()),
        ))
        .load(db)
        .await
        .context("reading the run's orders")?;
    Ok(rows
        .into_iter()
        .map(|(id, number, version, carrier_reference, applied_commands)| DbOrder {
            id: id.to_string(),
            number,
            version,
            carrier_reference,
            applied_commands,
        })
        .collect())
}

/// Every timeline entry of the run's orders (store number LIKE `numbers`).
async fn read_timeline(db: &mut AsyncPgConnection, numbers: &str) -> anyhow::Result<Vec<DbTimeline>> {
    let rows: Vec<(Uuid, i64, String, Option<String>)> = order_timeline::table
        .inner_join(orders::table)
        .filter(orders::store_order_number.like(numbers))
        .select((
            order_timeline::order_id,
            order_timeline::version,
            order_timeline::status,
            order_timeline::carrier_status,
        ))
        .load(db)
        .await
        .context("reading the run's order timelines")?;
    Ok(rows
        .into_iter()
        .map(|(order_id, version, status, carrier_status)| DbTimeline {
            order_id: order_id.to_string(),
            version,
            status,
            carrier_status,
        })
        .collect())
}

/// Reads `order_created` and `order_updated` from the beginning up to their ends (the
/// high watermarks when reading started), keeping the events of the run's orders.
fn read_events(kafka: &KafkaConfig, ids: &HashSet<String>, prefix: &str) -> anyhow::Result<Vec<Event>> {
    let (brokers, topic_prefix) = (&kafka.brokers, &kafka.topic_prefix);
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", format!("ordertrack-sim-check-{}", uuid::Uuid::new_v4().simple()))
        .set("enable.auto.commit", "false")
        .set("log_level", "3")
        .create()
        .context("creating a Kafka consumer")?;
    let timeout = Duration::from_secs(10);
    let topics = [Topic::OrderCreated.with_prefix(topic_prefix), Topic::OrderUpdated.with_prefix(topic_prefix)];
    let metadata = consumer.fetch_metadata(None, timeout).with_context(|| format!("reading the broker {brokers}"))?;
    let mut assignment = rdkafka::TopicPartitionList::new();
    let mut ends: HashMap<(String, i32), i64> = HashMap::new();
    for topic in &topics {
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len() as i32)
            .with_context(|| format!("no topic {topic} at {brokers}"))?;
        for partition in 0..partitions {
            let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
            if high > low {
                ends.insert((topic.clone(), partition), high);
                assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
            }
        }
    }
    let mut events = Vec::new();
    if ends.is_empty() {
        return Ok(events);
    }
    consumer.assign(&assignment)?;
    let mut idle_since = Instant::now();
    while !ends.is_empty() {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => {
                idle_since = Instant::now();
                let key = (message.topic().to_owned(), message.partition());
                if ends.get(&key).is_some_and(|end| message.offset() + 1 >= *end) {
                    ends.remove(&key);
                }
                if let Some(event) = message.payload().and_then(|bytes| decode(bytes, ids, prefix)) {
                    events.push(event);
                }
            }
            Some(Err(error)) => anyhow::bail!("reading the order topics: {error}"),
            None if idle_since.elapsed() > Duration::from_secs(30) => {
                anyhow::bail!(
                    "the order topics gave nothing for 30 s before their end ({} partitions left)",
                    ends.len()
                )
            }
            None => {}
        }
    }
    Ok(events)
}

/// Where each of `groups` stands on every partition of its topics (under `topic_prefix`):
/// the partitions' ends are read once, then the groups' committed offsets until each has
/// reached its end or `wait` has passed. Only asks (OffsetFetch); it joins no group, so
/// the services' consumers are not disturbed.
pub fn read_group_offsets(
    kafka: &KafkaConfig,
    groups: &[(&str, &[Topic])],
    wait: Duration,
) -> anyhow::Result<Vec<GroupOffset>> {
    let (brokers, topic_prefix) = (&kafka.brokers, &kafka.topic_prefix);
    let timeout = Duration::from_secs(10);
    let client = |group: &str| -> anyhow::Result<BaseConsumer> {
        kafka
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("log_level", "3")
            .create()
            .context("creating a Kafka consumer")
    };
    let reader = client(&format!("ordertrack-sim-check-{}", uuid::Uuid::new_v4().simple()))?;
    let metadata = reader.fetch_metadata(None, timeout).with_context(|| format!("reading the broker {brokers}"))?;
    let mut ends: HashMap<(String, i32), i64> = HashMap::new();
    let mut asked = Vec::new();
    for (group, topics) in groups {
        let mut partitions = rdkafka::TopicPartitionList::new();
        for topic in topics.iter().map(|t| t.with_prefix(topic_prefix)) {
            let count = metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic)
                .map(|t| t.partitions().len() as i32)
                .with_context(|| format!("no topic {topic} at {brokers}"))?;
            for partition in 0..count {
                if let std::collections::hash_map::Entry::Vacant(entry) = ends.entry((topic.clone(), partition)) {
                    entry.insert(reader.fetch_watermarks(&topic, partition, timeout)?.1);
                }
                partitions.add_partition(&topic, partition);
            }
        }
        asked.push((client(group)?, group.to_string(), partitions));
    }
    let until = Instant::now() + wait;
    let mut said_waiting = false;
    loop {
        let mut offsets = Vec::new();
        for (consumer, group, partitions) in &asked {
            let committed = consumer
                .committed_offsets(partitions.clone(), timeout)
                .with_context(|| format!("reading the committed offsets of group {group}"))?;
            for element in committed.elements() {
                let end = ends.get(&(element.topic().to_owned(), element.partition())).copied().unwrap_or(0);
                let committed = match element.offset() {
                    Offset::Offset(offset) => Some(offset),
                    _ => None,
                };
                offsets.push(GroupOffset {
                    group: group.clone(),
                    topic: element.topic().to_owned(),
                    partition: element.partition(),
                    end,
                    committed,
                });
            }
        }
        let behind = offsets.iter().filter(|o| o.end > 0 && o.committed.is_none_or(|c| c < o.end)).count();
        if behind == 0 || Instant::now() >= until {
            return Ok(offsets);
        }
        if !said_waiting {
            println!(
                "    waiting (up to {} s) for {behind} consumer-group partitions to be read to their end",
                wait.as_secs()
            );
            said_waiting = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The event, if it is one of the run's orders (by id, or by store number: an order the
/// run does not know is still the run's).
fn decode(bytes: &[u8], ids: &HashSet<String>, prefix: &str) -> Option<Event> {
    let envelope = Envelope::decode(bytes).ok()?;
    let (kind, order, transition) = match envelope.payload? {
        Payload::OrderCreated(pb::OrderCreated { order }) => (EventKind::Created, order?, None),
        Payload::OrderUpdated(updated) => (EventKind::Updated, updated.order?, updated.transition),
        _ => return None,
    };
    if !ids.contains(&order.id) && !order.store_order_number.starts_with(prefix) {
        return None;
    }
    let transition =
        transition.and_then(|t| pb::OrderStatus::try_from(t.status).ok()?.to_domain()).map(|s| s.as_str().to_owned());
    Some(Event { event_id: envelope.event_id, kind, order_id: order.id, version: order.version, transition })
}

async fn cdek_orders(double: &str) -> anyhow::Result<Vec<CdekOrder>> {
    let url = format!("{}/control/orders", double.trim_end_matches('/'));
    let orders: Vec<Value> = reqwest::Client::new()
        .get(&url)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()?
        .json()
        .await?;
    Ok(orders
        .iter()
        .filter_map(|o| {
            let number = o.get("number")?.as_str()?.to_owned();
            Some(CdekOrder { number, refused_as_duplicate: refused_as_duplicate(o) })
        })
        .collect())
}

/// Whether CDEK refused this order (INVALID) because its number was registered already.
fn refused_as_duplicate(order: &Value) -> bool {
    let invalid = order.get("status").and_then(Value::as_str) == Some("INVALID");
    let mut errors = order
        .get("requests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|request| request.get("errors").and_then(Value::as_array).into_iter().flatten());
    invalid && errors.any(|error| error.get("code").and_then(Value::as_str) == Some(DUPLICATE_NUMBER))
}

#[cfg(test)]
mod tests {
    use super::super::invariants::groups_read_to_end;
    use super::*;

    #[test]
    fn only_an_invalid_order_with_the_duplicate_number_error_is_a_refused_duplicate() {
        let order = |status: &str, code: &str| {
            serde_json::json!({ "number": "a", "status": status,
                "requests": [{ "state": "INVALID", "errors": [{ "code": code }] }] })
        };
        assert!(refused_as_duplicate(&order("INVALID", DUPLICATE_NUMBER)));
        assert!(!refused_as_duplicate(&order("INVALID", "v2_field_is_empty")));
        assert!(!refused_as_duplicate(&order("DELIVERED", DUPLICATE_NUMBER)));
        assert!(!refused_as_duplicate(&serde_json::json!({ "number": "a", "status": "INVALID" })));
    }

    /// The groups checked are the services' own: each name is a service's configured
    /// `consumer_group`, or that with the suffix of its second consumer.
    #[test]
    fn the_checked_groups_are_the_configured_ones() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../config");
        for (group, topics) in CONSUMER_GROUPS {
            assert!(!topics.is_empty(), "{group}");
            let service = group.strip_suffix("-motion").or_else(|| group.strip_suffix("-locations")).unwrap_or(group);
            let path = root.join(format!("{service}.toml"));
            let config = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let configured = format!("consumer_group = \"{service}\"");
            assert!(config.lines().any(|line| line.trim() == configured), "{} has no `{configured}`", path.display());
        }
    }

    /// Against the real broker: what a group committed, read back and set against the
    /// partition's end, without joining the group.
    #[tokio::test]
    async fn a_groups_committed_offsets_are_read_from_the_broker() {
        use rdkafka::consumer::CommitMode;
        use rdkafka::producer::{FutureProducer, FutureRecord};

        let kafka = test_support::kafka_config("groupcheck");
        test_support::create_system_topics(&kafka).await;
        let topic = kafka.topic(Topic::OrderCommands);
        let producer: FutureProducer = platform::kafka::producer(&kafka, "test").expect("a producer");
        for n in 0..4 {
            let payload = format!("message {n}");
            producer
                .send(FutureRecord::to(&topic).partition(0).key("k").payload(&payload), Duration::from_secs(10))
                .await
                .expect("published");
        }
        let (lagging, silent) = (format!("{}lagging", kafka.topic_prefix), format!("{}silent", kafka.topic_prefix));
        let commit = |group: &str, offset: i64| {
            let consumer: BaseConsumer = kafka
                .client_config()
                .set("group.id", group)
                .set("enable.auto.commit", "false")
                .create()
                .expect("a consumer");
            let mut offsets = rdkafka::TopicPartitionList::new();
            offsets.add_partition_offset(&topic, 0, Offset::Offset(offset)).expect("an offset");
            consumer.commit(&offsets, CommitMode::Sync).expect("committed");
        };
        let read =
            |groups: &[(&str, &[Topic])]| read_group_offsets(&kafka, groups, Duration::from_secs(2)).expect("read");
        let topics: &[Topic] = &[Topic::OrderCommands];

        commit(&lagging, 2);
        let outcome = groups_read_to_end(&read(&[(lagging.as_str(), topics), (silent.as_str(), topics)]));
        assert_eq!(
            outcome.violations,
            [
                format!("group {lagging} on {topic} partition 0: committed 2 of 4 (2 messages unread)"),
                format!("group {silent} on {topic} partition 0: nothing committed, 4 messages unread"),
            ]
        );
        // The second partition holds nothing, so nothing is owed on it.
        assert_eq!(outcome.checked, "2 groups, 4 partitions, 8 messages (the partitions' ends)");

        commit(&lagging, 4);
        let outcome = groups_read_to_end(&read(&[(lagging.as_str(), topics)]));
        assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    }
}
