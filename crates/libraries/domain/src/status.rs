//! The order status machine, written once. Every status change in the system (REST,
//! gRPC, courier tracker, CDEK) goes through [`check_transition`].
//!
//! ```text
//!                 ┌─▶ courier_assigned ──┐ (own courier)
//!   created ──────┤                      ├─▶ picked_up ─▶ in_transit ─▶ arriving ─▶ delivered
//!      │          └─▶ handed_to_carrier ─┘ (CDEK)     │        ▲  │          │
//!      │          └─▶ registration_failed (CDEK)      └────────┼──┴──────────┴─▶ delivery_failed
//!      │                                                       └─────────────────────┘    │
//!      └─ cancelled ◀─ (any status before pickup)           returned ◀─ (after pickup) ◀──┘
//! ```
//!
//! Forward moves along the main line may skip steps (a carrier may report "delivered"
//! without "arriving"); nothing moves backwards; `delivered`, `cancelled` and
//! `returned` are final. Asking for the status an order already has changes nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::parcel::DeliveryMethod;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Created,
    CourierAssigned,
    HandedToCarrier,
    RegistrationFailed,
    PickedUp,
    InTransit,
    Arriving,
    Delivered,
    DeliveryFailed,
    Returned,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 11] = [
        OrderStatus::Created,
        OrderStatus::CourierAssigned,
        OrderStatus::HandedToCarrier,
        OrderStatus::RegistrationFailed,
        OrderStatus::PickedUp,
        OrderStatus::InTransit,
        OrderStatus::Arriving,
        OrderStatus::Delivered,
        OrderStatus::DeliveryFailed,
        OrderStatus::Returned,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::CourierAssigned => "courier_assigned",
            Self::HandedToCarrier => "handed_to_carrier",
            Self::RegistrationFailed => "registration_failed",
            Self::PickedUp => "picked_up",
            Self::InTransit => "in_transit",
            Self::Arriving => "arriving",
            Self::Delivered => "delivered",
            Self::DeliveryFailed => "delivery_failed",
            Self::Returned => "returned",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == value)
    }

    /// No change is possible any more.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled | Self::Returned)
    }

    /// The parcel has not left the sender yet, so the order may still be cancelled.
    pub fn is_before_pickup(&self) -> bool {
        matches!(self, Self::Created | Self::CourierAssigned | Self::HandedToCarrier | Self::RegistrationFailed)
    }

    /// Whether an order at this status is at `other` or further along the main line
    /// (created → courier_assigned / handed_to_carrier → picked_up → in_transit →
    /// arriving → delivered); a status off the main line has reached only itself.
    pub fn has_reached(&self, other: OrderStatus) -> bool {
        match (self.stage(), other.stage()) {
            (Some(now), Some(wanted)) => now >= wanted,
            _ => *self == other,
        }
    }

    /// Position on the main line, for "forward only" checks.
    fn stage(&self) -> Option<u8> {
        match self {
            Self::Created => Some(0),
            Self::CourierAssigned | Self::HandedToCarrier => Some(1),
            Self::PickedUp => Some(2),
            Self::InTransit => Some(3),
            Self::Arriving => Some(4),
            Self::Delivered => Some(5),
            Self::RegistrationFailed | Self::DeliveryFailed | Self::Returned | Self::Cancelled => None,
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Storefront,
    Courier,
    Carrier,
    System,
}

impl Actor {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Storefront => "storefront",
            Self::Courier => "courier",
            Self::Carrier => "carrier",
            Self::System => "system",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Storefront, Self::Courier, Self::Carrier, Self::System].into_iter().find(|a| a.as_str() == value)
    }
}

/// Why a status change is refused. Each has a stable code for APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the order is {status}, a final status")]
    Final { status: OrderStatus },
    #[error("the order is {status}: it can be cancelled only before pickup")]
    TooLateToCancel { status: OrderStatus },
    #[error("an order cannot go from {from} to {to}")]
    Illegal { from: OrderStatus, to: OrderStatus },
    #[error("{to} does not apply to {method} deliveries")]
    NotForDeliveryMethod { to: OrderStatus, method: &'static str },
    #[error("an order becomes courier_assigned by assigning a courier")]
    NeedsCourier,
}

impl TransitionError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Final { .. } => "order_final",
            Self::TooLateToCancel { .. } => "too_late_to_cancel",
            Self::Illegal { .. } => "illegal_transition",
            Self::NotForDeliveryMethod { .. } => "not_for_delivery_method",
            Self::NeedsCourier => "use_assign_courier",
        }
    }
}

/// Whether a requested status changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The order already has this status.
    Unchanged,
    Changed,
}

