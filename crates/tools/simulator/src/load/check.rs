//! The invariants checked at the end of every load run (and by `ordertrack-sim check
//! --run DIR`): what the orders database, the order topics, the customer sockets and the
//! CDEK double say must agree. Each check is a pure function over what was read, so a
//! unit test can feed it a broken case; [`gather`] reads the real sources.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::topics::Topic;
use prost::Message as _;
use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use serde::Deserialize;
use serde_json::Value;

use super::record::{RunRecord, SocketRecord};

/// The most violations printed per check (all are counted).
const SHOWN: usize = 30;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The `--out` folder of a load run (its run.json).
    #[arg(long)]
    run: PathBuf,
    /// Overrides the broker the run used.
    #[arg(long)]
    brokers: Option<String>,
    /// Overrides the orders database the run used.
    #[arg(long)]
    orders_db: Option<String>,
    /// Overrides the CDEK double's base URL the run used.
    #[arg(long)]
    double: Option<String>,
}

/// `ordertrack-sim check --run DIR`: the invariants of a saved run, again.
pub async fn run(args: CheckArgs) -> anyhow::Result<bool> {
    let mut record = RunRecord::load(&args.run)?;
    if let Some(brokers) = args.brokers {
        record.brokers = brokers;
    }
    if let Some(db) = args.orders_db {
        record.orders_db = db;
    }
    if let Some(double) = args.double {
        record.double = double;
    }
    let outcomes = check_run(&record).await?;
    Ok(print(&outcomes))
}

/// What one check found.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: &'static str,
    /// What it looked at, in a line of counts.
    pub checked: String,
    pub violations: Vec<String>,
}

