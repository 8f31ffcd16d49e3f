//! The invariants of a load run, each a pure function over what [`super::sources`] read
//! (the orders database, the order topics, the CDEK double, the consumer groups) and what
//! the run recorded (its orders and sockets), and the types they compare.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::load::record::SocketRecord;

/// What one check found.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: &'static str,
    /// What it looked at, in a line of counts.
    pub checked: String,
    pub violations: Vec<String>,
}

/// An order row as the orders database has it.
#[derive(Debug, Clone)]
pub struct DbOrder {
    pub id: String,
    pub number: String,
    pub version: i64,
    pub carrier_reference: Option<String>,
    /// `processed_commands` rows with outcome `applied` for this order.
    pub applied_commands: i64,
}

/// A timeline entry of an order, as the orders database has it.
#[derive(Debug, Clone)]
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

/// An order at the CDEK double, by the number the adapter gave it (the ordertrack id).
#[derive(Debug, Clone)]
pub struct CdekOrder {
    pub number: String,
    /// CDEK refused it because the number was registered already (INVALID with
    /// `error_validate_im_dep_number_has_already_had_integration`): not a registration.
    pub refused_as_duplicate: bool,
}

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
}
