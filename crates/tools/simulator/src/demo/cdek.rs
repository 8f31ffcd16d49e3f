//! CDEK orders: the logistics adapter registers them at CDEK (here the double) by itself;
//! the demo then plays CDEK, recording a plausible run of statuses at the double a few
//! seconds apart. Each status reaches the order through the double's webhook and the
//! adapter, and the demo waits to see the order move before it records the next.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;

use super::Demo;
use super::api::retry;
use super::console::Counters;

/// Where CDEK reports a status from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    SenderCity,
    RecipientCity,
}

/// One CDEK status of the run and the ordertrack status it moves the order to (per
/// `docs/cdek.md`), if any.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub code: &'static str,
    pub place: Place,
    pub becomes: &'static str,
}

const fn step(code: &'static str, place: Place, becomes: &'static str) -> Step {
    Step { code, place, becomes }
}

/// A parcel's way from a Moscow warehouse to the customer's door in another city.
pub const SEQUENCE: [Step; 7] = [
    step("RECEIVED_AT_SHIPMENT_WAREHOUSE", Place::SenderCity, "picked_up"),
    step("READY_FOR_SHIPMENT_IN_SENDER_CITY", Place::SenderCity, "in_transit"),
    step("TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY", Place::SenderCity, "in_transit"),
    step("SENT_TO_RECIPIENT_CITY", Place::SenderCity, "in_transit"),
    step("ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE", Place::RecipientCity, "in_transit"),
    step("TAKEN_BY_COURIER", Place::RecipientCity, "arriving"),
    step("DELIVERED", Place::RecipientCity, "delivered"),
];

/// The sender's city, as CDEK names it.
const SENDER_CITY: &str = "Москва";
/// The pause between two statuses (seconds).
const PAUSE_SECS: std::ops::RangeInclusive<u64> = 4..=8;
/// How long registration at CDEK may take (the double's processing and the adapter's poll).
const REGISTRATION_WAIT: Duration = Duration::from_secs(120);
/// How long a status may take to reach the order.
const STATUS_WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_secs(1);

/// A created CDEK order for the demo to move on.
pub struct Parcel {
    pub n: u64,
    pub id: String,
    /// The recipient's city, as CDEK names it.
    pub city: &'static str,
}

/// Plays CDEK for one order until it is delivered, given up or the demo stops.
pub async fn follow(demo: Arc<Demo>, parcel: Parcel, mut rng: StdRng) {
    let n = parcel.n;
    demo.ledger.stage(n, "waiting for the CDEK registration");
    let registered =
        demo.watch_order(&parcel.id, REGISTRATION_WAIT, POLL, |o| o.carrier_reference.is_some() || o.is_final()).await;
    let cdek_number = match registered {
        Some(order) if order.status == "registration_failed" => {
            return demo.give_up(n, "CDEK refused the registration (registration_failed)");
        }
        Some(order) => match order.carrier_reference.clone() {
            Some(number) => {
                demo.ledger.status(n, &order);
                number
            }
            None => return demo.give_up(n, format!("became {} before CDEK registered it", order.status)),
        },
        None if demo.stop.is_set() => return,
        None => {
            return demo.give_up(n, format!("no CDEK number within {} s", REGISTRATION_WAIT.as_secs()));
        }
    };
    let Some(uuid) = find_uuid(&demo, &parcel.id).await else {
        if !demo.stop.is_set() {
            demo.give_up(n, format!("CDEK number {cdek_number}, but the double does not show the order"));
        }
        return;
    };
    demo.console.log(format_args!("order {n}: registered at CDEK as {cdek_number}"));
    for (index, step) in SEQUENCE.iter().enumerate() {
        demo.ledger.stage(n, format!("with CDEK, next {} ({}/{})", step.code, index + 1, SEQUENCE.len()));
        if !demo.stop.sleep(Duration::from_secs(rng.random_range(PAUSE_SECS))).await || !demo.ledger.is_active(n) {
            return;
        }
        let city = match step.place {
            Place::SenderCity => SENDER_CITY,
            Place::RecipientCity => parcel.city,
        };
        if let Err(error) = retry(&demo, 4, || demo.stack.cdek_status(&uuid, step.code, city)).await {
            return demo.give_up(n, format!("CDEK status {} could not be recorded: {error}", step.code));
        }
        Counters::add(&demo.console.counters.cdek_statuses, 1);
        let Some(order) =
            demo.watch_order(&parcel.id, STATUS_WAIT, POLL, |o| o.reached(step.becomes) || o.is_final()).await
        else {
            if !demo.stop.is_set() {
                let reason = format!(
                    "CDEK said {}, but the order did not become {} within {} s",
                    step.code,
                    step.becomes,
                    STATUS_WAIT.as_secs()
                );
                demo.give_up(n, reason);
            }
            return;
        };
        demo.ledger.status(n, &order);
        if order.status == "delivered" {
            if demo.ledger.delivered(n, &order) {
                Counters::add(&demo.console.counters.delivered, 1);
                demo.console.log(format_args!("order {n}: delivered by CDEK"));
            }
            return;
        }
        if order.is_final() {
            return demo.give_up(n, format!("became {} after CDEK said {}", order.status, step.code));
        }
    }
    demo.give_up(n, "CDEK said DELIVERED, but the order is not delivered");
}

/// The order's uuid at the double (it may show the order a moment after the adapter
/// stored the CDEK number).
async fn find_uuid(demo: &Demo, id: &str) -> Option<String> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(uuid)) = retry(demo, 1, || demo.stack.cdek_uuid(id)).await {
            return Some(uuid);
        }
        if Instant::now() >= until || !demo.stop.sleep(Duration::from_secs(2)).await {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::api::Order;

    #[test]
    fn each_cdek_status_moves_the_order_as_docs_cdek_md_says() {
        let docs = include_str!("../../../../../docs/cdek.md");
        for step in SEQUENCE {
            let row = format!("| `{}` | `{}` |", step.code, step.becomes);
            assert!(docs.contains(&row), "docs/cdek.md has no row starting {row}");
        }
    }

    #[test]
    fn the_sequence_only_moves_forward_and_ends_delivered() {
        let order = |status: &str| Order {
            id: "o".into(),
            store_id: "demo_shop".into(),
            status: status.into(),
            version: 1,
            carrier_reference: None,
            timeline: Vec::new(),
            tracking: None,
        };
        for pair in SEQUENCE.windows(2) {
            assert!(order(pair[1].becomes).reached(pair[0].becomes), "{} after {}", pair[1].code, pair[0].code);
            assert!(
                pair[0].place == pair[1].place || pair[1].place == Place::RecipientCity,
                "the parcel does not go back to the sender's city"
            );
        }
        assert_eq!(SEQUENCE.first().map(|s| s.becomes), Some("picked_up"));
        assert_eq!(SEQUENCE.last().map(|s| (s.code, s.becomes)), Some(("DELIVERED", "delivered")));
        assert!(order("handed_to_carrier").reached("courier_assigned"));
        assert!(!order("handed_to_carrier").reached("picked_up"));
        assert!(!order("cancelled").reached("picked_up"));
    }
}
