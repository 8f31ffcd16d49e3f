//! What the adapter sends to `order_commands`, and the sending. Command ids come from
//! the content (the CDEK status and its time, the CDEK number, the delivery dates), so
//! a status seen twice, by webhook and by poll or after a crash, is one command, and
//! order-grpc applies it once.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use domain::convert::timestamp;
use domain::events::{self as pb, Envelope, envelope::Payload, order_command::Command};
use prost::Message;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use uuid::Uuid;

use crate::cdek::model::{ApiMessage, StatusInfo, Tariff};
use crate::cdek::statuses;

/// One command for one order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderCommand {
    pub id: String,
    pub command: Command,
}

/// Publishes commands to `order_commands`, keyed by order id.
#[derive(Clone)]
pub struct Commands {
    producer: FutureProducer,
    topic: String,
}

impl Commands {
    pub fn new(producer: FutureProducer, topic: String) -> Self {
        Self { producer, topic }
    }

    /// Sends and waits for the broker's acknowledgement.
    pub async fn send(&self, order_id: Uuid, command: OrderCommand) -> Result<(), KafkaError> {
        let key = order_id.to_string();
        let message = pb::OrderCommand {
            command_id: command.id,
            order_id: key.clone(),
            actor: pb::Actor::Carrier as i32,
            command: Some(command.command),
        };
        let envelope = Envelope::new("logistics-adapter", timestamp(Utc::now()), Payload::OrderCommand(message));
        platform::kafka::publish(&self.producer, &self.topic, &key, &envelope.encode_to_vec()).await.map(|_| ())
    }
}

/// What else a status's timeline line may say.
#[derive(Debug, Default, Clone, Copy)]
pub struct Context<'a> {
    /// The CDEK number, for the CREATED line.
    pub cdek_number: Option<&'a str>,
    /// CDEK's errors, for the INVALID line.
    pub errors: &'a [ApiMessage],
    /// The order was cancelled in ordertrack: CDEK's statuses become timeline entries
    /// only (the order keeps its final status).
    pub cancelled: bool,
}

/// The command for one CDEK status: a status change when the table maps the code to
/// one, else (unknown codes too) a carrier event kept verbatim in the timeline.
pub fn for_status(order_id: Uuid, status: &StatusInfo, context: Context<'_>) -> OrderCommand {
    let mapped = statuses::map(&status.code);
    let mut note = mapped.text.to_owned();
    if status.code == "CREATED" {
        if let Some(number) = context.cdek_number {
            note = format!("{note}, CDEK number {number}");
        }
    }
    if status.code == "INVALID" && !context.errors.is_empty() {
        note = format!("{note}: {}", describe(context.errors));
    }
    if let Some(reason) = status.reason_code.as_deref() {
        note = format!("{note} ({})", reason_text(reason));
    }
    if let Some(city) = status.city.as_deref().filter(|c| !c.trim().is_empty()) {
        note = format!("{note}, {city}");
    }
    let note: String = note.chars().take(500).collect();
    let code: String = status.code.trim().chars().take(100).collect();
    let at = Some(timestamp(status.date_time));
    let id = format!("cdek:{order_id}:status:{code}:{}", status.date_time.timestamp_millis());
    let command = match mapped.status {
        Some(to) if !context.cancelled => Command::ChangeStatus(pb::ChangeStatus {
            status: pb::OrderStatus::from(to) as i32,
            carrier_status: code,
            note,
            at,
        }),
        _ => Command::RecordCarrierEvent(pb::RecordCarrierEvent { carrier_status: code, note, at }),
    };
    OrderCommand { id, command }
}

/// Registration refused outright (a 400 to `POST /orders`): the INVALID line CDEK would
/// have shown, under an id of its own (there is no CDEK status time to name it by).
pub fn registration_refused(order_id: Uuid, errors: &[ApiMessage]) -> OrderCommand {
    let invalid = StatusInfo {
        code: "INVALID".into(),
        name: String::new(),
        date_time: Utc::now(),
        reason_code: None,
        city: None,
    };
    let context = Context { errors, ..Context::default() };
    OrderCommand { id: format!("cdek:{order_id}:registration-refused"), ..for_status(order_id, &invalid, context) }
}

pub fn carrier_reference(order_id: Uuid, cdek_number: &str) -> OrderCommand {
    OrderCommand {
        id: format!("cdek:{order_id}:carrier-reference:{cdek_number}"),
        command: Command::SetCarrierReference(pb::SetCarrierReference { carrier_reference: cdek_number.to_owned() }),
    }
}

/// CDEK's answer to a cancellation (`kind` is DELETE or CREATE_REFUSAL), as a timeline entry.
pub fn cancellation_answer(
    order_id: Uuid,
    kind: &str,
    request_uuid: &str,
    accepted: bool,
    errors: &[ApiMessage],
) -> OrderCommand {
    let what = if kind == "DELETE" { "deletion of the shipment" } else { "refusal of the shipment" };
    let note = if accepted {
        format!("CDEK accepted the {what}")
    } else {
        format!("CDEK refused the {what}: {}", describe(errors))
    };
    let state = if accepted { "SUCCESSFUL" } else { "INVALID" };
    OrderCommand {
        id: format!("cdek:{order_id}:cancel:{kind}:{request_uuid}:{state}"),
        command: Command::RecordCarrierEvent(pb::RecordCarrierEvent {
            carrier_status: format!("{kind} {state}"),
            note: note.chars().take(500).collect(),
            at: Some(timestamp(Utc::now())),
        }),
    }
}

