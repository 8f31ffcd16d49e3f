//! The Kafka ACLs of the system, read from the one table that holds them
//! (`crates/tools/admin/kafka-acls.txt`, compiled in; its header tells the format), and
//! spelled out as Kafka ACL bindings: one principal, one resource pattern, one operation,
//! each allowed from any host.

use std::collections::BTreeSet;
use std::fmt;

use domain::topics::Topic;

/// The table, as checked in.
pub const TABLE: &str = include_str!("../kafka-acls.txt");

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Read,
    Write,
    Describe,
    Create,
}

impl Operation {
    fn parse(word: &str) -> Option<Self> {
        match word {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "describe" => Some(Self::Describe),
            "create" => Some(Self::Create),
            _ => None,
        }
    }

    /// The name of Kafka's `AclOperation`.
    pub fn kafka_name(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::Describe => "DESCRIBE",
            Self::Create => "CREATE",
        }
    }
}

/// The kind of thing a grant is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    Topic,
    Group,
}

impl Resource {
    pub fn kafka_name(self) -> &'static str {
        match self {
            Self::Topic => "TOPIC",
            Self::Group => "GROUP",
        }
    }
}

/// How a grant's name matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pattern {
    Literal,
    Prefixed,
}

impl Pattern {
    pub fn kafka_name(self) -> &'static str {
        match self {
            Self::Literal => "LITERAL",
            Self::Prefixed => "PREFIXED",
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// An `allow-local` line: for the local stack of scripts/dev only, never a deployment.
    pub local_only: bool,
    pub user: String,
    pub operations: Vec<Operation>,
    pub resource: Resource,
    pub pattern: Pattern,
    pub names: Vec<String>,
}

/// One Kafka ACL binding: `User:<user>` may do `operation` on the resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Binding {
    pub user: String,
    pub resource: Resource,
    pub pattern: Pattern,
    pub name: String,
    pub operation: Operation,
}

impl fmt::Display for Binding {
    /// `User:<user> <RESOURCE> <PATTERN> <name> <OPERATION>`: the words of Kafka's
    /// `AclBinding`, one binding a line (scripts/kafka/CreateAcls.java reads this).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "User:{} {} {} {} {}",
            self.user,
            self.resource.kafka_name(),
            self.pattern.kafka_name(),
            self.name,
            self.operation.kafka_name()
        )
    }
}

/// Reads the table; an error names the line and what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<Grant>, String> {
    let mut grants = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default();
        let words: Vec<&str> = line.split_whitespace().collect();
        let [kind, rest @ ..] = words.as_slice() else { continue };
        let grant = match *kind {
            "allow" => parse_grant(rest, false),
            "allow-local" => parse_grant(rest, true),
            other => Err(format!("a line of an unknown kind `{other}` (expected `allow` or `allow-local`)")),
        };
        grants.push(grant.map_err(|error| format!("kafka-acls.txt line {}: {error}", number + 1))?);
    }
    if grants.is_empty() {
        return Err("kafka-acls.txt grants nothing".to_owned());
    }
    Ok(grants)
}

fn parse_grant(words: &[&str], local_only: bool) -> Result<Grant, String> {
    let [user, operations, resource, pattern, names @ ..] = words else {
        return Err("expected: allow USER OPERATIONS RESOURCE PATTERN NAME...".to_owned());
    };
    if user.is_empty() || !user.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(format!("user `{user}`: only a-z, 0-9 and -"));
    }
    let operations = operations
        .split(',')
        .map(|word| Operation::parse(word).ok_or_else(|| format!("unknown operation `{word}`")))
        .collect::<Result<Vec<_>, _>>()?;
    let resource = match *resource {
        "topic" => Resource::Topic,
        "group" => Resource::Group,
        other => return Err(format!("unknown resource `{other}` (topic or group)")),
    };
    let pattern = match *pattern {
        "literal" => Pattern::Literal,
        "prefixed" => Pattern::Prefixed,
        other => return Err(format!("unknown pattern `{other}` (literal or prefixed)")),
    };
    if names.is_empty() {
        return Err("no names".to_owned());
    }
    if resource == Resource::Group {
        if let Some(op) = operations.iter().find(|op| !matches!(op, Operation::Read | Operation::Describe)) {
            return Err(format!("a group takes read or describe, not {}", op.kafka_name()));
        }
    }
    if resource == Resource::Topic {
        for name in names {
            let known = *name == "*"
                || Topic::ALL.iter().any(|topic| *name == topic.name() || *name == topic.dlq_with_prefix(""));
            if !known {
                return Err(format!("`{name}` is not a topic of the system, its .dlq, or *"));
            }
            if *name == "*" && pattern == Pattern::Prefixed {
                return Err("`*` is a literal name".to_owned());
            }
        }
    }
    Ok(Grant {
        local_only,
        user: (*user).to_owned(),
        operations,
        resource,
        pattern,
        names: names.iter().map(|name| (*name).to_owned()).collect(),
    })
}

/// The grants of a deployment: without the `allow-local` ones unless `local`.
pub fn for_deployment(grants: Vec<Grant>, local: bool) -> Vec<Grant> {
    grants.into_iter().filter(|grant| local || !grant.local_only).collect()
}

