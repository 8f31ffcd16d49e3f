//! What the double remembers about an order, and how it shows it (API reads, control
//! reads, webhook payloads).

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::errors::{CdekError, RequestState, RequestType};
use crate::statuses;
use crate::tariffs::Parcel;
use crate::time;

/// Sets `key` of a JSON object (does nothing to anything else).
pub fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(fields) = target.as_object_mut() {
        fields.insert(key.to_owned(), value);
    }
}

/// One request made on an order (CREATE, DELETE, CREATE_REFUSAL) and how it ended.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub request_uuid: Uuid,
    pub kind: RequestType,
    pub date_time: DateTime<FixedOffset>,
    pub state: RequestState,
    pub errors: Vec<CdekError>,
}

impl RequestRecord {
    pub fn accepted(kind: RequestType) -> Self {
        Self {
            request_uuid: Uuid::new_v4(),
            kind,
            date_time: chrono::Utc::now().fixed_offset(),
            state: RequestState::Accepted,
            errors: Vec::new(),
        }
    }

    pub fn view(&self) -> Value {
        let mut view = json!({
            "request_uuid": self.request_uuid,
            "type": self.kind,
            "date_time": time::format(&self.date_time),
            "state": self.state,
        });
        if !self.errors.is_empty() {
            set(&mut view, "errors", json!(self.errors));
        }
        view
    }
}

/// One entry of an order's timeline.
#[derive(Debug, Clone)]
pub struct Status {
    pub code: String,
    pub date_time: DateTime<FixedOffset>,
    pub reason_code: Option<String>,
    pub city: String,
    pub city_code: Option<String>,
    /// Order of arrival, to break ties between equal `date_time`s.
    pub seq: u64,
}

impl Status {
    pub fn view(&self) -> Value {
        let mut view = json!({
            "code": self.code,
            "name": statuses::name(&self.code),
            "date_time": time::format(&self.date_time),
            "city": self.city,
            "deleted": false,
        });
        if let Some(reason) = &self.reason_code {
            set(&mut view, "reason_code", json!(reason));
        }
        view
    }
}

#[derive(Debug, Clone)]
pub struct Order {
    pub uuid: Uuid,
    pub seq: u64,
    pub order_type: i64,
    /// The store's number; the order's uuid when the store sent none.
    pub number: String,
    pub tariff_code: i64,
    pub delivery_mode: String,
    pub recipient_name: String,
    pub origin_city: String,
    /// Where it goes from and to, and its parcels, as the tariff arithmetic sees them.
    pub from_key: String,
    pub to_key: String,
    pub parcels: Vec<Parcel>,
    /// The registration body as sent, echoed in reads.
    pub body: Value,
    pub cdek_number: Option<String>,
    pub planned_delivery_date: Option<NaiveDate>,
    /// (delivery_sum, total_sum), known once processed.
    pub delivery_detail: Option<(f64, f64)>,
    /// Kept in arrival order; shown newest first.
    pub statuses: Vec<Status>,
    pub requests: Vec<RequestRecord>,
}

impl Order {
    /// Timeline, newest first (by `date_time`, then by arrival).
    pub fn statuses_newest_first(&self) -> Vec<&Status> {
        let mut sorted: Vec<&Status> = self.statuses.iter().collect();
        sorted.sort_by(|a, b| b.date_time.cmp(&a.date_time).then(b.seq.cmp(&a.seq)));
        sorted
    }

    pub fn current_status(&self) -> Option<&Status> {
        self.statuses.iter().max_by(|a, b| a.date_time.cmp(&b.date_time).then(a.seq.cmp(&b.seq)))
    }

    pub fn current_code(&self) -> &str {
        self.current_status().map_or("", |status| status.code.as_str())
    }

    pub fn create_succeeded(&self) -> bool {
        self.requests
            .iter()
            .any(|request| request.kind == RequestType::Create && request.state == RequestState::Successful)
    }

    pub fn request_mut(&mut self, request_uuid: Uuid) -> Option<&mut RequestRecord> {
        self.requests.iter_mut().find(|request| request.request_uuid == request_uuid)
    }

    pub fn has_pending(&self, kind: RequestType) -> bool {
        self.requests.iter().any(|request| request.kind == kind && request.state == RequestState::Accepted)
    }

    /// `entity` of `GET /v2/orders…`: the body as sent, with what CDEK adds.
    pub fn entity(&self) -> Value {
        let mut entity = match &self.body {
            Value::Object(fields) => fields.clone(),
            _ => Map::new(),
        };
        entity.insert("uuid".into(), json!(self.uuid));
        entity.insert("type".into(), json!(self.order_type));
        entity.insert("number".into(), json!(self.number));
        entity.insert("tariff_code".into(), json!(self.tariff_code));
        entity.insert("delivery_mode".into(), json!(self.delivery_mode));
        entity.insert("is_return".into(), json!(false));
        entity.insert("is_reverse".into(), json!(false));
        entity.insert("is_client_return".into(), json!(false));
        entity.remove("cdek_number");
        entity.remove("planned_delivery_date");
        entity.remove("delivery_detail");
        if let Some(cdek_number) = &self.cdek_number {
            entity.insert("cdek_number".into(), json!(cdek_number));
        }
        if let Some(date) = self.planned_delivery_date {
            entity.insert("planned_delivery_date".into(), json!(date.format("%Y-%m-%d").to_string()));
        }
        if let Some((delivery_sum, total_sum)) = self.delivery_detail {
            entity.insert("delivery_detail".into(), json!({"delivery_sum": delivery_sum, "total_sum": total_sum}));
        }
        let statuses: Vec<Value> = self.statuses_newest_first().into_iter().map(Status::view).collect();
        entity.insert("statuses".into(), Value::Array(statuses));
        Value::Object(entity)
    }

    /// The whole answer of `GET /v2/orders…`.
    pub fn read_view(&self) -> Value {
        json!({
            "entity": self.entity(),
            "requests": self.requests.iter().map(RequestRecord::view).collect::<Vec<_>>(),
            "related_entities": [],
        })
    }

    /// The ORDER_STATUS webhook payload for one of this order's statuses.
    pub fn webhook_payload(&self, status: &Status) -> Value {
        let mut attributes = json!({
            "is_return": false,
            "is_reverse": false,
            "is_client_return": false,
            "number": self.number,
            "related_entities": [],
            "code": status.code,
            "status_code": statuses::numeric(&status.code),
            "status_date_time": time::format(&status.date_time),
            "city_name": status.city,
            "deleted": false,
        });
        if let Some(cdek_number) = &self.cdek_number {
            set(&mut attributes, "cdek_number", json!(cdek_number));
        }
        if status.code != statuses::CREATED {
            if let Some(city_code) = &status.city_code {
                set(&mut attributes, "city_code", json!(city_code));
            }
        }
        if let Some(reason) = &status.reason_code {
            set(&mut attributes, "status_reason_code", json!(reason));
        }
        json!({
            "type": "ORDER_STATUS",
            "date_time": time::now(),
            "uuid": self.uuid,
            "attributes": attributes,
        })
    }
}

/// One webhook subscription.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Webhook {
    pub uuid: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}
