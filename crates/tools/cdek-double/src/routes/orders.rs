//! Orders: register (202, decided after the processing delay), read, cancel, refuse.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::entity_uuid;
use crate::auth;
use crate::errors::{ApiError, CdekError, RequestType, codes};
use crate::model::RequestRecord;
use crate::store::Shared;
use crate::validate;

fn accepted(uuid: Uuid, request: &RequestRecord) -> HttpResponse {
    HttpResponse::Accepted().json(json!({
        "entity": {"uuid": uuid},
        "related_entities": [],
        "requests": [request.view()],
    }))
}

/// `POST /v2/orders`.
pub async fn create(shared: web::Data<Shared>, request: HttpRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let value = validate::parse_json(&body).map_err(|error| ApiError::bad_request(RequestType::Create, vec![error]))?;
    let valid = validate::order(&value).map_err(|errors| ApiError::bad_request(RequestType::Create, errors))?;
    let (uuid, record) = shared.register_order(value, valid);
    Ok(accepted(uuid, &record))
}

/// `GET /v2/orders/{uuid}`.
pub async fn read(
    shared: web::Data<Shared>,
    request: HttpRequest,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let uuid = entity_uuid(&uuid, RequestType::Get)?;
    let view = shared.read_order(uuid).ok_or_else(|| {
        ApiError::not_found(RequestType::Get, codes::ENTITY_NOT_FOUND, format!("Order {uuid} is not found"))
    })?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    cdek_number: Option<String>,
    im_number: Option<String>,
}

/// `GET /v2/orders?cdek_number=…` or `?im_number=…`.
pub async fn search(shared: web::Data<Shared>, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let query = web::Query::<SearchQuery>::from_query(request.query_string()).map_err(|error| {
        ApiError::bad_request(RequestType::Get, vec![CdekError::new(codes::INVALID_FORMAT, error.to_string())])
    })?;
    let found: Option<Value> = match (&query.cdek_number, &query.im_number) {
        (Some(cdek_number), _) => Some(shared.read_by_cdek_number(cdek_number).ok_or_else(|| {
            ApiError::not_found(
                RequestType::Get,
                codes::ENTITY_NOT_FOUND,
                format!("Order with cdek_number {cdek_number} is not found"),
            )
        })?),
        (None, Some(im_number)) => Some(shared.read_by_im_number(im_number).ok_or_else(|| {
            ApiError::not_found(
                RequestType::Get,
                codes::ENTITY_NOT_FOUND_IM_NUMBER,
                format!("Order with im_number {im_number} is not found"),
            )
        })?),
        (None, None) => None,
    };
    match found {
        Some(view) => Ok(HttpResponse::Ok().json(view)),
        None => Err(ApiError::bad_request(
            RequestType::Get,
            vec![CdekError::new(codes::FIELD_IS_EMPTY, "Field [cdek_number] or [im_number] is empty")],
        )),
    }
}

/// `DELETE /v2/orders/{uuid}`: succeeds (REMOVED) only if the order is CREATED when the
/// request is processed; otherwise the request turns INVALID.
pub async fn delete(
    shared: web::Data<Shared>,
    request: HttpRequest,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let uuid = entity_uuid(&uuid, RequestType::Delete)?;
    let record = shared.request_change(uuid, RequestType::Delete)?;
    Ok(accepted(uuid, &record))
}

/// `POST /v2/orders/{uuid}/refusal`: NOT_DELIVERED with reason 11, if the order is on its
/// way (neither CREATED nor final) when the request is processed.
pub async fn refusal(
    shared: web::Data<Shared>,
    request: HttpRequest,
    uuid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let uuid = entity_uuid(&uuid, RequestType::CreateRefusal)?;
    let record = shared.request_change(uuid, RequestType::CreateRefusal)?;
    Ok(accepted(uuid, &record))
}
