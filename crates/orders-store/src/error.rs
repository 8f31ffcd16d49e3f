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