/// The delivery estimate from CDEK's tariff calculator: the date range, else the
/// calendar days from now; `None` when the answer has neither.
pub fn eta(order_id: Uuid, tariff: &Tariff, now: DateTime<Utc>) -> Option<OrderCommand> {
    let (earliest, latest) = match (&tariff.delivery_date_range, tariff.calendar_min, tariff.calendar_max) {
        (Some(range), _, _) => (start_of(range.min), end_of(range.max)),
        (None, Some(min), Some(max)) => {
            let day = |days: u32| now.date_naive() + chrono::Days::new(u64::from(days));
            (start_of(day(min)), end_of(day(max)))
        }
        _ => return None,
    };
    if latest < earliest {
        return None;
    }
    let expected_at = earliest + (latest - earliest) / 2;
    let eta = pb::Eta {
        expected_at: Some(timestamp(expected_at)),
        earliest: Some(timestamp(earliest)),
        latest: Some(timestamp(latest)),
        source: pb::EtaSource::Cdek as i32,
        computed_at: Some(timestamp(now)),
    };
    Some(OrderCommand {
        id: format!("cdek:{order_id}:eta:{}:{}", earliest.date_naive(), latest.date_naive()),
        command: Command::SetEta(pb::SetEta { eta: Some(eta) }),
    })
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

fn end_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(23, 59, 59).map_or_else(|| start_of(day), |at| at.and_utc())
}

/// CDEK's errors as one line: `code (message); ...`.
pub fn describe(errors: &[ApiMessage]) -> String {
    if errors.is_empty() {
        return "no reason given".into();
    }
    errors
        .iter()
        .map(|e| if e.message.is_empty() { e.code.clone() } else { format!("{} ({})", e.code, e.message) })
        .collect::<Vec<_>>()
        .join("; ")
}

/// CDEK's reason codes (`reason_code`) in words.
fn reason_text(code: &str) -> String {
    match code.trim() {
        "11" => "refused by the recipient".into(),
        "20" => "partly delivered".into(),
        "23" => "storage time expired".into(),
        "26" => "lost".into(),
        other => format!("reason {other}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::cdek::model::DateRange;

    fn status(code: &str, city: Option<&str>) -> StatusInfo {
        StatusInfo {
            code: code.into(),
            name: String::new(),
            date_time: "2026-11-21T10:00:00Z".parse().unwrap(),
            reason_code: None,
            city: city.map(str::to_owned),
        }
    }

    #[test]
    fn known_codes_change_the_status_and_unknown_ones_are_kept_verbatim() {
        let order = Uuid::nil();
        let picked = for_status(order, &status("RECEIVED_AT_SHIPMENT_WAREHOUSE", Some("Москва")), Context::default());
        let Command::ChangeStatus(change) = &picked.command else { panic!("{picked:?}") };
        assert_eq!(change.status, pb::OrderStatus::PickedUp as i32);
        assert_eq!(change.carrier_status, "RECEIVED_AT_SHIPMENT_WAREHOUSE");
        assert_eq!(change.note, "Received at CDEK's warehouse, Москва");
        assert_eq!(picked.id, format!("cdek:{order}:status:RECEIVED_AT_SHIPMENT_WAREHOUSE:1795255200000"));

        let unknown = for_status(order, &status("TELEPORTED_BY_DRONE", None), Context::default());
        let Command::RecordCarrierEvent(event) = &unknown.command else { panic!("{unknown:?}") };
        assert_eq!(event.carrier_status, "TELEPORTED_BY_DRONE");

        let cancelled = Context { cancelled: true, ..Context::default() };
        let removed = for_status(order, &status("REMOVED", None), cancelled);
        assert!(matches!(removed.command, Command::RecordCarrierEvent(_)));
    }

    #[test]
    fn invalid_lines_carry_cdeks_errors_and_created_the_number() {
        let errors = [ApiMessage { code: "v2_field_is_empty".into(), message: "recipient.phones".into() }];
        let context = Context { errors: &errors, cdek_number: Some("1100000001"), cancelled: false };
        let Command::ChangeStatus(invalid) = for_status(Uuid::nil(), &status("INVALID", None), context).command else {
            panic!()
        };
        assert_eq!(invalid.status, pb::OrderStatus::RegistrationFailed as i32);
        assert!(invalid.note.contains("v2_field_is_empty (recipient.phones)"), "{}", invalid.note);
        let Command::ChangeStatus(created) = for_status(Uuid::nil(), &status("CREATED", None), context).command else {
            panic!()
        };
        assert!(created.note.ends_with("CDEK number 1100000001"), "{}", created.note);
    }

    #[test]
    fn the_tariff_date_range_becomes_an_eta_from_cdek() {
        let now: DateTime<Utc> = "2026-11-21T10:00:00Z".parse().unwrap();
        let range = DateRange { min: "2026-11-23".parse().unwrap(), max: "2026-11-25".parse().unwrap() };
        let tariff = Tariff { calendar_min: Some(2), calendar_max: Some(4), delivery_date_range: Some(range) };
        let command = eta(Uuid::nil(), &tariff, now).unwrap();
        let Command::SetEta(set) = command.command else { panic!() };
        let eta = set.eta.unwrap().to_domain().unwrap();
        assert_eq!(eta.earliest(), "2026-11-23T00:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(eta.latest(), "2026-11-25T23:59:59Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(eta.source(), domain::eta::EtaSource::Cdek);
        let days_only = Tariff { calendar_min: Some(1), calendar_max: Some(2), delivery_date_range: None };
        assert!(super::eta(Uuid::nil(), &days_only, now).is_some());
        let nothing = Tariff { calendar_min: None, calendar_max: None, delivery_date_range: None };
        assert!(super::eta(Uuid::nil(), &nothing, now).is_none());
    }
}
