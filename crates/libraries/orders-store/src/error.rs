//! The store's error type. Each front door maps it to its own status codes.

use domain::ids::OrderId;
use domain::order::CommandError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for StoreError {
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

impl From<diesel_async::pooled_connection::deadpool::PoolError> for StoreError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<crate::rows::CorruptRow> for StoreError {
    fn from(error: crate::rows::CorruptRow) -> Self {
        Self::Internal(anyhow::Error::new(error))
    }
}

/// How the REST API answers each store error (order-grpc maps them to gRPC statuses).
impl From<StoreError> for platform::api_error::ApiError {
    fn from(error: StoreError) -> Self {
        use platform::api_error::ApiError;
        match error {
            StoreError::NotFound(id) => ApiError::not_found("order_not_found", format!("no order {id}")),
            // Answered exactly like an order that does not exist, so a store cannot tell
            // another store's order ids from made-up ones (docs/security.md).
            StoreError::WrongStore(id) => ApiError::not_found("order_not_found", format!("no order {id}")),
            StoreError::VersionConflict { expected, current } => ApiError::conflict(
                "version_conflict",
                format!("the order is at version {current}, not {expected}; fetch it and try again"),
            ),
            StoreError::DuplicateStoreOrderNumber(number) => ApiError::conflict(
                "duplicate_store_order_number",
                format!("an order with store order number {number} already exists"),
            ),
            StoreError::IdempotencyKeyReused => ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request body",
            ),
            StoreError::Command(CommandError::Invalid(field)) => field.into(),
            StoreError::Command(CommandError::Transition(transition)) => {
                ApiError::conflict(transition.code(), transition.to_string())
            }
            StoreError::Unavailable(reason) => ApiError::unavailable("service_unavailable", anyhow::anyhow!(reason)),
            StoreError::Internal(error) => ApiError::internal(error),
        }
    }
}