/// The one place that decides whether an order with `method` may go `from` → `to`.
/// `courier_assigned` is reached only through [`check_assignment`] (it needs a courier).
pub fn check_transition(
    from: OrderStatus,
    to: OrderStatus,
    method: DeliveryMethod,
) -> Result<Transition, TransitionError> {
    use OrderStatus::*;
    if from == to {
        return Ok(Transition::Unchanged);
    }
    if from.is_final() {
        return Err(TransitionError::Final { status: from });
    }
    let cdek = method.is_cdek();
    let illegal = Err(TransitionError::Illegal { from, to });
    let not_for_method = Err(TransitionError::NotForDeliveryMethod { to, method: method.as_str() });
    match to {
        Created => illegal,
        Cancelled if from.is_before_pickup() => Ok(Transition::Changed),
        Cancelled => Err(TransitionError::TooLateToCancel { status: from }),
        CourierAssigned if cdek => not_for_method,
        CourierAssigned => Err(TransitionError::NeedsCourier),
        HandedToCarrier | RegistrationFailed if !cdek => not_for_method,
        HandedToCarrier if matches!(from, Created | RegistrationFailed) => Ok(Transition::Changed),
        RegistrationFailed if from == Created => Ok(Transition::Changed),
        HandedToCarrier | RegistrationFailed => illegal,
        PickedUp | InTransit | Arriving | Delivered => {
            let started = if cdek { HandedToCarrier } else { CourierAssigned };
            let forward = match (from.stage(), to.stage()) {
                (Some(f), Some(t)) => t > f,
                _ => false,
            };
            let reattempt = from == DeliveryFailed && to != PickedUp;
            let from_ok = from == started || matches!(from, PickedUp | InTransit | Arriving) || from == DeliveryFailed;
            if from_ok && (forward || reattempt) { Ok(Transition::Changed) } else { illegal }
        }
        DeliveryFailed if matches!(from, PickedUp | InTransit | Arriving) => Ok(Transition::Changed),
        Returned if matches!(from, PickedUp | InTransit | Arriving | DeliveryFailed) => Ok(Transition::Changed),
        DeliveryFailed | Returned => illegal,
    }
}

/// Whether a courier may be assigned (or reassigned) to an order in `status`.
/// Assigning moves a `created` order to `courier_assigned`; later it only swaps the courier.
pub fn check_assignment(status: OrderStatus, method: DeliveryMethod) -> Result<Option<OrderStatus>, TransitionError> {
    if method.is_cdek() {
        return Err(TransitionError::NotForDeliveryMethod {
            to: OrderStatus::CourierAssigned,
            method: method.as_str(),
        });
    }
    if status.is_final() {
        return Err(TransitionError::Final { status });
    }
    match status {
        OrderStatus::Created => Ok(Some(OrderStatus::CourierAssigned)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    const OWN: DeliveryMethod = DeliveryMethod::OwnCourier;
    const CDEK: DeliveryMethod = DeliveryMethod::Cdek { tariff_code: 136 };

    #[test]
    fn the_own_courier_main_line() {
        for (from, to) in
            [(CourierAssigned, PickedUp), (PickedUp, InTransit), (InTransit, Arriving), (Arriving, Delivered)]
        {
            assert_eq!(check_transition(from, to, OWN), Ok(Transition::Changed), "{from} → {to}");
        }
        assert_eq!(
            check_transition(Created, PickedUp, OWN),
            Err(TransitionError::Illegal { from: Created, to: PickedUp })
        );
        assert_eq!(check_transition(Created, CourierAssigned, OWN), Err(TransitionError::NeedsCourier));
    }

    #[test]
    fn the_cdek_main_line() {
        assert_eq!(check_transition(Created, HandedToCarrier, CDEK), Ok(Transition::Changed));
        assert_eq!(check_transition(HandedToCarrier, Delivered, CDEK), Ok(Transition::Changed), "skips allowed");
        assert_eq!(check_transition(Created, RegistrationFailed, CDEK), Ok(Transition::Changed));
        assert_eq!(check_transition(RegistrationFailed, HandedToCarrier, CDEK), Ok(Transition::Changed));
        assert!(check_transition(Created, HandedToCarrier, OWN).is_err());
        assert!(check_transition(Created, CourierAssigned, CDEK).is_err());
    }

    #[test]
    fn nothing_moves_backwards() {
        assert!(check_transition(Arriving, InTransit, OWN).is_err());
        assert!(check_transition(InTransit, PickedUp, CDEK).is_err());
        assert!(check_transition(PickedUp, HandedToCarrier, CDEK).is_err());
    }

    #[test]
    fn reaching_a_status_follows_the_main_line() {
        assert!(Delivered.has_reached(PickedUp) && PickedUp.has_reached(PickedUp));
        assert!(HandedToCarrier.has_reached(CourierAssigned) && !HandedToCarrier.has_reached(PickedUp));
        assert!(!Cancelled.has_reached(PickedUp) && Cancelled.has_reached(Cancelled));
        assert!(!InTransit.has_reached(DeliveryFailed));
    }

    #[test]
    fn cancel_only_before_pickup() {
        for from in [Created, CourierAssigned] {
            assert_eq!(check_transition(from, Cancelled, OWN), Ok(Transition::Changed));
        }
        assert_eq!(check_transition(HandedToCarrier, Cancelled, CDEK), Ok(Transition::Changed));
        assert_eq!(
            check_transition(PickedUp, Cancelled, OWN),
            Err(TransitionError::TooLateToCancel { status: PickedUp })
        );
        assert_eq!(TransitionError::TooLateToCancel { status: PickedUp }.code(), "too_late_to_cancel");
    }

    #[test]
    fn failed_deliveries_are_retried_or_returned() {
        assert_eq!(check_transition(Arriving, DeliveryFailed, OWN), Ok(Transition::Changed));
        assert_eq!(check_transition(DeliveryFailed, InTransit, OWN), Ok(Transition::Changed));
        assert_eq!(check_transition(DeliveryFailed, Returned, OWN), Ok(Transition::Changed));
        assert!(check_transition(DeliveryFailed, PickedUp, OWN).is_err());
        assert!(check_transition(CourierAssigned, Returned, OWN).is_err());
    }

    #[test]
    fn final_statuses_stay_final() {
        for from in [Delivered, Cancelled, Returned] {
            for to in OrderStatus::ALL {
                let result = check_transition(from, to, OWN);
                if from == to {
                    assert_eq!(result, Ok(Transition::Unchanged));
                } else {
                    assert_eq!(result, Err(TransitionError::Final { status: from }));
                }
            }
        }
    }

    #[test]
    fn statuses_round_trip_as_text() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("lost"), None);
    }
}
