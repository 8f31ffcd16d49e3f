//! CDEK's error bodies. Both shapes the real API uses are produced:
//!
//! - the *requests* shape, `{"requests":[{"type":…,"state":"INVALID","errors":[{code,message}]}]}`,
//!   for orders, webhooks and authentication (400, 401, 404);
//! - the *errors* shape, `{"errors":[{code,message}],"warnings":[]}`, for the calculator's
//!   validation, injected faults (5xx and others) and unknown endpoints;
//!
//! plus OAuth's own `{"error":"invalid_client","error_description":…}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// One entry of `errors[]` or `warnings[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdekError {
    pub code: String,
    pub message: String,
}

impl CdekError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_owned(), message: message.into() }
    }

    /// `v2_field_is_empty` naming the missing field.
    pub fn empty(field: &str) -> Self {
        Self::new(codes::FIELD_IS_EMPTY, format!("Field [{field}] is empty"))
    }

    /// `v2_invalid_format` naming the field and what is wrong with it.
    pub fn invalid(field: &str, why: &str) -> Self {
        Self::new(codes::INVALID_FORMAT, format!("Field [{field}] is invalid: {why}"))
    }
}

/// The error codes the double emits.
pub mod codes {
    pub const FIELD_IS_EMPTY: &str = "v2_field_is_empty";
    pub const INVALID_FORMAT: &str = "v2_invalid_format";
    pub const INVALID_VALUE_TYPE: &str = "v2_invalid_value_type";
    pub const SHIPMENT_ADDRESS_MULTIVALUED: &str = "v2_shipment_address_multivalued";
    pub const DELIVERY_ADDRESS_MULTIVALUED: &str = "v2_delivery_address_multivalued";
    pub const TOO_MANY_ITEMS: &str = "v2_number_items_is_more_126";
    pub const ENTITY_NOT_FOUND: &str = "v2_entity_not_found";
    pub const ENTITY_NOT_FOUND_IM_NUMBER: &str = "v2_entity_not_found_im_number";
    pub const SIMILAR_REQUEST_STILL_PROCESSED: &str = "v2_similar_request_still_processed";
    pub const TOO_MANY_WEBHOOKS: &str = "v2_too_many_webhooks";
    pub const INTERNAL_ERROR: &str = "v2_internal_error";
    pub const TOKEN_EXPIRED: &str = "v2_token_expired";
    pub const AUTHORIZATION_INCORRECT: &str = "v2_authorization_incorrect";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const DUPLICATE_NUMBER: &str = "error_validate_im_dep_number_has_already_had_integration";
    pub const DELETE_STATUS: &str = "error_validate_order_delete_status";
    /// The double's choice: CDEK's facts give no code for a refused refusal.
    pub const REFUSAL_STATUS: &str = "error_validate_order_refusal_status";
    /// The double's poison knob (recipient name `INVALID`); not a real CDEK code.
    pub const POISON: &str = "error_validate_double_poison";
    /// An injected fault with a status that is neither 429 nor 5xx.
    pub const FAULT_INJECTED: &str = "v2_fault_injected";
    pub const TOO_MANY_REQUESTS: &str = "v2_too_many_requests";
    pub const NOT_FOUND: &str = "v2_not_found";
}

/// `requests[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestType {
    Create,
    Delete,
    CreateRefusal,
    Get,
    Auth,
}

/// `requests[].state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestState {
    Accepted,
    Successful,
    Invalid,
}

/// What a handler answers when it refuses a call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The requests shape.
    #[error("{status} {kind:?}: {errors:?}")]
    Requests { status: StatusCode, kind: RequestType, errors: Vec<CdekError> },
    /// The errors shape.
    #[error("{status}: {errors:?}")]
    Errors { status: StatusCode, errors: Vec<CdekError> },
    /// OAuth's shape.
    #[error("{status} {error}")]
    OAuth { status: StatusCode, error: &'static str, description: String },
}

impl ApiError {
    pub fn bad_request(kind: RequestType, errors: Vec<CdekError>) -> Self {
        Self::Requests { status: StatusCode::BAD_REQUEST, kind, errors }
    }

    pub fn not_found(kind: RequestType, code: &str, message: impl Into<String>) -> Self {
        Self::Requests { status: StatusCode::NOT_FOUND, kind, errors: vec![CdekError::new(code, message)] }
    }

    pub fn unauthorized(code: &str, message: &str) -> Self {
        Self::Requests {
            status: StatusCode::UNAUTHORIZED,
            kind: RequestType::Auth,
            errors: vec![CdekError::new(code, message)],
        }
    }

    /// The errors shape for an injected fault with this status.
    pub fn fault(status: StatusCode) -> Self {
        let code = if status.is_server_error() {
            codes::INTERNAL_ERROR
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            codes::TOO_MANY_REQUESTS
        } else {
            codes::FAULT_INJECTED
        };
        Self::Errors { status, errors: vec![CdekError::new(code, format!("Injected fault: {status}"))] }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Requests { status, .. } | Self::Errors { status, .. } | Self::OAuth { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::Requests { kind, errors, .. } => json!({
                "requests": [{
                    "request_uuid": Uuid::new_v4(),
                    "type": kind,
                    "date_time": crate::time::now(),
                    "state": RequestState::Invalid,
                    "errors": errors,
                }]
            }),
            Self::Errors { errors, .. } => json!({ "errors": errors, "warnings": [] }),
            Self::OAuth { error, description, .. } => json!({ "error": error, "error_description": description }),
        };
        HttpResponse::build(self.status_code()).json(body)
    }
}
