//! courier-tracker's routes (the operational ones come from `platform::http`).
//!
//! | method | path | who | what |
//! | --- | --- | --- | --- |
//! | POST | /couriers/{id}/locations | the courier (token) | a batch of positions |
//! | GET | /couriers/{id}/ws | the courier (token) | WebSocket: batches as text messages |
//! | GET | /couriers/nearby | ops (key) | couriers near a point, nearest first |

use std::sync::Arc;

use actix_web::http::header;
use actix_web::web;
use domain::ids::CourierId;
use platform::Secret;
use platform::api_error::ApiError;
use platform::keys::KeySet;
use serde::Deserialize;

use crate::ingest::Ingest;
use crate::ingest::filters::RawPoint;

pub mod docs;
mod locations;
mod nearby;
mod ws;

/// What the handlers share.
pub struct AppState {
    pub ingest: Arc<Ingest>,
    pub token_secret: Secret,
    pub ops_keys: KeySet,
    /// Largest WebSocket message, bytes.
    pub max_message_bytes: usize,
}

/// A batch of positions, as the app sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Oldest first or not: points are taken in time order. At least one; at most
    /// `couriers.max_batch` (the served document says how many).
    #[schema(value_type = Vec<PointSchema>, min_items = 1)]
    pub points: Vec<RawPoint>,
}

/// One reported position (the schema of `RawPoint`, which refuses unknown fields too).
#[allow(dead_code)]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointSchema {
    #[schema(example = 55.7512)]
    lat: f64,
    #[schema(example = 37.6184)]
    lon: f64,
    /// RFC 3339.
    #[schema(example = "2026-11-21T12:00:00Z", format = DateTime)]
    recorded_at: String,
    /// Radius of the 68 % confidence circle, metres.
    #[schema(example = 8.0)]
    accuracy_m: f64,
    speed_mps: Option<f64>,
    /// Degrees clockwise from north.
    heading_deg: Option<f64>,
}

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .app_data(
            web::PathConfig::default()
                .error_handler(|error, _| ApiError::bad_request("invalid_path", error.to_string()).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|error, _| ApiError::bad_request("invalid_query", error.to_string()).into()),
        )
        .service(
            web::resource("/couriers/nearby")
                .route(web::get().to(nearby::nearby))
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/couriers/{id}/locations")
                .route(web::post().to(locations::post))
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/couriers/{id}/ws")
                .route(web::get().to(ws::connect))
                .default_service(method_not_allowed("GET")),
        )
        .configure(docs::configure);
}

/// A JSON 405 with the `Allow` header listing the methods the path takes (RFC 9110 15.5.6).
fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move {
        let mut response = actix_web::ResponseError::error_response(&ApiError::method_not_allowed());
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
        response
    })
}

fn courier_id(raw: &str) -> Result<CourierId, ApiError> {
    CourierId::parse(raw).map_err(|e| ApiError::bad_request("invalid_courier_id", e.message))
}
