//! Test controls under `/control` (no authentication; never part of the real API).
//!
//! | method | path | body | answer |
//! | --- | --- | --- | --- |
//! | POST | /control/orders/{uuid}/status | `{"code":"RECEIVED_AT_SHIPMENT_WAREHOUSE","reason_code":null,"city":"Москва","city_code":null,"date_time":null}` | 200 the order (as in `GET /control/orders`); 404 unknown order |
//! | GET | /control/orders | – | 200 `[{uuid, number, cdek_number, type, tariff_code, status, statuses[], requests[], create_requests_for_number}]` |
//! | POST | /control/faults | `{"status":500,"requests":N}` / `{"timeout_ms":M,"requests":N}` / both / `{"clear":true}` | 200 `{"fault":{status,timeout_ms,remaining}\|null}` |
//! | GET | /control/faults | – | 200 `{"fault":…}` |
//! | POST | /control/tokens/expire | – | 200 `{"expired":<live tokens expired>}` |
//! | POST | /control/webhooks/drop | `{"drop":true\|false}` | 200 `{"drop":…}` |
//! | GET | /control/stats | – | 200 `{calls{route:n}, tokens_issued, faults_injected, webhooks_delivered, webhooks_failed, webhooks_given_up, webhooks_dropped, webhooks_switched_off}` |
//!
//! Control errors are `{"error":<code>,"message":…}` with 400 or 404.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, ResponseError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::store::{Fault, NewStatus, Shared};
use crate::time;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/orders", web::get().to(orders))
        .route("/orders/{uuid}/status", web::post().to(add_status))
        .service(web::resource("/faults").post(set_fault).get(fault))
        .route("/tokens/expire", web::post().to(expire_tokens))
        .route("/webhooks/drop", web::post().to(drop_webhooks))
        .route("/stats", web::get().to(stats));
}

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ControlError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ControlError {
    fn bad(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code: "bad_request", message: message.into() }
    }
}

impl ResponseError for ControlError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(json!({"error": self.code, "message": self.message}))
    }
}

fn body<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ControlError> {
    let raw = if raw.is_empty() { b"{}".as_slice() } else { raw };
    serde_json::from_slice(raw).map_err(|error| ControlError::bad(format!("bad body: {error}")))
}

/// A string or a number, as text (`"11"` and `11` both give "11").
fn text(value: Option<Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
struct StatusRequest {
    code: String,
    reason_code: Option<Value>,
    city: Option<String>,
    city_code: Option<Value>,
    date_time: Option<String>,
}

/// Appends a status (any code, known or not) and fires the ORDER_STATUS webhooks.
async fn add_status(
    shared: web::Data<Shared>,
    uuid: web::Path<String>,
    raw: Bytes,
) -> Result<HttpResponse, ControlError> {
    let request: StatusRequest = body(&raw)?;
    if request.code.trim().is_empty() {
        return Err(ControlError::bad("code is empty"));
    }
    let date_time = match request.date_time.as_deref() {
        None => None,
        Some(raw) => Some(time::parse(raw).ok_or_else(|| ControlError::bad(format!("bad date_time {raw}")))?),
    };
    let not_found =
        || ControlError { status: StatusCode::NOT_FOUND, code: "not_found", message: format!("no order {uuid}") };
    let order = Uuid::parse_str(&uuid).map_err(|_| not_found())?;
    let new = NewStatus {
        code: request.code.trim().to_owned(),
        reason_code: text(request.reason_code),
        city: request.city,
        city_code: text(request.city_code),
        date_time,
    };
    let view = shared.add_status(order, new).ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(view))
}

async fn orders(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.control_orders())
}

#[derive(Debug, Deserialize)]
struct FaultRequest {
    status: Option<u16>,
    timeout_ms: Option<u64>,
    requests: Option<u32>,
    #[serde(default)]
    clear: bool,
}

/// Applies a fault to the next `requests` (default 1) `/v2` calls: answer `status` with
/// the errors shape, and/or wait `timeout_ms` first. Replaces any earlier fault.
async fn set_fault(shared: web::Data<Shared>, raw: Bytes) -> Result<HttpResponse, ControlError> {
    let request: FaultRequest = body(&raw)?;
    if request.clear {
        shared.set_fault(None);
        return Ok(HttpResponse::Ok().json(json!({"fault": null})));
    }
    if request.status.is_none() && request.timeout_ms.is_none() {
        return Err(ControlError::bad("give status, timeout_ms or clear"));
    }
    if let Some(status) = request.status {
        if StatusCode::from_u16(status).is_err() || status < 200 {
            return Err(ControlError::bad(format!("bad status {status}")));
        }
    }
    let fault =
        Fault { status: request.status, timeout_ms: request.timeout_ms, remaining: request.requests.unwrap_or(1) };
    shared.set_fault(Some(fault));
    Ok(HttpResponse::Ok().json(json!({"fault": shared.fault()})))
}

async fn fault(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"fault": shared.fault()}))
}

async fn expire_tokens(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"expired": shared.expire_tokens()}))
}

#[derive(Debug, Deserialize)]
struct DropRequest {
    drop: bool,
}

async fn drop_webhooks(shared: web::Data<Shared>, raw: Bytes) -> Result<HttpResponse, ControlError> {
    let request: DropRequest = body(&raw)?;
    shared.set_drop_webhooks(request.drop);
    Ok(HttpResponse::Ok().json(json!({"drop": request.drop})))
}

async fn stats(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.stats())
}
