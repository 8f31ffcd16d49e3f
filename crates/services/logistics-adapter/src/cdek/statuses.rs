//! CDEK status codes → ordertrack statuses. The table is documented in
//! `docs/cdek.md`; keep the two in step.
//!
//! CDEK's codes are an open set (new ones arrive as `status_code` 1000, and some
//! integrations see aliases): a code this table does not know maps to no status change
//! and is kept verbatim as the carrier status, so it never fails the mapping.

use domain::status::OrderStatus;

/// What one CDEK status means for the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    /// The ordertrack status it moves the order to, if any.
    pub status: Option<OrderStatus>,
    /// Timeline text for the customer.
    pub text: &'static str,
}

const fn to(status: OrderStatus, text: &'static str) -> Mapped {
    Mapped { status: Some(status), text }
}

const fn note(text: &'static str) -> Mapped {
    Mapped { status: None, text }
}

/// The table: CDEK code → meaning.
pub const TABLE: &[(&str, Mapped)] = &[
    ("ACCEPTED", note("Registration with CDEK is being checked")),
    ("CREATED", to(OrderStatus::HandedToCarrier, "Registered with CDEK")),
    ("INVALID", to(OrderStatus::RegistrationFailed, "CDEK rejected the registration")),
    ("REMOVED", to(OrderStatus::Cancelled, "Cancelled at CDEK")),
    ("RECEIVED_AT_SHIPMENT_WAREHOUSE", to(OrderStatus::PickedUp, "Received at CDEK's warehouse")),
    ("READY_FOR_SHIPMENT_IN_SENDER_CITY", to(OrderStatus::InTransit, "Ready to leave the sender's city")),
    ("READY_TO_SHIP_AT_SENDING_OFFICE", to(OrderStatus::InTransit, "Ready to leave the sender's city")),
    ("TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY", to(OrderStatus::InTransit, "On its way")),
    ("SENT_TO_TRANSIT_CITY", to(OrderStatus::InTransit, "On its way to a transit city")),
    ("ACCEPTED_IN_TRANSIT_CITY", to(OrderStatus::InTransit, "Arrived in a transit city")),
    ("ACCEPTED_AT_TRANSIT_WAREHOUSE", to(OrderStatus::InTransit, "At a transit warehouse")),
    ("READY_FOR_SHIPMENT_IN_TRANSIT_CITY", to(OrderStatus::InTransit, "Ready to leave a transit city")),
    ("TAKEN_BY_TRANSPORTER_FROM_TRANSIT_CITY", to(OrderStatus::InTransit, "On its way")),
    ("SENT_TO_RECIPIENT_CITY", to(OrderStatus::InTransit, "On its way to your city")),
    ("ACCEPTED_IN_RECIPIENT_CITY", to(OrderStatus::InTransit, "Arrived in your city")),
    ("ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE", to(OrderStatus::InTransit, "At the warehouse in your city")),
    ("ENTERED_TO_OFFICE_TRANSIT_WAREHOUSE", to(OrderStatus::InTransit, "At a transit warehouse")),
    ("ENTERED_TO_DELIVERY_WAREHOUSE", to(OrderStatus::InTransit, "At the delivery warehouse")),
    ("ENTERED_TO_WAREHOUSE_ON_DEMAND", to(OrderStatus::InTransit, "Held at a warehouse on demand")),
    ("IN_CUSTOMS_INTERNATIONAL", to(OrderStatus::InTransit, "In customs")),
    ("IN_CUSTOMS_LOCAL", to(OrderStatus::InTransit, "In customs")),
    ("CUSTOMS_COMPLETE", to(OrderStatus::InTransit, "Cleared customs")),
    ("SHIPPED_TO_DESTINATION", to(OrderStatus::InTransit, "Shipped to the destination")),
    ("PASSED_TO_TRANSIT_CARRIER", to(OrderStatus::InTransit, "Passed to a transit carrier")),
    ("ACCEPTED_AT_PICK_UP_POINT", to(OrderStatus::Arriving, "Waiting for you at the pick-up point")),
    ("POSTOMAT_POSTED", to(OrderStatus::Arriving, "Waiting for you in the parcel locker")),
    ("TAKEN_BY_COURIER", to(OrderStatus::Arriving, "Out for delivery")),
    ("DELIVERED", to(OrderStatus::Delivered, "Delivered")),
    ("POSTOMAT_RECEIVED", to(OrderStatus::Delivered, "Collected from the parcel locker")),
    ("NOT_DELIVERED", to(OrderStatus::DeliveryFailed, "Not delivered; returning to the sender")),
    ("POSTOMAT_SEIZED", to(OrderStatus::DeliveryFailed, "Not collected from the parcel locker")),
    ("RETURNED_TO_RECIPIENT_CITY_WAREHOUSE", note("A delivery attempt failed; CDEK will try again")),
    ("RETURNED_TO_TRANSIT_WAREHOUSE", note("Back at a transit warehouse")),
    ("RETURNED_TO_SENDER_CITY_WAREHOUSE", note("Back at the warehouse in the sender's city")),
    ("SENT_TO_SENDER_CITY", note("Returning to the sender's city")),
    ("ACCEPTED_IN_SENDER_CITY", note("Back in the sender's city")),
];

/// What a CDEK code means; an unknown code maps to no status change.
pub fn map(code: &str) -> Mapped {
    TABLE
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code.trim()))
        .map_or(note("Carrier status update"), |(_, mapped)| *mapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_the_facts_file_has_a_meaning_and_unknown_ones_change_nothing() {
        assert_eq!(map("CREATED").status, Some(OrderStatus::HandedToCarrier));
        assert_eq!(map("received_at_shipment_warehouse").status, Some(OrderStatus::PickedUp));
        assert_eq!(map("TAKEN_BY_COURIER").status, Some(OrderStatus::Arriving));
        assert_eq!(map("DELIVERED").status, Some(OrderStatus::Delivered));
        assert_eq!(map("NOT_DELIVERED").status, Some(OrderStatus::DeliveryFailed));
        assert_eq!(map("INVALID").status, Some(OrderStatus::RegistrationFailed));
        let unknown = map("SOMETHING_CDEK_ADDED_LATER");
        assert_eq!(unknown.status, None);
        assert!(!unknown.text.is_empty());
        let mut codes: Vec<&str> = TABLE.iter().map(|(code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len(), "each code once");
    }

    #[test]
    fn the_documented_table_is_this_table() {
        let docs = include_str!("../../../../../docs/cdek.md");
        for (code, mapped) in TABLE {
            let status = mapped.status.map_or("— (timeline entry only)".to_owned(), |s| format!("`{s}`"));
            let row = format!("| `{code}` | {status} | {} |", mapped.text);
            assert!(docs.contains(&row), "docs/cdek.md lacks the row {row}");
        }
    }
}
