//! How a failure is answered, the same through every front door: each context maps its
//! errors to an [`Answer`] (a stable machine-readable code, a message safe to show, a
//! [`Kind`]) in one table of its own (`orders::OrdersError::answer`), and [`Kind`] is the
//! one table from a kind to its HTTP status and its gRPC code. The REST doors turn an
//! answer into an [`crate::api_error::ApiError`], order-grpc into a `tonic::Status`;
//! neither maps a context's errors again.

use domain::validation::FieldError;

/// The kinds of failure. Each is answered with one HTTP status and one gRPC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A field of the request is wrong (the answer names it).
    Invalid,
    /// The thing asked for does not exist (or is not the caller's to see).
    NotFound,
    /// The caller's copy is stale (optimistic concurrency): fetch again and retry.
    Stale,
    /// The thing to create exists already.
    AlreadyExists,
    /// The request is refused in the current state of the thing (e.g. a status transition).
    Refused,
    /// The request cannot be processed as it is (e.g. a reused idempotency key).
    Unprocessable,
    /// A dependency is down: retry shortly.
    Unavailable,
    /// A fault of ours.
    Internal,
}

/// The gRPC status codes used (numbers of `google.rpc.Code`).
pub mod grpc_code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const NOT_FOUND: i32 = 5;
    pub const ALREADY_EXISTS: i32 = 6;
    pub const FAILED_PRECONDITION: i32 = 9;
    pub const ABORTED: i32 = 10;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
}

impl Kind {
    /// The one table: a kind's HTTP status and gRPC code.
    pub fn statuses(self) -> (u16, i32) {
        use grpc_code::*;
        match self {
            Kind::Invalid => (400, INVALID_ARGUMENT),
            Kind::NotFound => (404, NOT_FOUND),
            Kind::Stale => (409, ABORTED),
            Kind::AlreadyExists => (409, ALREADY_EXISTS),
            Kind::Refused => (409, FAILED_PRECONDITION),
            Kind::Unprocessable => (422, FAILED_PRECONDITION),
            Kind::Unavailable => (503, UNAVAILABLE),
            Kind::Internal => (500, INTERNAL),
        }
    }

    pub fn http_status(self) -> u16 {
        self.statuses().0
    }

    pub fn grpc_code(self) -> i32 {
        self.statuses().1
    }
}

/// How one failure is answered.
#[derive(Debug)]
pub struct Answer {
    pub kind: Kind,
    /// Stable and machine-readable: `order_not_found`, `version_conflict`, ...
    pub code: &'static str,
    /// Safe to show to the caller.
    pub message: String,
    /// For [`Kind::Invalid`]: the field at fault.
    pub field: Option<FieldError>,
    /// For the logs only, never shown (unavailable and internal failures).
    pub cause: Option<anyhow::Error>,
}

impl Answer {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into(), field: None, cause: None }
    }

    /// A field error: `validation_failed`, naming the field.
    pub fn invalid(field: FieldError) -> Self {
        Self { field: Some(field.clone()), ..Self::new(Kind::Invalid, "validation_failed", field.message) }
    }

    /// A dependency is down; the cause is logged, the message is generic.
    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                Kind::Unavailable,
                "service_unavailable",
                "the service is temporarily unavailable, try again shortly",
            )
        }
    }

    /// A fault of ours; the cause is logged, the message is generic.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(Kind::Internal, "internal_error", "something went wrong on our side")
        }
    }
}

/// An error a front door answers through its context's table.
pub trait Answerable {
    fn answer(self) -> Answer;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_client_or_server_status_and_a_non_ok_grpc_code() {
        for kind in [
            Kind::Invalid,
            Kind::NotFound,
            Kind::Stale,
            Kind::AlreadyExists,
            Kind::Refused,
            Kind::Unprocessable,
            Kind::Unavailable,
            Kind::Internal,
        ] {
            let (http, grpc) = kind.statuses();
            assert!((400..600).contains(&http), "{kind:?}: {http}");
            assert!((1..=16).contains(&grpc), "{kind:?}: {grpc}");
            // Client faults are 4xx, ours and our dependencies' 5xx, in both protocols.
            let ours = matches!(kind, Kind::Unavailable | Kind::Internal);
            assert_eq!(http >= 500, ours, "{kind:?}");
        }
    }

    #[test]
    fn a_field_error_is_answered_as_validation_failed_naming_the_field() {
        let answer = Answer::invalid(FieldError::new("customer.name", "required", "is required"));
        assert_eq!((answer.kind, answer.code), (Kind::Invalid, "validation_failed"));
        assert_eq!(answer.field.map(|f| f.field).as_deref(), Some("customer.name"));
    }
}
