//! The gRPC mapping of errors: a proper status code, a safe message, and a
//! `google.rpc.ErrorInfo` whose reason is the same machine-readable code the REST API
//! uses. Field errors also carry a `google.rpc.BadRequest` naming the field.

use std::collections::HashMap;

use domain::validation::FieldError;
use platform::errors::Answer;
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

/// An answer (from a context's table, `platform::errors`) as a status: the kind's gRPC
/// code, the code as the ErrorInfo reason, a field error as a BadRequest. Causes are
/// logged by the caller and never sent.
pub fn from_answer(answer: Answer) -> Status {
    match answer.field {
        Some(field) => invalid(&field),
        None => status(Code::from_i32(answer.kind.grpc_code()), answer.code, answer.message),
    }
}
