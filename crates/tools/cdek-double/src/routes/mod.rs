//! The double's routes.
//!
//! | method | path | what |
//! | --- | --- | --- |
//! | POST | /v2/oauth/token | access token (query parameters or form body) |
//! | POST | /v2/orders | register an order (202, decided later) |
//! | GET | /v2/orders?cdek_number=…, /v2/orders?im_number=… | read an order |
//! | GET | /v2/orders/{uuid} | read an order |
//! | DELETE | /v2/orders/{uuid} | cancel an order (202, decided later) |
//! | POST | /v2/orders/{uuid}/refusal | the buyer refuses (202, decided later) |
//! | POST, GET | /v2/webhooks | subscribe, list |
//! | GET, DELETE | /v2/webhooks/{uuid} | read, unsubscribe |
//! | POST | /v2/calculator/tariff, /v2/calculator/tarifflist | price and period |
//! | … | /control/… | test controls, see [`control`] |
//! | GET | /healthz, /readyz | liveness and readiness (the same: it depends on nothing) |

use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use uuid::Uuid;

use crate::errors::{ApiError, CdekError, codes};
use crate::store::Shared;

mod calculator;
pub mod control;
mod oauth;
mod orders;
mod webhooks;

/// Largest request body accepted.
const MAX_BODY: usize = 4 << 20;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .app_data(web::PayloadConfig::new(MAX_BODY))
        .route("/healthz", web::get().to(healthz))
        // Ready as soon as it listens (it depends on nothing); the local stack waits on it.
        .route("/readyz", web::get().to(healthz))
        .service(
            web::scope("/v2")
                .wrap(actix_web::middleware::from_fn(api_call))
                .route("/oauth/token", web::post().to(oauth::token))
                .service(web::resource("/orders").post(orders::create).get(orders::search))
                .service(web::resource("/orders/{uuid}").get(orders::read).delete(orders::delete))
                .route("/orders/{uuid}/refusal", web::post().to(orders::refusal))
                .service(web::resource("/webhooks").post(webhooks::subscribe).get(webhooks::list))
                .service(web::resource("/webhooks/{uuid}").get(webhooks::read).delete(webhooks::delete))
                .route("/calculator/tariff", web::post().to(calculator::tariff))
                .route("/calculator/tarifflist", web::post().to(calculator::tariff_list))
                .default_service(web::to(unknown_endpoint)),
        )
        .service(web::scope("/control").configure(control::configure));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn unknown_endpoint(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::Errors {
        status: StatusCode::NOT_FOUND,
        errors: vec![CdekError::new(codes::NOT_FOUND, format!("No endpoint {} {}", request.method(), request.path()))],
    })
}

/// Parses the `{uuid}` of a path; anything else cannot name an entity.
fn entity_uuid(raw: &str, kind: crate::errors::RequestType) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::not_found(kind, codes::ENTITY_NOT_FOUND, format!("Entity {raw} is not found")))
}

/// Around every `/v2` call: counts it per route and applies an injected fault.
async fn api_call(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(shared) = request.app_data::<web::Data<Shared>>().cloned() else {
        return next.call(request).await.map(ServiceResponse::map_into_boxed_body);
    };
    let route = format!("{} {}", request.method(), request.match_pattern().unwrap_or_else(|| "unmatched".to_owned()));
    if let Some(fault) = shared.on_api_call(route) {
        if let Some(timeout_ms) = fault.timeout_ms {
            tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
        }
        if let Some(status) = fault.status.and_then(|status| StatusCode::from_u16(status).ok()) {
            let response = ApiError::fault(status).error_response();
            return Ok(request.into_response(response));
        }
    }
    next.call(request).await.map(ServiceResponse::map_into_boxed_body)
}

/// One JSON log line per request: method, path (never the query, which may carry the
/// client secret), status, duration. Headers (tokens) are never logged.
pub async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let log = request.app_data::<web::Data<Shared>>().map(|shared| shared.config.log.clone());
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let request_id = Uuid::new_v4().to_string();
    let started = Instant::now();
    let result = next.call(request).await;
    if let Some(log) = log {
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(response) => slog::info!(log, "request";
                "request_id" => &request_id, "method" => &method, "path" => &path,
                "status" => response.status().as_u16(), "elapsed_ms" => elapsed_ms),
            Err(error) => slog::warn!(log, "request failed";
                "request_id" => &request_id, "method" => &method, "path" => &path,
                "error" => error.to_string(), "elapsed_ms" => elapsed_ms),
        }
    }
    result
}
