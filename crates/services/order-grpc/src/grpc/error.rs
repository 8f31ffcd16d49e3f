//! The gRPC mapping of errors: a proper status code, a safe message, and a
//! `google.rpc.ErrorInfo` whose reason is the same machine-readable code the REST API
//! uses. Field errors also carry a `google.rpc.BadRequest` naming the field.

use std::collections::HashMap;

use domain::order::CommandError;
use domain::validation::FieldError;
use orders_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

const DOMAIN: &str = "ordertrack";

/// A status with an ErrorInfo reason.
pub fn status(code: Code, reason: &str, message: impl Into<String>) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, DOMAIN, HashMap::new()))
}

pub fn invalid(error: &FieldError) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "validation_failed",
        DOMAIN,
        HashMap::from([("field".to_owned(), error.field.clone()), ("reason".to_owned(), error.code.to_owned())]),
    );
    details.add_bad_request_violation(error.field.clone(), error.message.clone());
    Status::with_error_details(Code::InvalidArgument, format!("{}: {}", error.field, error.message), details)
}

/// The store's errors as statuses. Internal failures are logged by the caller and
/// answered without their details.
pub fn from_store(error: StoreError) -> Status {
    match error {
        StoreError::NotFound(id) => status(Code::NotFound, "order_not_found", format!("no order {id}")),
        // Like an order that does not exist: another store's ids do not leak (docs/security.md).
        StoreError::WrongStore(id) => status(Code::NotFound, "order_not_found", format!("no order {id}")),
        StoreError::VersionConflict { expected, current } => {
            status(Code::Aborted, "version_conflict", format!("the order is at version {current}, not {expected}"))
        }
        StoreError::DuplicateStoreOrderNumber(number) => status(
            Code::AlreadyExists,
            "duplicate_store_order_number",
            format!("an order with store order number {number} already exists"),
        ),
        StoreError::IdempotencyKeyReused => status(
            Code::FailedPrecondition,
            "idempotency_key_reused",
            "this idempotency key was used with a different request",
        ),
        StoreError::Command(CommandError::Invalid(field)) => invalid(&field),
        StoreError::Command(CommandError::Transition(transition)) => {
            status(Code::FailedPrecondition, transition.code(), transition.to_string())
        }
        StoreError::Unavailable(_) => {
            status(Code::Unavailable, "service_unavailable", "the database is unavailable, try again shortly")
        }
        StoreError::Internal(_) => status(Code::Internal, "internal_error", "something went wrong on our side"),
    }
}