/// Every binding of `grants`, with `topic_prefix` put in front of each topic name (not of
/// `*`, not of group names), sorted and without repeats.
pub fn bindings(grants: &[Grant], topic_prefix: &str) -> Vec<Binding> {
    let mut all = BTreeSet::new();
    for grant in grants {
        for name in &grant.names {
            let name = match grant.resource {
                Resource::Topic if name != "*" => format!("{topic_prefix}{name}"),
                _ => name.clone(),
            };
            for operation in &grant.operations {
                all.insert(Binding {
                    user: grant.user.clone(),
                    resource: grant.resource,
                    pattern: grant.pattern,
                    name: name.clone(),
                    operation: *operation,
                });
            }
        }
    }
    all.into_iter().collect()
}

/// The users the table names, sorted.
pub fn users(grants: &[Grant]) -> Vec<String> {
    grants.iter().map(|grant| grant.user.clone()).collect::<BTreeSet<_>>().into_iter().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn table() -> Vec<Grant> {
        parse(TABLE).expect("the checked-in table parses")
    }

    /// The users allowed `operation` on exactly the topic `name` (a literal grant on it or
    /// on `*`), the simulator left out (a local tool, never in production).
    fn allowed(name: &str, operation: Operation) -> Vec<String> {
        let mut users: Vec<String> = bindings(&table(), "")
            .into_iter()
            .filter(|b| b.resource == Resource::Topic && b.operation == operation)
            .filter(|b| b.name == name || b.name == "*")
            .map(|b| b.user)
            .filter(|user| user != "simulator")
            .collect();
        users.dedup();
        users
    }

    #[test]
    fn writers_and_readers_are_those_of_the_architecture_brief() {
        use Operation::{Read, Write};
        assert_eq!(allowed("order_commands", Write), ["courier-tracker", "logistics-adapter"]);
        assert_eq!(allowed("order_commands", Read), ["order-grpc"]);
        assert_eq!(allowed("courier_locations", Write), ["courier-tracker"]);
        assert_eq!(allowed("courier_locations", Read), ["courier-tracker", "notifier", "order-grpc"]);
        assert_eq!(allowed("order_created", Write), ["order-api", "order-grpc"]);
        assert_eq!(allowed("order_created", Read), ["courier-tracker", "logistics-adapter", "notifier"]);
        assert_eq!(allowed("order_updated", Write), ["order-api", "order-grpc"]);
        assert_eq!(allowed("order_updated", Read), ["courier-tracker", "logistics-adapter", "notifier", "order-grpc"]);
        assert_eq!(allowed("customer_notifications", Write), ["order-api", "order-grpc"]);
        assert_eq!(allowed("customer_notifications", Read), ["notifier"]);
    }

    #[test]
    fn each_reader_may_write_the_dead_letters_of_what_it_reads_and_nothing_reads_them() {
        for topic in Topic::ALL {
            assert_eq!(allowed(&topic.dlq_with_prefix(""), Operation::Write), allowed(topic.name(), Operation::Read));
            assert!(allowed(&topic.dlq_with_prefix(""), Operation::Read).is_empty());
        }
    }

    #[test]
    fn bindings_spell_out_kafka_acls_under_a_prefix() {
        let all = bindings(&table(), "t1_");
        let line = |s: &str| all.iter().any(|b| b.to_string() == s);
        assert!(line("User:courier-tracker TOPIC LITERAL t1_order_commands WRITE"));
        assert!(line("User:notifier GROUP PREFIXED notifier READ"));
        assert!(line("User:simulator TOPIC LITERAL * CREATE"));
        assert!(!line("User:courier-tracker TOPIC LITERAL t1_order_created WRITE"));
        assert_eq!(
            users(&table()),
            ["courier-tracker", "logistics-adapter", "notifier", "order-api", "order-grpc", "simulator"]
        );
        // A deployment never gets the simulator's grants.
        let deployed = for_deployment(table(), false);
        assert!(!users(&deployed).contains(&"simulator".to_owned()));
        assert!(bindings(&deployed, "").iter().all(|b| b.name != "*"));
        assert_eq!(users(&for_deployment(table(), true)), users(&table()));
    }

    #[test]
    fn a_bad_line_is_named() {
        let error = |text: &str| parse(text).unwrap_err();
        assert_eq!(
            error("allow x write topic literal nope\n"),
            "kafka-acls.txt line 1: `nope` is not a topic of the system, its .dlq, or *"
        );
        assert!(
            error("# c\ndeny x read topic literal order_created")
                .starts_with("kafka-acls.txt line 2: a line of an unknown kind")
        );
        assert!(error("allow x write group prefixed g").contains("a group takes read or describe"));
        assert!(error("allow x fly topic literal order_created").contains("unknown operation `fly`"));
        assert!(error("allow X read topic literal order_created").contains("only a-z"));
        assert!(error("allow x read topic literal").contains("no names"));
        assert_eq!(error("# nothing\n"), "kafka-acls.txt grants nothing");
    }
}
