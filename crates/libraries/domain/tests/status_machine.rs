//! Property tests of the status machine through `Order::apply`: whatever sequence of
//! commands arrives, in whatever order, no order reaches an illegal state and final
//! states stay final (a carrier may still add a timeline entry to a final order, but
//! nothing else about it changes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{Duration, TimeZone, Utc};
use domain::customer::Customer;
use domain::eta::{Eta, EtaSource};
use domain::geo::Place;
use domain::ids::{CourierId, OrderId, StoreId, StoreOrderNumber};
use domain::order::{Command, Field, NewOrder, Order, Outcome};
use domain::parcel::{DeliveryMethod, Parcel};
use domain::status::{Actor, OrderStatus, Transition, check_transition};
use proptest::prelude::*;

fn new_order(delivery: DeliveryMethod) -> Order {
    let new = NewOrder {
        store_id: StoreId::parse("shop").unwrap(),
        store_order_number: StoreOrderNumber::parse("A-1").unwrap(),
        customer: Customer::parse("Anna", "+79161234567", "anna@example.com").unwrap(),
        pickup: Place::parse("Warehouse", 55.75, 37.61).unwrap(),
        destination: Place::parse("Home", 55.80, 37.55).unwrap(),
        parcels: vec![Parcel::parse(1000, 10, 10, 10).unwrap()],
        delivery,
    };
    new.validate()
        .unwrap()
        .into_order(OrderId::new(), Actor::Storefront, Utc.timestamp_opt(1_800_000_000, 0).unwrap())
        .0
}

fn delivery() -> impl Strategy<Value = DeliveryMethod> {
    prop_oneof![Just(DeliveryMethod::OwnCourier), Just(DeliveryMethod::Cdek { tariff_code: 136 })]
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![Just(Actor::Storefront), Just(Actor::Courier), Just(Actor::Carrier), Just(Actor::System)]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        4 => proptest::sample::select(OrderStatus::ALL.to_vec())
            .prop_map(|to| Command::ChangeStatus { to, carrier_status: None, note: None }),
        2 => proptest::sample::select(OrderStatus::ALL.to_vec())
            .prop_map(|to| Command::ChangeStatus { to, carrier_status: Some("CDEK_CODE".into()), note: Some("step".into()) }),
        1 => Just(Command::RecordCarrierEvent { carrier_status: "SENT_TO_TRANSIT_CITY".into(), note: None }),
        2 => (0..3u8).prop_map(|n| Command::AssignCourier { courier_id: CourierId::parse(&format!("courier-{n}")).unwrap() }),
        1 => Just(Command::Cancel { reason: Some("customer changed their mind".into()) }),
        1 => (1..120i64).prop_map(|minutes| {
            let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap() + Duration::minutes(minutes);
            Command::SetEta { eta: Eta::new(at, at - Duration::minutes(5), at + Duration::minutes(5), EtaSource::Tracker, at).unwrap() }
        }),
        1 => (0..3u8).prop_map(|n| Command::SetCarrierReference { reference: format!("1000{n}") }),
    ]
}

