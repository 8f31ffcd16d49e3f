//! The one error type of every HTTP API in ordertrack: a status, a stable
//! machine-readable code, a message safe to show, optionally the field at fault, and
//! (for logs only) the cause. The body is always
//! `{"error": {"code", "message", "field"?, "reason"?}}`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use domain::validation::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::errors::{Answer, Answerable};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    reason: Option<&'static str>,
    /// Logged (once, by the request log) and never shown.
    cause: Option<anyhow::Error>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `validation_failed`, `order_not_found`, ...
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
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, reason: None, cause: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this path does not accept this method")
    }

    /// A body that is not the JSON this request takes; `field` is the path serde stopped at.
    pub fn malformed_body(field: Option<String>, message: impl Into<String>) -> Self {
        Self { field, ..Self::bad_request("malformed_body", message) }
    }

    /// A dependency is down: 503 with `Retry-After`, the cause logged.
    pub fn unavailable(code: &'static str, cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "the service is temporarily unavailable, try again shortly",
            )
        }
    }

    /// Something that should not happen: 500, the cause logged and not shown.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side")
        }
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// A context's error, answered through its table (`crate::errors`).
impl<E: Answerable> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self::from_answer(error.answer())
    }
}

impl ApiError {
    pub fn from_answer(answer: Answer) -> Self {
        let status = StatusCode::from_u16(answer.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match answer.field {
            Some(field) => field.into(),
            None => Self { cause: answer.cause, ..Self::new(status, answer.code, answer.message) },
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self {
            field: Some(error.field),
            reason: Some(error.code),
            ..Self::bad_request("validation_failed", error.message)
        }
    }
}

/// What the request log prints: the code, the message and the whole cause chain.
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause:#}")?;
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(("Retry-After", "1"));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is never read, so the connection cannot carry another
            // request: say so (`Connection: close`), and a keep-alive client opens a new
            // one instead of writing its next request into a closed socket.
            response.force_close();
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                field: self.field.clone(),
                reason: self.reason,
            },
        })
    }
}
