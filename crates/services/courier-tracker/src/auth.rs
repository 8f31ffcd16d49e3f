//! Who may call the tracker: a courier app with a token signed for that courier of its
//! store (a token for another courier is refused with 403), or an ops dashboard with an ops key.

use actix_web::HttpRequest;
use chrono::Utc;
use domain::ids::{CourierId, CourierKey};
use domain::token;
use platform::Secret;
use platform::api_error::ApiError;
use platform::keys::KeySet;

/// The presented credential: `Authorization: Bearer <token>`, or `?token=` (browsers
/// cannot set headers on a WebSocket).
fn presented(request: &HttpRequest) -> Option<String> {
    if let Some(header) = request.headers().get(actix_web::http::header::AUTHORIZATION) {
        return header.to_str().ok().and_then(platform::keys::bearer).map(str::to_owned);
    }
    request
        .uri()
        .query()
        .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("token=")).map(str::to_owned))
}

/// Checks that the request carries a valid courier token for `courier`, and answers the
/// courier the token names: the courier of its store (couriers belong to stores, and the
/// token is the only thing that says which).
pub fn courier(request: &HttpRequest, secret: &Secret, courier: &CourierId) -> Result<CourierKey, ApiError> {
    let token = presented(request).ok_or_else(|| {
        ApiError::unauthorized("missing_courier_token", "send the courier token as Authorization: Bearer <token>")
    })?;
    let (subject, _) = token::verify_courier(secret.expose().as_bytes(), &token, Utc::now())
        .map_err(|error| ApiError::unauthorized(error.code(), error.to_string()))?;
    if &subject.courier != courier {
        return Err(ApiError::forbidden("token_for_another_courier", "this token belongs to another courier"));
    }
    Ok(subject)
}

/// Checks for a valid ops key.
pub fn ops(request: &HttpRequest, keys: &KeySet) -> Result<(), ApiError> {
    let key = presented(request)
        .ok_or_else(|| ApiError::unauthorized("missing_api_key", "send the ops key as Authorization: Bearer <key>"))?;
    keys.find(&key).map(|_| ()).ok_or_else(|| ApiError::unauthorized("invalid_api_key", "this ops key is not valid"))
}
