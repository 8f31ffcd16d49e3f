//! Short-lived tickets for the notifier's WebSocket. `GET /track/{token}` hands one out
//! for one order; the notifier checks it with the shared secret, without calling anyone.

use chrono::{DateTime, Utc};

use crate::ids::OrderId;
use crate::token::{self, Purpose, TokenError};

/// A ticket for `order` that expires at `expires_at`.
pub fn sign(secret: &[u8], order: OrderId, expires_at: DateTime<Utc>) -> String {
    token::sign(secret, Purpose::LiveTicket, &order.to_string(), expires_at)
}

/// The order a ticket opens, if it is genuine and not expired at `now`.
pub fn verify(secret: &[u8], ticket: &str, now: DateTime<Utc>) -> Result<(OrderId, DateTime<Utc>), TokenError> {
    let (subject, expires) = token::verify(secret, Purpose::LiveTicket, ticket, now)?;
    let order = subject.parse().map_err(|_| TokenError::Malformed)?;
    Ok((order, expires))
}
