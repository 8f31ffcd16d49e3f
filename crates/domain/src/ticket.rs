//! Short-lived signed tickets for the notifier's WebSocket. `GET /track/{token}` hands
//! one out; the notifier checks it with the shared secret, without calling anyone.
//!
//! Format: `base64url(order_id ":" expires_unix) "." base64url(HMAC-SHA256(secret, payload))`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::OrderId;

type HmacSha256 = Hmac<Sha256>;

/// Why a ticket is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("the ticket is malformed")]
    Malformed,
    #[error("the ticket's signature does not match")]
    BadSignature,
    #[error("the ticket has expired")]
    Expired,
}

impl TicketError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "ticket_malformed",
            Self::BadSignature => "ticket_forged",
            Self::Expired => "ticket_expired",
        }
    }
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable_mac())
}

#[allow(clippy::panic)]
fn unreachable_mac() -> HmacSha256 {
    panic!("HMAC-SHA256 takes keys of any length")
}

/// A ticket for `order` that expires at `expires_at`.
pub fn sign(secret: &[u8], order: OrderId, expires_at: DateTime<Utc>) -> String {
    let payload = format!("{order}:{}", expires_at.timestamp());
    let mut mac = mac(secret);
    mac.update(payload.as_bytes());
    let signature = mac.finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(signature))
}

/// The order a ticket opens, if it is genuine and not expired at `now`.
pub fn verify(secret: &[u8], ticket: &str, now: DateTime<Utc>) -> Result<(OrderId, DateTime<Utc>), TicketError> {
    let (payload, signature) = ticket.split_once('.').ok_or(TicketError::Malformed)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TicketError::Malformed)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TicketError::Malformed)?;
    let mut mac = mac(secret);
    mac.update(&payload);
    mac.verify_slice(&signature).map_err(|_| TicketError::BadSignature)?;
    let payload = std::str::from_utf8(&payload).map_err(|_| TicketError::Malformed)?;
    let (order, expires) = payload.split_once(':').ok_or(TicketError::Malformed)?;
    let order: OrderId = order.parse().map_err(|_| TicketError::Malformed)?;
    let expires =
        expires.parse::<i64>().ok().and_then(|s| Utc.timestamp_opt(s, 0).single()).ok_or(TicketError::Malformed)?;
    if expires <= now {
        return Err(TicketError::Expired);
    }
    Ok((order, expires))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_genuine_ticket_opens_its_order_until_it_expires() {
        let order = OrderId::new();
        let now = Utc::now();
        let ticket = sign(b"secret", order, now + Duration::seconds(60));
        assert_eq!(verify(b"secret", &ticket, now).unwrap().0, order);
        assert_eq!(verify(b"secret", &ticket, now + Duration::seconds(61)), Err(TicketError::Expired));
    }

    #[test]
    fn forged_and_malformed_tickets_are_refused() {
        let order = OrderId::new();
        let now = Utc::now();
        let ticket = sign(b"secret", order, now + Duration::seconds(60));
        assert_eq!(verify(b"other secret", &ticket, now), Err(TicketError::BadSignature));
        // Another order's id with this ticket's signature.
        let (_, signature) = ticket.split_once('.').unwrap();
        let forged =
            format!("{}.{signature}", URL_SAFE_NO_PAD.encode(format!("{}:{}", OrderId::new(), now.timestamp() + 60)));
        assert_eq!(verify(b"secret", &forged, now), Err(TicketError::BadSignature));
        assert_eq!(verify(b"secret", "garbage", now), Err(TicketError::Malformed));
        assert_eq!(verify(b"secret", "a.b.c", now), Err(TicketError::Malformed));
    }
}
