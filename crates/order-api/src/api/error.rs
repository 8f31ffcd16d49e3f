//! The REST API's one error type. Every error answers with a stable machine-readable
//! code (`{"error": {"code", "message", "field"?}}`); internals are logged once with
//! their whole cause chain and never shown to the caller.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use domain::order::CommandError;
use domain::validation::FieldError;
use orders_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("the body is not valid JSON for this request: {message}")]
    MalformedBody { field: Option<String>, message: String },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Unauthorized { code: &'static str, message: &'static str },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    #[error("{message}")]
    PayloadTooLarge { message: String },
    #[error("this path does not accept this method")]
    MethodNotAllowed,
    #[error("the service is temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_failed`, `order_not_found`, `too_late_to_cancel`, ...
    #[schema(example = "validation_failed")]
    pub code: &'static str,
    pub message: String,
    /// The offending field's path, for input errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "destination.lat")]
    pub field: Option<String>,
    /// Why the field is wrong: `required`, `out_of_range`, `invalid_format`, `too_long`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "out_of_range")]
    pub reason: Option<&'static str>,
}

impl ApiError {
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound { code, message: message.into() }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "validation_failed",
            Self::MalformedBody { .. } => "malformed_body",
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Gone { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "body_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::MalformedBody { .. } | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Gone { .. } => StatusCode::GONE,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (message, field, reason) = match self {
            Self::Invalid(error) => (error.message.clone(), Some(error.field.clone()), Some(error.code)),
            Self::MalformedBody { field, message } => (message.clone(), field.clone(), None),
            Self::Unavailable(_) => {
                ("the service is temporarily unavailable, try again shortly".to_owned(), None, None)
            }
            Self::Internal(_) => ("something went wrong on our side".to_owned(), None, None),
            other => (other.to_string(), None, None),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unavailable(_)) {
            response.insert_header(("Retry-After", "1"));
        }
        response.json(ErrorBody { error: ErrorDetail { code: self.code(), message, field, reason } })
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::Invalid(error)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(id) => Self::not_found("order_not_found", format!("no order {id}")),
            StoreError::WrongStore(id) => Self::Forbidden {
                code: "order_of_another_store",
                message: format!("order {id} belongs to another store"),
            },
            StoreError::VersionConflict { expected, current } => Self::Conflict {
                code: "version_conflict",
                message: format!("the order is at version {current}, not {expected}; fetch it and try again"),
            },
            StoreError::DuplicateStoreOrderNumber(number) => Self::Conflict {
                code: "duplicate_store_order_number",
                message: format!("an order with store order number {number} already exists"),
            },
            StoreError::IdempotencyKeyReused => Self::Unprocessable {
                code: "idempotency_key_reused",
                message: "this Idempotency-Key was already used with a different request body".into(),
            },
            StoreError::Command(CommandError::Invalid(field)) => Self::Invalid(field),
            StoreError::Command(CommandError::Transition(transition)) => {
                Self::Conflict { code: transition.code(), message: transition.to_string() }
            }
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
            StoreError::Internal(error) => Self::Internal(error),
        }
    }
}
