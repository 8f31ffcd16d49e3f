//! `POST /couriers/{id}/locations`: a batch of a courier's positions.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use platform::api_error::ApiError;
use platform::json_body::JsonBody;

use super::{AppState, Batch, courier_id};
use crate::auth;
use crate::ingest::Outcome;

/// Filters the batch, publishes the accepted points and answers how many were accepted
/// and why the others were dropped. A malformed batch is refused whole (400) and
/// nothing of it is published.
#[utoipa::path(
    post, path = "/couriers/{id}/locations", tag = "couriers",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = "Courier id: 1 to 64 letters, digits, `-`, `_`, `.` and `:`")),
    request_body = Batch,
    responses((status = 200, body = Outcome)),
    security(("courier_token" = []))
)]
pub async fn post(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: JsonBody<Batch>,
) -> Result<HttpResponse, ApiError> {
    let received = Instant::now();
    let courier = courier_id(&id)?;
    let courier = auth::courier(&request, &state.token_secret, &courier)?;
    let outcome = state.ingest.ingest(&courier, &body.value.points, received).await?;
    Ok(HttpResponse::Ok().json(outcome))
}
