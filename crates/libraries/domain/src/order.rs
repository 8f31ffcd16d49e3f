//! The order aggregate: what an order is, and the one way it changes ([`Order::apply`]),
//! which returns the new state, the timeline entry and what changed, for the store to
//! write and publish together.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer::Customer;
use crate::eta::Eta;
use crate::geo::Place;
use crate::ids::{CourierId, OrderId, StoreId, StoreOrderNumber};
use crate::parcel::{DeliveryMethod, Parcel};
use crate::status::{self, Actor, OrderStatus, Transition, TransitionError};
use crate::validation::{self, FieldError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub id: OrderId,
    pub store_id: StoreId,
    pub store_order_number: StoreOrderNumber,
    pub customer: Customer,
    pub pickup: Place,
    pub destination: Place,
    pub parcels: Vec<Parcel>,
    pub delivery: DeliveryMethod,
    pub status: OrderStatus,
    pub courier_id: Option<CourierId>,
    /// The carrier's reference once registered (the CDEK number).
    pub carrier_reference: Option<String>,
    pub eta: Option<Eta>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 1 at creation, one more with every change.
    pub version: i64,
}

/// One line of an order's timeline: a status it entered, who caused it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    pub status: OrderStatus,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    /// The carrier's own status code, when a carrier caused the change.
    pub carrier_status: Option<String>,
    pub note: Option<String>,
    /// The order's version after this change.
    pub version: i64,
}

/// The carrier's words on a timeline entry as a customer sees them (the tracking page and
/// its socket): the carrier's status code and its text, only on an entry a carrier
/// caused (what other actors note is internal); a blank value is none.
pub fn carrier_words_shown(
    caused_by_carrier: bool,
    carrier_status: Option<&str>,
    note: Option<&str>,
) -> (Option<String>, Option<String>) {
    let shown = |value: Option<&str>| value.filter(|v| caused_by_carrier && !v.trim().is_empty()).map(str::to_owned);
    (shown(carrier_status), shown(note))
}

/// A validated request to create an order.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub store_id: StoreId,
    pub store_order_number: StoreOrderNumber,
    pub customer: Customer,
    pub pickup: Place,
    pub destination: Place,
    pub parcels: Vec<Parcel>,
    pub delivery: DeliveryMethod,
}

impl NewOrder {
    /// Checks what concerns the whole order (each field was validated when parsed).
    pub fn validate(self) -> Result<Self, FieldError> {
        if self.parcels.is_empty() {
            return Err(FieldError::new("parcels", "required", "an order needs at least one parcel"));
        }
        if self.parcels.len() > crate::parcel::MAX_PARCELS {
            return Err(FieldError::new(
                "parcels",
                "too_many",
                format!("at most {} parcels", crate::parcel::MAX_PARCELS),
            ));
        }
        Ok(self)
    }

    /// The order as created, with the first timeline entry.
    pub fn into_order(self, id: OrderId, actor: Actor, now: DateTime<Utc>) -> (Order, TimelineEntry) {
        let order = Order {
            id,
            store_id: self.store_id,
            store_order_number: self.store_order_number,
            customer: self.customer,
            pickup: self.pickup,
            destination: self.destination,
            parcels: self.parcels,
            delivery: self.delivery,
            status: OrderStatus::Created,
            courier_id: None,
            carrier_reference: None,
            eta: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let entry = TimelineEntry {
            status: OrderStatus::Created,
            actor,
            at: now,
            carrier_status: None,
            note: None,
            version: 1,
        };
        (order, entry)
    }
}

/// What may be done to an existing order.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    ChangeStatus {
        to: OrderStatus,
        carrier_status: Option<String>,
        note: Option<String>,
    },
    AssignCourier {
        courier_id: CourierId,
    },
    Cancel {
        reason: Option<String>,
    },
    SetEta {
        eta: Eta,
    },
    SetCarrierReference {
        reference: String,
    },
    /// A carrier's step that changes no status: a timeline entry with the current status.
    RecordCarrierEvent {
        carrier_status: String,
        note: Option<String>,
    },
}

/// Why a command is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

impl CommandError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Transition(error) => error.code(),
            Self::Invalid(error) => error.code,
        }
    }
}

/// What changed in the fields an `order_updated` event lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Status,
    CourierId,
    Eta,
    CarrierReference,
    /// A timeline entry without a status change (a carrier event).
    Timeline,
}

impl Field {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::CourierId => "courier_id",
            Self::Eta => "eta",
            Self::CarrierReference => "carrier_reference",
            Self::Timeline => "timeline",
        }
    }
}

/// An accepted change: the order after it, its timeline entry if the status changed,
/// and what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub order: Order,
    pub transition: Option<TimelineEntry>,
    pub changed: Vec<Field>,
    pub previous_courier: Option<CourierId>,
}

/// The result of applying a command that is allowed.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The order already is as asked: nothing to write, nothing to publish.
    Unchanged,
    Changed(Box<Change>),
}

impl Outcome {
    /// One field changed, without a status change.
    fn field_changed(order: Order, field: Field) -> Self {
        Self::Changed(Box::new(Change { order, transition: None, changed: vec![field], previous_courier: None }))
    }
}

const NOTE_MAX: usize = 500;

fn optional_text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    value.filter(|v| !v.trim().is_empty()).map(|v| validation::text(field, &v, max)).transpose()
}

