//! Webhook subscriptions: at most two per account.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::entity_uuid;
use crate::auth;
use crate::errors::{ApiError, CdekError, RequestState, RequestType, codes};
use crate::store::Shared;
use crate::{time, validate};

#[derive(Debug, Deserialize)]
struct Subscription {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

fn done(uuid: Uuid, kind: RequestType) -> serde_json::Value {
    json!({
        "entity": {"uuid": uuid},
        "requests": [{
            "request_uuid": Uuid::new_v4(),
            "type": kind,
            "date_time": time::now(),
            "state": RequestState::Successful,
        }],
    })
}

/// `POST /v2/webhooks` `{"type":"ORDER_STATUS","url":…}` → 200; a third one → 400
/// `v2_too_many_webhooks`.
pub async fn subscribe(shared: web::Data<Shared>, request: HttpRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let reject = |errors| ApiError::bad_request(RequestType::Create, errors);
    let value = validate::parse_json(&body).map_err(|error| reject(vec![error]))?;
    let subscription: Subscription = validate::typed(&value).map_err(|error| reject(vec![error]))?;
    let mut errors = Vec::new();
    let kind = subscription.kind.filter(|kind| !kind.trim().is_empty());
    if kind.is_none() {
        errors.push(CdekError::empty("type"));
    }
    match subscription.url.as_deref().map(str::trim) {
        None | Some("") => errors.push(CdekError::empty("url")),
        Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            errors.push(CdekError::invalid("url", "must be an http:// or https:// URL"));
        }
        Some(_) => {}
    }
    let (Some(kind), Some(url), true) = (kind, subscription.url, errors.is_empty()) else {
        return Err(reject(errors));
    };
    let hook = shared.subscribe(kind, url.trim().to_owned())?;
    Ok(HttpResponse::Ok().json(done(hook.uuid, RequestType::Create)))
}

/// `GET /v2/webhooks` → a bare array of `{uuid, type, url}`.
pub async fn list(shared: web::Data<Shared>, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    Ok(HttpResponse::Ok().json(shared.webhooks()))
}

/// `GET /v2/webhooks/{uuid}`.
pub async fn read(
    shared: web::Data<Shared>,
    request: HttpRequest,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let uuid = entity_uuid(&uuid, RequestType::Get)?;
    let hook = shared.webhook(uuid).ok_or_else(|| {
        ApiError::not_found(RequestType::Get, codes::ENTITY_NOT_FOUND, format!("Webhook {uuid} is not found"))
    })?;
    Ok(HttpResponse::Ok().json(json!({"entity": hook, "requests": []})))
}

/// `DELETE /v2/webhooks/{uuid}` → 200; unknown → 404 `v2_entity_not_found`.
pub async fn delete(
    shared: web::Data<Shared>,
    request: HttpRequest,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let uuid = entity_uuid(&uuid, RequestType::Delete)?;
    if !shared.unsubscribe(uuid) {
        return Err(ApiError::not_found(
            RequestType::Delete,
            codes::ENTITY_NOT_FOUND,
            format!("Webhook {uuid} is not found"),
        ));
    }
    Ok(HttpResponse::Ok().json(done(uuid, RequestType::Delete)))
}