/// An order row as the orders database has it.
#[derive(Debug, Clone, Deserialize)]
pub struct DbOrder {
    pub id: String,
    pub number: String,
    pub version: i64,
    pub carrier_reference: Option<String>,
    /// `processed_commands` rows with outcome `applied` for this order.
    pub applied_commands: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DbTimeline {
    pub order_id: String,
    pub version: i64,
    pub status: String,
    pub carrier_status: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Updated,
}

/// An `order_created` / `order_updated` event of one of the run's orders, in topic order.
#[derive(Debug, Clone)]
pub struct Event {
    /// The envelope's event id: a message read twice with the same id is one event
    /// delivered twice (the topics are at-least-once), not a second event.
    pub event_id: String,
    pub kind: EventKind,
    pub order_id: String,
    pub version: i64,
    /// The status the transition entered, when the event carries one.
    pub transition: Option<String>,
}

/// Everything the checks compare.
pub struct Gathered {
    pub orders: Vec<DbOrder>,
    pub timeline: Vec<DbTimeline>,
    pub events: Vec<Event>,
    /// Every order the CDEK double holds.
    pub cdek_orders: Vec<CdekOrder>,
    /// Where each consumer group of the services stands on each partition it reads.
    pub group_offsets: Vec<GroupOffset>,
}

/// A consumer group's committed offset on one partition of a topic it reads.
#[derive(Debug, Clone)]
pub struct GroupOffset {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    /// The partition's end (high watermark) when the check began, after the run drained.
    pub end: i64,
    /// The offset the group committed (the next message it would read); `None` when it
    /// has committed none on this partition.
    pub committed: Option<i64>,
}

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

/// An order at the CDEK double, by the number the adapter gave it (the ordertrack id).
#[derive(Debug, Clone)]
pub struct CdekOrder {
    pub number: String,
    /// CDEK refused it because the number was registered already (INVALID with
    /// `error_validate_im_dep_number_has_already_had_integration`): not a registration.
    pub refused_as_duplicate: bool,
}

/// The error CDEK gives a second registration of a number (docs/cdek-api.md).
const DUPLICATE_NUMBER: &str = "error_validate_im_dep_number_has_already_had_integration";

pub async fn check_run(record: &RunRecord) -> anyhow::Result<Vec<Outcome>> {
    let gathered = gather(record).await?;
    Ok(check_all(record, &gathered))
}

pub fn check_all(record: &RunRecord, g: &Gathered) -> Vec<Outcome> {
    let created: Vec<String> = record.orders.iter().map(|o| o.id.clone()).collect();
    let cdek: Vec<String> = record.orders.iter().filter(|o| o.cdek).map(|o| o.id.clone()).collect();
    vec![
        events_follow_changes(&created, &g.orders, &g.events),
        no_event_without_change(&g.orders, &g.timeline, &g.events),
        sockets_saw_every_status(&record.sockets, &g.timeline),
        no_command_applied_twice(&created, &g.orders, &g.timeline),
        cdek_registered_once(&cdek, &g.orders, &g.cdek_orders),
        groups_read_to_end(&g.group_offsets),
    ]
}

/// Prints each check and its violations; answers whether all hold.
pub fn print(outcomes: &[Outcome]) -> bool {
    println!("==> invariants");
    let mut ok = true;
    for outcome in outcomes {
        let verdict = if outcome.violations.is_empty() { "ok" } else { "VIOLATED" };
        println!("    {:<8} {}: {}", verdict, outcome.name, outcome.checked);
        for violation in outcome.violations.iter().take(SHOWN) {
            println!("             - {violation}");
        }
        if outcome.violations.len() > SHOWN {
            println!("             ... and {} more", outcome.violations.len() - SHOWN);
        }
        ok &= outcome.violations.is_empty();
    }
    ok
}

// ------------------------------------------------------------------ the checks

/// Invariant 1: Every created order has exactly one `order_created` and one `order_updated` per
/// change (versions 2..=the row's version), in version order.
///
/// Events are told apart by their event id. The topics are at-least-once (ARCHITECTURE.md):
/// when the outbox relay cannot record that the broker took a row (Postgres crashed in
/// between) it publishes the row again, with the same event id, and every consumer skips
/// it. Such redeliveries are counted, not violations; two events with different ids for
/// one change are (the change was announced twice). The order is that of each event's
/// first delivery.
pub fn events_follow_changes(created: &[String], orders: &[DbOrder], events: &[Event]) -> Outcome {
    let rows: HashMap<&str, &DbOrder> = orders.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut by_order: HashMap<&str, Vec<&Event>> = HashMap::new();
    let mut delivered = HashSet::new();
    let mut redelivered = 0;
    for event in events {
        if delivered.insert(event.event_id.as_str()) {
            by_order.entry(event.order_id.as_str()).or_default().push(event);
        } else {
            redelivered += 1;
        }
    }
    let mut violations = Vec::new();
    let mut changes = 0;
    for id in created {
        let Some(row) = rows.get(id.as_str()) else {
            violations.push(format!("order {id}: created (the API answered) but not in the orders database"));
            continue;
        };
        changes += row.version - 1;
        let empty = Vec::new();
        let events = by_order.get(id.as_str()).unwrap_or(&empty);
        let created_events = events.iter().filter(|e| e.kind == EventKind::Created).count();
        if created_events != 1 {
            violations.push(format!("order {id}: {created_events} order_created events (expected 1)"));
        }
        let versions: Vec<i64> = events.iter().filter(|e| e.kind == EventKind::Updated).map(|e| e.version).collect();
        let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
        for version in &versions {
            *seen.entry(*version).or_default() += 1;
        }
        let missing: Vec<i64> = (2..=row.version).filter(|v| !seen.contains_key(v)).collect();
        let doubled: Vec<i64> = seen.iter().filter(|(_, n)| **n > 1).map(|(v, _)| *v).collect();
        if !missing.is_empty() {
            violations.push(format!(
                "order {id}: no order_updated for versions {missing:?} (row at version {})",
                row.version
            ));
        }
        if !doubled.is_empty() {
            violations.push(format!("order {id}: more than one order_updated event for versions {doubled:?}"));
        }
        if versions.windows(2).any(|pair| matches!(pair, [a, b] if b < a)) {
            violations.push(format!("order {id}: order_updated out of version order: {versions:?}"));
        }
    }
    Outcome {
        name: "one event per change, in order",
        checked: format!(
            "{} orders, {} changes, {} events ({redelivered} of them delivered again with the same event id)",
            created.len(),
            changes,
            events.len()
        ),
        violations,
    }
}

/// Invariant 2: No event without its database change: the order exists, the event's version is at
/// most the row's, and a status transition is the timeline's entry of that version.
pub fn no_event_without_change(orders: &[DbOrder], timeline: &[DbTimeline], events: &[Event]) -> Outcome {
    let rows: HashMap<&str, &DbOrder> = orders.iter().map(|o| (o.id.as_str(), o)).collect();
    let entries: HashMap<(&str, i64), &DbTimeline> =
        timeline.iter().map(|t| ((t.order_id.as_str(), t.version), t)).collect();
    let mut violations = Vec::new();
    for event in events {
        let id = event.order_id.as_str();
        let Some(row) = rows.get(id) else {
            violations
                .push(format!("order {id}: an event (version {}) but no such order in the database", event.version));
            continue;
        };
        if event.version > row.version {
            violations.push(format!(
                "order {id}: an event of version {} but the row is at version {}",
                event.version, row.version
            ));
        }
        if event.kind == EventKind::Created && event.version != 1 {
            violations.push(format!("order {id}: order_created at version {}", event.version));
        }
        if let Some(status) = &event.transition {
            match entries.get(&(id, event.version)) {
                Some(entry) if &entry.status == status => {}
                Some(entry) => violations.push(format!(
                    "order {id}: the event of version {} entered {status}, the timeline says {}",
                    event.version, entry.status
                )),
                None => violations.push(format!(
                    "order {id}: the event of version {} entered {status}, no timeline entry",
                    event.version
                )),
            }
        }
    }
    let transitions = events.iter().filter(|e| e.transition.is_some()).count();
    Outcome {
        name: "no event without its change",
        checked: format!(
            "{} events ({} transitions) against {} timeline entries",
            events.len(),
            transitions,
            timeline.len()
        ),
        violations,
    }
}

/// Invariant 3: Every customer socket got every status of its order's timeline, in a message or in
/// a refetch made after a gap marker.
pub fn sockets_saw_every_status(sockets: &[SocketRecord], timeline: &[DbTimeline]) -> Outcome {
    let mut statuses: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for entry in timeline {
        statuses.entry(entry.order_id.as_str()).or_default().insert(entry.status.as_str());
    }
    let mut violations = Vec::new();
    let mut expected = 0;
    for (n, socket) in sockets.iter().enumerate() {
        let shown: HashSet<&str> = socket.received.iter().chain(&socket.refetched).map(String::as_str).collect();
        let Some(wanted) = statuses.get(socket.order_id.as_str()) else {
            violations.push(format!("socket {n} of order {}: the order has no timeline", socket.order_id));
            continue;
        };
        expected += wanted.len();
        let missed: Vec<&str> = wanted.iter().filter(|s| !shown.contains(*s)).copied().collect();
        if !missed.is_empty() {
            violations.push(format!(
                "socket {n} of order {}: never shown {missed:?} (received {:?}, refetched {:?})",
                socket.order_id, socket.received, socket.refetched
            ));
        }
    }
    let gaps: u64 = sockets.iter().map(|s| s.gaps).sum();
    let refetches: u64 = sockets.iter().map(|s| s.refetches).sum();
    Outcome {
        name: "every socket saw every status",
        checked: format!("{} sockets, {expected} statuses to see, {gaps} gaps, {refetches} refetches", sockets.len()),
        violations,
    }
}

/// Invariant 4: No command applied twice: no order row beyond the ones created (a doubled create),
/// no repeated transition in a timeline, no more applied commands than changes.
pub fn no_command_applied_twice(created: &[String], orders: &[DbOrder], timeline: &[DbTimeline]) -> Outcome {
    let known: HashSet<&str> = created.iter().map(String::as_str).collect();
    let mut violations = Vec::new();
    let mut numbers: HashMap<&str, usize> = HashMap::new();
    for row in orders {
        *numbers.entry(row.number.as_str()).or_default() += 1;
        if !known.contains(row.id.as_str()) {
            violations
                .push(format!("order {} ({}): in the database but the run never got it created", row.id, row.number));
        }
        if row.applied_commands > row.version - 1 {
            violations.push(format!(
                "order {}: {} commands applied but only {} changes",
                row.id,
                row.applied_commands,
                row.version - 1
            ));
        }
    }
    for (number, count) in numbers {
        if count > 1 {
            violations.push(format!("store order number {number}: {count} orders"));
        }
    }
    let mut steps: HashMap<(&str, &str, Option<&str>), Vec<i64>> = HashMap::new();
    for entry in timeline {
        steps
            .entry((entry.order_id.as_str(), entry.status.as_str(), entry.carrier_status.as_deref()))
            .or_default()
            .push(entry.version);
    }
    let mut repeated: Vec<String> = steps
        .iter()
        .filter(|(_, versions)| versions.len() > 1)
        .map(|((id, status, carrier), versions)| {
            format!(
                "order {id}: {status}{} entered {} times (versions {versions:?})",
                carrier.map(|c| format!(" ({c})")).unwrap_or_default(),
                versions.len()
            )
        })
        .collect();
    repeated.sort();
    violations.extend(repeated);
    let applied: i64 = orders.iter().map(|o| o.applied_commands).sum();
    Outcome {
        name: "no command applied twice",
        checked: format!("{} orders, {} timeline entries, {applied} applied commands", orders.len(), timeline.len()),
        violations,
    }
}

/// Invariant 5: Every CDEK order registered once: the double holds each at most once, and exactly
/// once when the order got a CDEK number. A second registration that CDEK refused as a
/// duplicate number is not a registration (the adapter retries a registration whose answer
/// never came only after looking the number up, and the late first request can still
/// arrive after the retry: CDEK keeps one); those are counted.
pub fn cdek_registered_once(cdek: &[String], orders: &[DbOrder], at_cdek: &[CdekOrder]) -> Outcome {
    let rows: HashMap<&str, &DbOrder> = orders.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for order in at_cdek.iter().filter(|o| !o.refused_as_duplicate) {
        *counts.entry(order.number.as_str()).or_default() += 1;
    }
    let wanted: HashSet<&str> = cdek.iter().map(String::as_str).collect();
    let refused = at_cdek.iter().filter(|o| o.refused_as_duplicate && wanted.contains(o.number.as_str())).count();
    let mut violations = Vec::new();
    let mut registered = 0;
    for id in cdek {
        let count = counts.get(id.as_str()).copied().unwrap_or(0);
        let has_number = rows.get(id.as_str()).is_some_and(|o| o.carrier_reference.is_some());
        if count > 1 {
            violations.push(format!("order {id}: registered {count} times at CDEK"));
        } else if count == 0 && has_number {
            violations.push(format!("order {id}: has a CDEK number but CDEK does not hold it"));
        }
        registered += usize::from(count > 0);
    }
    Outcome {
        name: "every CDEK order registered once",
        checked: format!(
            "{} CDEK orders, {registered} at the double ({refused} second registrations refused by CDEK as duplicates)",
            cdek.len()
        ),
        violations,
    }
}

/// Invariant 6: Nothing left unread: once the run is drained, every consumer group of the
/// services has committed, on every partition of the topics it reads, at least the end the
/// partition had when the check began. An event published but never consumed (a consumer
/// stuck on a message, or a group left with partitions nobody reads after a member was
/// killed and started again) is lost to that service although every other check holds.
pub fn groups_read_to_end(offsets: &[GroupOffset]) -> Outcome {
    let mut violations = Vec::new();
    let mut messages = 0;
    for offset in offsets {
        messages += offset.end;
        let place = format!("group {} on {} partition {}", offset.group, offset.topic, offset.partition);
        match offset.committed {
            Some(committed) if committed >= offset.end => {}
            Some(committed) => violations.push(format!(
                "{place}: committed {committed} of {} ({} messages unread)",
                offset.end,
                offset.end - committed
            )),
            None if offset.end == 0 => {}
            None => violations.push(format!("{place}: nothing committed, {} messages unread", offset.end)),
        }
    }
    let groups: BTreeSet<&str> = offsets.iter().map(|o| o.group.as_str()).collect();
    Outcome {
        name: "every consumer group read its topics to the end",
        checked: format!(
            "{} groups, {} partitions, {messages} messages (the partitions' ends)",
            groups.len(),
            offsets.len()
        ),
        violations,
    }
}

// ------------------------------------------------------------------ reading the sources

pub async fn gather(record: &RunRecord) -> anyhow::Result<Gathered> {
    let prefix = record.number_prefix();
    anyhow::ensure!(
        prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "the run's tag {:?} is not a load run's",
        record.tag
    );
    wait_outbox_empty(&record.orders_db, &prefix).await?;
    let orders: Vec<DbOrder> = psql_json(
        &record.orders_db,
        &format!(
            "SELECT o.id::text AS id, o.store_order_number AS number, o.version, o.carrier_reference, \
             (SELECT count(*) FROM processed_commands p WHERE p.order_id = o.id AND p.outcome = 'applied') AS applied_commands \
             FROM orders o WHERE o.store_order_number LIKE '{prefix}%'"
        ),
    )
    .await?;
    let timeline: Vec<DbTimeline> = psql_json(
        &record.orders_db,
        &format!(
            "SELECT t.order_id::text AS order_id, t.version, t.status, t.carrier_status FROM order_timeline t \
             JOIN orders o ON o.id = t.order_id WHERE o.store_order_number LIKE '{prefix}%'"
        ),
    )
    .await?;
    let mut ids: HashSet<String> = record.orders.iter().map(|o| o.id.clone()).collect();
    ids.extend(orders.iter().map(|o| o.id.clone()));
    let (brokers, topic_prefix) = (record.brokers.clone(), record.topic_prefix.clone());
    let events = tokio::task::spawn_blocking(move || read_events(&brokers, &topic_prefix, &ids, &prefix)).await??;
    let cdek_orders =
        if record.orders.iter().any(|o| o.cdek) { cdek_orders(&record.double).await? } else { Vec::new() };
    let (brokers, topic_prefix) = (record.brokers.clone(), record.topic_prefix.clone());
    let group_offsets = tokio::task::spawn_blocking(move || {
        read_group_offsets(&brokers, &topic_prefix, &CONSUMER_GROUPS, GROUPS_CATCH_UP)
    })
    .await??;
    Ok(Gathered { orders, timeline, events, cdek_orders, group_offsets })
}

/// Runs a query through `psql` and parses its rows (as a JSON array).
async fn psql_json<T: serde::de::DeserializeOwned>(url: &str, query: &str) -> anyhow::Result<Vec<T>> {
    let sql = format!("SELECT coalesce(json_agg(q), '[]'::json) FROM ({query}) q");
    let output = tokio::process::Command::new("psql")
        .args([url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", &sql])
        .output()
        .await
        .context("running psql (the invariant checks read the orders database with it)")?;
    anyhow::ensure!(output.status.success(), "psql: {}", String::from_utf8_lossy(&output.stderr).trim());
    serde_json::from_slice(&output.stdout).context("psql's answer is not the expected JSON")
}

/// Waits (up to 60 s) until the outbox holds no event of the run's orders, so every
/// change is on the topics before they are read.
async fn wait_outbox_empty(url: &str, prefix: &str) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let query = format!(
        "SELECT count(*) AS n FROM outbox WHERE message_key IN \
         (SELECT id::text FROM orders WHERE store_order_number LIKE '{prefix}%')"
    );
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let pending = psql_json::<Count>(url, &query).await?.first().map_or(0, |c| c.n);
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

/// Reads `order_created` and `order_updated` from the beginning up to their ends (the
/// high watermarks when reading started), keeping the events of the run's orders.
fn read_events(brokers: &str, topic_prefix: &str, ids: &HashSet<String>, prefix: &str) -> anyhow::Result<Vec<Event>> {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
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
    brokers: &str,
    topic_prefix: &str,
    groups: &[(&str, &[Topic])],
    wait: Duration,
) -> anyhow::Result<Vec<GroupOffset>> {
    let timeout = Duration::from_secs(10);
    let client = |group: &str| -> anyhow::Result<BaseConsumer> {
        rdkafka::ClientConfig::new()
            .set("bootstrap.servers", brokers)
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
    use super::*;

    fn order(id: &str, version: i64) -> DbOrder {
        DbOrder { id: id.into(), number: format!("load-t-{id}"), version, carrier_reference: None, applied_commands: 0 }
    }

    fn entry(id: &str, version: i64, status: &str) -> DbTimeline {
        DbTimeline { order_id: id.into(), version, status: status.into(), carrier_status: None }
    }

    fn event(kind: EventKind, id: &str, version: i64, transition: Option<&str>) -> Event {
        Event {
            event_id: format!("{id}-{version}-{kind:?}"),
            kind,
            order_id: id.into(),
            version,
            transition: transition.map(str::to_owned),
        }
    }

    /// The same change announced by a second event (another id).
    fn again(mut event: Event) -> Event {
        event.event_id.push_str("-again");
        event
    }

    fn good_events() -> Vec<Event> {
        vec![
            event(EventKind::Created, "a", 1, None),
            event(EventKind::Updated, "a", 2, Some("courier_assigned")),
            event(EventKind::Updated, "a", 3, Some("delivered")),
        ]
    }

    fn good_timeline() -> Vec<DbTimeline> {
        vec![entry("a", 1, "created"), entry("a", 2, "courier_assigned"), entry("a", 3, "delivered")]
    }

    #[test]
    fn events_follow_changes_holds_for_a_clean_order_and_names_each_breach() {
        let created = vec!["a".to_owned()];
        assert!(events_follow_changes(&created, &[order("a", 3)], &good_events()).violations.is_empty());

        let mut missing = good_events();
        missing.remove(1);
        let found = events_follow_changes(&created, &[order("a", 3)], &missing).violations;
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("order a") && found[0].contains("[2]"), "{found:?}");

        let mut doubled = good_events();
        doubled.push(again(event(EventKind::Created, "a", 1, None)));
        doubled.push(again(event(EventKind::Updated, "a", 3, Some("delivered"))));
        let found = events_follow_changes(&created, &[order("a", 3)], &doubled).violations;
        assert!(found.iter().any(|v| v.contains("2 order_created")), "{found:?}");
        assert!(found.iter().any(|v| v.contains("more than one order_updated event for versions [3]")), "{found:?}");

        // The relay published versions 2 and 3, could not record it, and published both
        // again: the same events twice, in order at their first delivery.
        let mut redelivered = good_events();
        redelivered.extend(good_events().into_iter().skip(1));
        let outcome = events_follow_changes(&created, &[order("a", 3)], &redelivered);
        assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
        assert!(outcome.checked.contains("(2 of them delivered again"), "{}", outcome.checked);

        let mut swapped = good_events();
        swapped.swap(1, 2);
        let found = events_follow_changes(&created, &[order("a", 3)], &swapped).violations;
        assert!(found.iter().any(|v| v.contains("out of version order")), "{found:?}");

        let found = events_follow_changes(&["b".to_owned()], &[order("a", 3)], &good_events()).violations;
        assert!(found.iter().any(|v| v.contains("order b") && v.contains("not in the orders database")), "{found:?}");
    }

    #[test]
    fn an_event_without_its_change_is_reported() {
        assert!(no_event_without_change(&[order("a", 3)], &good_timeline(), &good_events()).violations.is_empty());

        let found = no_event_without_change(&[order("a", 2)], &good_timeline(), &good_events()).violations;
        assert!(found.iter().any(|v| v.contains("version 3 but the row is at version 2")), "{found:?}");

        let mut timeline = good_timeline();
        timeline.pop();
        let found = no_event_without_change(&[order("a", 3)], &timeline, &good_events()).violations;
        assert!(found.iter().any(|v| v.contains("entered delivered, no timeline entry")), "{found:?}");

        let mut events = good_events();
        events.push(event(EventKind::Updated, "ghost", 2, None));
        let found = no_event_without_change(&[order("a", 3)], &good_timeline(), &events).violations;
        assert!(found.iter().any(|v| v.contains("order ghost")), "{found:?}");
    }

    #[test]
    fn a_socket_that_missed_a_status_is_reported_unless_a_refetch_showed_it() {
        let socket = |received: &[&str], refetched: &[&str]| SocketRecord {
            order_id: "a".into(),
            received: received.iter().map(|s| (*s).to_owned()).collect(),
            refetched: refetched.iter().map(|s| (*s).to_owned()).collect(),
            ..SocketRecord::default()
        };
        let complete = socket(&["created", "courier_assigned", "delivered"], &[]);
        let caught_up = socket(&["created"], &["created", "courier_assigned", "delivered"]);
        assert!(sockets_saw_every_status(&[complete, caught_up], &good_timeline()).violations.is_empty());

        let missed = socket(&["created", "courier_assigned"], &["created"]);
        let found = sockets_saw_every_status(&[missed], &good_timeline()).violations;
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("order a") && found[0].contains("delivered"), "{found:?}");
    }

    #[test]
    fn a_command_applied_twice_or_a_doubled_order_is_reported() {
        let created = vec!["a".to_owned()];
        assert!(no_command_applied_twice(&created, &[order("a", 3)], &good_timeline()).violations.is_empty());

        let mut timeline = good_timeline();
        timeline.push(entry("a", 4, "delivered"));
        let found = no_command_applied_twice(&created, &[order("a", 4)], &timeline).violations;
        assert!(found.iter().any(|v| v.contains("delivered entered 2 times")), "{found:?}");

        let mut twin = order("b", 1);
        twin.number = order("a", 1).number;
        let found = no_command_applied_twice(&created, &[order("a", 3), twin], &good_timeline()).violations;
        assert!(found.iter().any(|v| v.contains("order b") && v.contains("never got it created")), "{found:?}");
        assert!(found.iter().any(|v| v.contains("2 orders")), "{found:?}");

        let mut busy = order("a", 3);
        busy.applied_commands = 3;
        let found = no_command_applied_twice(&created, &[busy], &good_timeline()).violations;
        assert!(found.iter().any(|v| v.contains("3 commands applied but only 2 changes")), "{found:?}");
    }

    #[test]
    fn a_cdek_order_registered_twice_or_lost_is_reported() {
        let cdek = vec!["a".to_owned(), "b".to_owned()];
        let mut registered = order("a", 3);
        registered.carrier_reference = Some("1100000001".into());
        let orders = vec![registered, order("b", 2)];
        let at_cdek = |numbers: &[(&str, bool)]| -> Vec<CdekOrder> {
            numbers
                .iter()
                .map(|(number, refused)| CdekOrder { number: (*number).to_owned(), refused_as_duplicate: *refused })
                .collect()
        };
        assert!(cdek_registered_once(&cdek, &orders, &at_cdek(&[("a", false), ("x", false)])).violations.is_empty());

        let found = cdek_registered_once(&cdek, &orders, &at_cdek(&[("a", false), ("a", false)])).violations;
        assert!(found.iter().any(|v| v.contains("order a: registered 2 times")), "{found:?}");

        // The late first request refused as a duplicate of the retry: one registration.
        let outcome = cdek_registered_once(&cdek, &orders, &at_cdek(&[("a", false), ("a", true)]));
        assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
        assert!(outcome.checked.contains("(1 second registrations refused"), "{}", outcome.checked);

        let found = cdek_registered_once(&cdek, &orders, &[]).violations;
        assert!(found.iter().any(|v| v.contains("order a: has a CDEK number")), "{found:?}");
        let found = cdek_registered_once(&cdek, &orders, &at_cdek(&[("a", true)])).violations;
        assert!(found.iter().any(|v| v.contains("order a: has a CDEK number")), "{found:?}");
    }

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

    fn at(group: &str, partition: i32, end: i64, committed: Option<i64>) -> GroupOffset {
        GroupOffset { group: group.into(), topic: "order_commands".into(), partition, end, committed }
    }

    #[test]
    fn a_group_short_of_its_topics_end_is_reported() {
        let caught_up = [at("a", 0, 10, Some(10)), at("a", 1, 0, None), at("b", 0, 10, Some(12))];
        let outcome = groups_read_to_end(&caught_up);
        assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
        assert_eq!(outcome.checked, "2 groups, 3 partitions, 20 messages (the partitions' ends)");

        let outcome = groups_read_to_end(&[at("a", 0, 8296, Some(4605)), at("b", 1, 3, None), at("c", 0, 5, Some(5))]);
        assert_eq!(
            outcome.violations,
            [
                "group a on order_commands partition 0: committed 4605 of 8296 (3691 messages unread)",
                "group b on order_commands partition 1: nothing committed, 3 messages unread",
            ]
        );
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
            let consumer: BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", &kafka.brokers)
                .set("group.id", group)
                .set("enable.auto.commit", "false")
                .create()
                .expect("a consumer");
            let mut offsets = rdkafka::TopicPartitionList::new();
            offsets.add_partition_offset(&topic, 0, Offset::Offset(offset)).expect("an offset");
            consumer.commit(&offsets, CommitMode::Sync).expect("committed");
        };
        let read = |groups: &[(&str, &[Topic])]| {
            read_group_offsets(&kafka.brokers, &kafka.topic_prefix, groups, Duration::from_secs(2)).expect("read")
        };
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