impl Order {
    /// Applies `command`, caused by `actor` at `at`. Pure: the caller writes the result.
    pub fn apply(&self, command: Command, actor: Actor, at: DateTime<Utc>) -> Result<Outcome, CommandError> {
        match command {
            Command::ChangeStatus { to, carrier_status, note } => {
                let carrier_status = optional_text("carrier_status", carrier_status, 100)?;
                let note = optional_text("note", note, NOTE_MAX)?;
                self.change_status(to, actor, at, carrier_status, note)
            }
            Command::Cancel { reason } => {
                let note = optional_text("reason", reason, NOTE_MAX)?;
                self.change_status(OrderStatus::Cancelled, actor, at, None, note)
            }
            Command::AssignCourier { courier_id } => {
                let new_status = status::check_assignment(self.status, self.delivery)?;
                if new_status.is_none() && self.courier_id.as_ref() == Some(&courier_id) {
                    return Ok(Outcome::Unchanged);
                }
                let mut order = self.next_version(at);
                let previous_courier = order.courier_id.replace(courier_id.clone());
                let mut changed = vec![Field::CourierId];
                let transition = new_status.map(|status| {
                    order.status = status;
                    changed.push(Field::Status);
                    TimelineEntry {
                        status,
                        actor,
                        at,
                        carrier_status: None,
                        note: Some(format!("courier {courier_id}")),
                        version: order.version,
                    }
                });
                Ok(Outcome::Changed(Box::new(Change { order, transition, changed, previous_courier })))
            }
            Command::SetEta { eta } => {
                if self.status.is_final() {
                    return Err(TransitionError::Final { status: self.status }.into());
                }
                if self.eta.is_some_and(|current| current.same_estimate(&eta)) {
                    return Ok(Outcome::Unchanged);
                }
                let mut order = self.next_version(at);
                order.eta = Some(eta);
                Ok(Outcome::field_changed(order, Field::Eta))
            }
            Command::SetCarrierReference { reference } => {
                if self.status.is_final() {
                    return Err(TransitionError::Final { status: self.status }.into());
                }
                if !self.delivery.is_cdek() {
                    return Err(FieldError::new(
                        "carrier_reference",
                        "not_for_delivery_method",
                        "only carrier deliveries have one",
                    )
                    .into());
                }
                let reference = validation::text("carrier_reference", &reference, 100)?;
                if self.carrier_reference.as_deref() == Some(reference.as_str()) {
                    return Ok(Outcome::Unchanged);
                }
                let mut order = self.next_version(at);
                order.carrier_reference = Some(reference);
                Ok(Outcome::field_changed(order, Field::CarrierReference))
            }
            Command::RecordCarrierEvent { carrier_status, note } => {
                let carrier_status = validation::text("carrier_status", &carrier_status, 100)?;
                let note = optional_text("note", note, NOTE_MAX)?;
                Ok(self.carrier_event(actor, at, carrier_status, note))
            }
        }
    }

    /// A timeline entry with the current status: what a carrier did without moving the
    /// order (also on final orders: a carrier may still answer about one).
    fn carrier_event(&self, actor: Actor, at: DateTime<Utc>, carrier_status: String, note: Option<String>) -> Outcome {
        let order = self.next_version(at);
        let entry = TimelineEntry {
            status: order.status,
            actor,
            at,
            carrier_status: Some(carrier_status),
            note,
            version: order.version,
        };
        Outcome::Changed(Box::new(Change {
            order,
            transition: Some(entry),
            changed: vec![Field::Timeline],
            previous_courier: None,
        }))
    }

    fn change_status(
        &self,
        to: OrderStatus,
        actor: Actor,
        at: DateTime<Utc>,
        carrier_status: Option<String>,
        note: Option<String>,
    ) -> Result<Outcome, CommandError> {
        match status::check_transition(self.status, to, self.delivery)? {
            // A carrier reporting another step within the same status (one transit city
            // after another) still adds that step to the timeline.
            Transition::Unchanged => match carrier_status {
                Some(carrier_status) if actor == Actor::Carrier => {
                    Ok(self.carrier_event(actor, at, carrier_status, note))
                }
                _ => Ok(Outcome::Unchanged),
            },
            Transition::Changed => {
                let mut order = self.next_version(at);
                order.status = to;
                let entry = TimelineEntry { status: to, actor, at, carrier_status, note, version: order.version };
                Ok(Outcome::Changed(Box::new(Change {
                    order,
                    transition: Some(entry),
                    changed: vec![Field::Status],
                    previous_courier: None,
                })))
            }
        }
    }

    fn next_version(&self, at: DateTime<Utc>) -> Order {
        let mut order = self.clone();
        order.version += 1;
        order.updated_at = at.max(self.updated_at);
        order
    }
}

#[cfg(test)]
mod carrier_words_tests {
    use super::carrier_words_shown;

    #[test]
    fn only_a_carriers_entry_shows_its_words_and_blanks_are_none() {
        let words = (Some("SENT_TO_RECIPIENT_CITY"), Some("On its way"));
        assert_eq!(
            carrier_words_shown(true, words.0, words.1),
            (Some("SENT_TO_RECIPIENT_CITY".to_owned()), Some("On its way".to_owned()))
        );
        assert_eq!(carrier_words_shown(false, words.0, words.1), (None, None));
        assert_eq!(carrier_words_shown(true, Some(""), Some("  ")), (None, None));
        assert_eq!(carrier_words_shown(true, None, Some("x")), (None, Some("x".to_owned())));
    }
}
