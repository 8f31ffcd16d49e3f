//! The errors of the orders context, and how each is answered (one table, used by both
//! front doors).

use domain::ids::OrderId;
use domain::order::CommandError;
use platform::errors::{Answer, Answerable, Kind};

#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    #[error("order {0} not found")]
    NotFound(OrderId),
    #[error("order {0} belongs to another store")]
    WrongStore(OrderId),
    #[error("the order is at version {current}, not {expected}")]
    VersionConflict { expected: i64, current: i64 },
    #[error("an order with store order number {0} already exists")]
    DuplicateStoreOrderNumber(String),
    #[error("this idempotency key was used with a different request")]
    IdempotencyKeyReused,
    #[error("the response saved under this idempotency key cannot be opened with the configured keys")]
    SavedResponseUnreadable,
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for OrdersError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &error {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
                Self::Unavailable(error.to_string())
            }
            Error::BrokenTransactionManager => Self::Unavailable(error.to_string()),
            _ => Self::Internal(anyhow::Error::new(error)),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for OrdersError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<crate::store::rows::CorruptRow> for OrdersError {
    fn from(error: crate::store::rows::CorruptRow) -> Self {
        Self::Internal(anyhow::Error::new(error))
    }
}

/// The one table of how each error is answered, by order-api and order-grpc alike:
/// its stable code, its message, its kind (`platform::errors::Kind` gives the HTTP
/// status and the gRPC code of each kind).
impl Answerable for OrdersError {
    fn answer(self) -> Answer {
        match self {
            // Another store's order is answered exactly like one that does not exist, so
            // a store cannot tell another store's order ids from made-up ones
            // (docs/security.md).
            OrdersError::NotFound(id) | OrdersError::WrongStore(id) => {
                Answer::new(Kind::NotFound, "order_not_found", format!("no order {id}"))
            }
            OrdersError::VersionConflict { expected, current } => Answer::new(
                Kind::Stale,
                "version_conflict",
                format!("the order is at version {current}, not {expected}; fetch it and try again"),
            ),
            OrdersError::DuplicateStoreOrderNumber(number) => Answer::new(
                Kind::AlreadyExists,
                "duplicate_store_order_number",
                format!("an order with store order number {number} already exists"),
            ),
            OrdersError::IdempotencyKeyReused => Answer::new(
                Kind::Unprocessable,
                "idempotency_key_reused",
                "this idempotency key was already used with a different request",
            ),
            // The response was sealed under a key this service no longer has (rotated
            // without keeping it as the previous key). Nothing is written; the order, if
            // it was created, is found by its store order number.
            OrdersError::SavedResponseUnreadable => Answer::new(
                Kind::Refused,
                "idempotency_response_unavailable",
                "the response saved under this idempotency key can no longer be replayed; look the order up by its store_order_number",
            ),
            OrdersError::Command(CommandError::Invalid(field)) => Answer::invalid(field),
            OrdersError::Command(CommandError::Transition(transition)) => {
                Answer::new(Kind::Refused, transition.code(), transition.to_string())
            }
            OrdersError::Unavailable(reason) => Answer::unavailable(anyhow::anyhow!(reason)),
            OrdersError::Internal(error) => Answer::internal(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::ids::OrderId;
    use domain::order::CommandError;
    use domain::status::{OrderStatus, TransitionError};
    use domain::validation::FieldError;
    use platform::errors::{Answerable, Kind};

    use super::OrdersError;

    fn row(error: OrdersError) -> (&'static str, u16, i32) {
        let answer = error.answer();
        (answer.code, answer.kind.http_status(), answer.kind.grpc_code())
    }

    #[test]
    fn each_error_has_one_code_http_status_and_grpc_code() {
        let id = OrderId::new();
        assert_eq!(row(OrdersError::NotFound(id)), ("order_not_found", 404, 5));
        // Another store's order looks exactly like a missing one.
        assert_eq!(row(OrdersError::WrongStore(id)), row(OrdersError::NotFound(id)));
        assert_eq!(row(OrdersError::VersionConflict { expected: 1, current: 2 }), ("version_conflict", 409, 10));
        assert_eq!(row(OrdersError::DuplicateStoreOrderNumber("A-1".into())), ("duplicate_store_order_number", 409, 6));
        assert_eq!(row(OrdersError::IdempotencyKeyReused), ("idempotency_key_reused", 422, 9));
        assert_eq!(row(OrdersError::SavedResponseUnreadable), ("idempotency_response_unavailable", 409, 9));
        let field = FieldError::new("message", "required", "is required");
        assert_eq!(row(OrdersError::Command(CommandError::Invalid(field))), ("validation_failed", 400, 3));
        let transition = TransitionError::Final { status: OrderStatus::Delivered };
        let code = transition.code();
        assert_eq!(row(OrdersError::Command(transition.into())), (code, 409, 9));
        assert_eq!(row(OrdersError::Unavailable("down".into())), ("service_unavailable", 503, 14));
        assert_eq!(row(OrdersError::Internal(anyhow::anyhow!("bug"))), ("internal_error", 500, 13));
    }

    #[test]
    fn causes_are_kept_for_the_logs_and_not_put_in_the_message() {
        let answer = OrdersError::Internal(anyhow::anyhow!("connection string postgres://secret")).answer();
        assert_eq!(answer.kind, Kind::Internal);
        assert!(!answer.message.contains("secret"));
        assert!(format!("{:#}", answer.cause.expect("a cause")).contains("secret"));
    }
}