/// What must hold of every order, whatever happened to it.
fn assert_legal(order: &Order) {
    match order.delivery {
        DeliveryMethod::OwnCourier => {
            assert!(
                !matches!(order.status, OrderStatus::HandedToCarrier | OrderStatus::RegistrationFailed),
                "{:?}",
                order.status
            );
            assert!(order.carrier_reference.is_none());
            let needs_courier = !matches!(order.status, OrderStatus::Created | OrderStatus::Cancelled);
            if needs_courier {
                assert!(order.courier_id.is_some(), "{:?} without a courier", order.status);
            }
        }
        DeliveryMethod::Cdek { .. } => {
            assert_ne!(order.status, OrderStatus::CourierAssigned);
            assert!(order.courier_id.is_none());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_of_commands_reaches_an_illegal_state(
        delivery in delivery(),
        commands in proptest::collection::vec((command(), actor()), 0..40),
    ) {
        let mut order = new_order(delivery);
        let mut statuses = vec![order.status];
        let mut at = order.created_at;
        for (command, actor) in commands {
            at += Duration::seconds(30);
            let before = order.clone();
            match order.apply(command, actor, at) {
                Ok(Outcome::Unchanged) => {}
                Ok(Outcome::Changed(change)) => {
                    let timeline_only = change.changed == [Field::Timeline];
                    prop_assert!(!before.status.is_final() || timeline_only, "a final order changed: {:?} → {:?}", before.status, change.order.status);
                    prop_assert_eq!(change.order.version, before.version + 1);
                    prop_assert!(change.order.updated_at >= before.updated_at);
                    if timeline_only {
                        let entry = change.transition.as_ref().expect("a carrier event has its entry");
                        prop_assert_eq!(entry.status, before.status);
                        prop_assert!(entry.carrier_status.is_some());
                        let mut expected = before.clone();
                        expected.version = change.order.version;
                        expected.updated_at = change.order.updated_at;
                        prop_assert_eq!(&change.order, &expected);
                        order = change.order;
                        continue;
                    }
                    prop_assert_eq!(change.transition.is_some(), change.order.status != before.status);
                    if let Some(entry) = &change.transition {
                        prop_assert_eq!(entry.status, change.order.status);
                        prop_assert_eq!(entry.version, change.order.version);
                        prop_assert_eq!(entry.actor, actor);
                        if entry.status == OrderStatus::Cancelled {
                            prop_assert!(before.status.is_before_pickup(), "cancelled after pickup from {:?}", before.status);
                        }
                        statuses.push(entry.status);
                    }
                    order = change.order;
                }
                Err(_) => prop_assert_eq!(&order, &before),
            }
            assert_legal(&order);
        }
        // The timeline is a path the machine allows, step by step.
        for pair in statuses.windows(2) {
            let allowed = check_transition(pair[0], pair[1], delivery) == Ok(Transition::Changed)
                || (pair[0] == OrderStatus::Created && pair[1] == OrderStatus::CourierAssigned);
            prop_assert!(allowed, "{:?} → {:?} in {:?}", pair[0], pair[1], statuses);
        }
    }

    #[test]
    fn final_states_stay_final(
        delivery in delivery(),
        commands in proptest::collection::vec((command(), actor()), 0..30),
    ) {
        let mut order = new_order(delivery);
        // Drive the order to a final state first.
        let path: &[OrderStatus] = match delivery {
            DeliveryMethod::OwnCourier => &[OrderStatus::PickedUp, OrderStatus::Delivered],
            DeliveryMethod::Cdek { .. } => &[OrderStatus::HandedToCarrier, OrderStatus::Returned],
        };
        let at = order.created_at;
        if delivery == DeliveryMethod::OwnCourier {
            let Outcome::Changed(change) = order.apply(Command::AssignCourier { courier_id: CourierId::parse("c").unwrap() }, Actor::Storefront, at).unwrap() else { panic!() };
            order = change.order;
        }
        for to in path {
            let result = order.apply(Command::ChangeStatus { to: *to, carrier_status: None, note: None }, Actor::System, at);
            if let Ok(Outcome::Changed(change)) = result { order = change.order; }
        }
        if delivery.is_cdek() {
            // handed_to_carrier → returned is not allowed directly; go through pickup.
            for to in [OrderStatus::PickedUp, OrderStatus::Returned] {
                if let Ok(Outcome::Changed(change)) = order.apply(Command::ChangeStatus { to, carrier_status: None, note: None }, Actor::Carrier, at) {
                    order = change.order;
                }
            }
        }
        prop_assert!(order.status.is_final(), "{:?}", order.status);
        let frozen = order.clone();
        for (command, actor) in commands {
            match order.apply(command, actor, at) {
                Ok(Outcome::Changed(change)) => {
                    prop_assert_eq!(&change.changed, &vec![Field::Timeline], "final order changed to {:?}", change.order);
                    prop_assert_eq!(change.order.status, frozen.status);
                    prop_assert_eq!(&change.order.eta, &frozen.eta);
                    prop_assert_eq!(&change.order.carrier_reference, &frozen.carrier_reference);
                    prop_assert_eq!(&change.order.courier_id, &frozen.courier_id);
                }
                Ok(Outcome::Unchanged) | Err(_) => {}
            }
        }
    }
}

#[test]
fn reassigning_swaps_the_courier_and_keeps_the_status() {
    let order = new_order(DeliveryMethod::OwnCourier);
    let at = order.created_at;
    let assign = |order: &Order, id: &str| match order
        .apply(Command::AssignCourier { courier_id: CourierId::parse(id).unwrap() }, Actor::Storefront, at)
        .unwrap()
    {
        Outcome::Changed(change) => *change,
        Outcome::Unchanged => panic!("unchanged"),
    };
    let first = assign(&order, "c1");
    assert_eq!(first.order.status, OrderStatus::CourierAssigned);
    assert!(first.transition.is_some());
    let second = assign(&first.order, "c2");
    assert_eq!(second.order.status, OrderStatus::CourierAssigned);
    assert!(second.transition.is_none());
    assert_eq!(second.previous_courier.as_ref().map(CourierId::as_str), Some("c1"));
    assert_eq!(
        second.order.apply(
            Command::AssignCourier { courier_id: CourierId::parse("c2").unwrap() },
            Actor::Storefront,
            at
        ),
        Ok(Outcome::Unchanged)
    );
}

#[test]
fn cdek_orders_refuse_couriers() {
    let order = new_order(DeliveryMethod::Cdek { tariff_code: 136 });
    let error = order
        .apply(
            Command::AssignCourier { courier_id: CourierId::parse("c1").unwrap() },
            Actor::Storefront,
            order.created_at,
        )
        .unwrap_err();
    assert_eq!(error.code(), "not_for_delivery_method");
}

#[test]
fn a_carrier_step_within_the_same_status_is_kept_in_the_timeline() {
    let order = new_order(DeliveryMethod::Cdek { tariff_code: 136 });
    let at = order.created_at;
    let step = |order: &Order, to, carrier: Option<&str>, actor| {
        order.apply(
            Command::ChangeStatus { to, carrier_status: carrier.map(str::to_owned), note: Some("Moscow".into()) },
            actor,
            at,
        )
    };
    let Ok(Outcome::Changed(handed)) = step(&order, OrderStatus::HandedToCarrier, Some("CREATED"), Actor::Carrier)
    else {
        panic!("handed to carrier")
    };
    // The same status again from the carrier with its own code: a timeline entry only.
    let Ok(Outcome::Changed(again)) =
        step(&handed.order, OrderStatus::HandedToCarrier, Some("ACCEPTED"), Actor::Carrier)
    else {
        panic!("carrier step")
    };
    assert_eq!(again.changed, [Field::Timeline]);
    assert_eq!(again.order.status, OrderStatus::HandedToCarrier);
    let entry = again.transition.unwrap();
    assert_eq!((entry.carrier_status.as_deref(), entry.version), (Some("ACCEPTED"), 3));
    // Without a carrier code, or from someone else, it changes nothing.
    assert_eq!(step(&handed.order, OrderStatus::HandedToCarrier, None, Actor::Carrier), Ok(Outcome::Unchanged));
    assert_eq!(step(&handed.order, OrderStatus::HandedToCarrier, Some("X"), Actor::System), Ok(Outcome::Unchanged));
    // An empty carrier code is refused with a field error.
    let empty =
        handed.order.apply(Command::RecordCarrierEvent { carrier_status: " ".into(), note: None }, Actor::Carrier, at);
    assert!(empty.is_err());
}
