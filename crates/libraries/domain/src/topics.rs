//! Kafka topic names. Every service takes its names from here, with the configured
//! prefix (empty in production, unique per test) put in front.

/// The topics of the system, as the architecture brief lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    OrderCreated,
    OrderUpdated,
    OrderCommands,
    CourierLocations,
    CustomerNotifications,
}

impl Topic {
    pub const ALL: [Topic; 5] = [
        Topic::OrderCreated,
        Topic::OrderUpdated,
        Topic::OrderCommands,
        Topic::CourierLocations,
        Topic::CustomerNotifications,
    ];

    /// The topic's base name, without prefix.
    pub fn name(self) -> &'static str {
        match self {
            Topic::OrderCreated => "order_created",
            Topic::OrderUpdated => "order_updated",
            Topic::OrderCommands => "order_commands",
            Topic::CourierLocations => "courier_locations",
            Topic::CustomerNotifications => "customer_notifications",
        }
    }

    /// The full topic name under a prefix.
    pub fn with_prefix(self, prefix: &str) -> String {
        format!("{prefix}{}", self.name())
    }

    /// The dead-letter topic for messages of this topic that could not be processed.
    pub fn dlq_with_prefix(self, prefix: &str) -> String {
        format!("{prefix}{}.dlq", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_brief() {
        let names: Vec<_> = Topic::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(
            names,
            ["order_created", "order_updated", "order_commands", "courier_locations", "customer_notifications"]
        );
        assert_eq!(Topic::OrderCommands.with_prefix("t1_"), "t1_order_commands");
        assert_eq!(Topic::OrderCommands.dlq_with_prefix(""), "order_commands.dlq");
    }
}
