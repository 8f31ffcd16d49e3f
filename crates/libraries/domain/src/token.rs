//! Short-lived signed tokens: `base64url(purpose ":" subject ":" expires_unix) "."
//! base64url(HMAC-SHA256(secret, payload))`. The purpose is part of what is signed, so a
//! token made for one use (a WebSocket ticket) is refused for another (a courier token)
//! even under the same secret. Checked without calling anyone.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::CourierKey;

type HmacSha256 = Hmac<Sha256>;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The notifier's WebSocket, for one order (subject: the order id).
    LiveTicket,
    /// A courier app's position reports (subject: `<store>/<courier id>`, see
    /// [`sign_courier`]).
    Courier,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::LiveTicket => "live",
            Purpose::Courier => "courier",
        }
    }
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token was made for something else")]
    WrongPurpose,
    #[error("the token has expired")]
    Expired,
    #[error("the courier token names no store; make a new one with `ordertrack-admin courier-token --store`")]
    NoStore,
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "token_malformed",
            Self::BadSignature => "token_forged",
            Self::WrongPurpose => "token_wrong_purpose",
            Self::Expired => "token_expired",
            Self::NoStore => "token_without_store",
        }
    }
}

fn mac(secret: &[u8]) -> Option<HmacSha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    HmacSha256::new_from_slice(secret).ok()
}

/// A token for `subject` that expires at `expires_at`.
pub fn sign(secret: &[u8], purpose: Purpose, subject: &str, expires_at: DateTime<Utc>) -> String {
    let payload = format!("{}:{subject}:{}", purpose.tag(), expires_at.timestamp());
    let signature = mac(secret)
        .map(|mut mac| {
            mac.update(payload.as_bytes());
            mac.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(signature))
}

/// The subject of a genuine, unexpired token made for `purpose`, and when it expires.
pub fn verify(
    secret: &[u8],
    purpose: Purpose,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), TokenError> {
    let (payload, signature) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
    let text = std::str::from_utf8(&payload).map_err(|_| TokenError::Malformed)?;
    // The tag has no ':' and the expiry is digits, so the subject is what lies between
    // (ids may hold ':').
    let (tag, rest) = text.split_once(':').ok_or(TokenError::Malformed)?;
    let (subject, expires) = rest.rsplit_once(':').ok_or(TokenError::Malformed)?;
    // The purpose is checked first: a ticket shown as a courier token is signed with
    // another secret, and "made for something else" helps its holder more than "forged"
    // (the tag is no secret: it is readable in the token).
    if tag != purpose.tag() {
        return Err(TokenError::WrongPurpose);
    }
    let mut mac = mac(secret).ok_or(TokenError::BadSignature)?;
    mac.update(&payload);
    mac.verify_slice(&signature).map_err(|_| TokenError::BadSignature)?;
    let expires =
        expires.parse::<i64>().ok().and_then(|s| Utc.timestamp_opt(s, 0).single()).ok_or(TokenError::Malformed)?;
    if expires <= now {
        return Err(TokenError::Expired);
    }
    Ok((subject.to_owned(), expires))
}

/// A courier app's token: the courier of one store, until `expires_at`.
pub fn sign_courier(secret: &[u8], courier: &CourierKey, expires_at: DateTime<Utc>) -> String {
    sign(secret, Purpose::Courier, &courier.to_string(), expires_at)
}

/// The courier (store and id) of a genuine, unexpired courier token, and when it expires.
/// A token of the time before couriers belonged to stores (no store in it) is refused.
pub fn verify_courier(
    secret: &[u8],
    token: &str,
    now: DateTime<Utc>,
) -> Result<(CourierKey, DateTime<Utc>), TokenError> {
    let (subject, expires) = verify(secret, Purpose::Courier, token, now)?;
    if !subject.contains('/') {
        return Err(TokenError::NoStore);
    }
    let courier = CourierKey::parse(&subject).map_err(|_| TokenError::Malformed)?;
    Ok((courier, expires))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_genuine_token_opens_its_subject_until_it_expires() {
        let now = Utc::now();
        let token = sign(b"secret", Purpose::Courier, "courier-7", now + Duration::seconds(60));
        assert_eq!(verify(b"secret", Purpose::Courier, &token, now).unwrap().0, "courier-7");
        assert_eq!(verify(b"secret", Purpose::Courier, &token, now + Duration::seconds(61)), Err(TokenError::Expired));
    }

    #[test]
    fn forged_malformed_and_misused_tokens_are_refused() {
        let now = Utc::now();
        let token = sign(b"secret", Purpose::Courier, "courier-7", now + Duration::seconds(60));
        assert_eq!(verify(b"other secret", Purpose::Courier, &token, now), Err(TokenError::BadSignature));
        assert_eq!(verify(b"secret", Purpose::LiveTicket, &token, now), Err(TokenError::WrongPurpose));
        let (_, signature) = token.split_once('.').unwrap();
        let other = URL_SAFE_NO_PAD.encode(format!("courier:courier-8:{}", now.timestamp() + 60));
        assert_eq!(
            verify(b"secret", Purpose::Courier, &format!("{other}.{signature}"), now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(b"secret", Purpose::Courier, "garbage", now), Err(TokenError::Malformed));
        assert_eq!(verify(b"secret", Purpose::Courier, "a.b.c", now), Err(TokenError::Malformed));
        // Made for something else under another secret (a ticket shown to the tracker):
        // the more helpful answer.
        let ticket = sign(b"ticket secret", Purpose::LiveTicket, "order-1", now + Duration::seconds(60));
        assert_eq!(verify(b"secret", Purpose::Courier, &ticket, now), Err(TokenError::WrongPurpose));
    }

    #[test]
    fn a_courier_token_names_the_store_and_the_courier() {
        let now = Utc::now();
        let courier = CourierKey::parse("shop:eu/c:7").unwrap();
        let token = sign_courier(b"secret", &courier, now + Duration::seconds(60));
        assert_eq!(verify_courier(b"secret", &token, now).unwrap().0, courier);
        let storeless = sign(b"secret", Purpose::Courier, "c-7", now + Duration::seconds(60));
        assert_eq!(verify_courier(b"secret", &storeless, now), Err(TokenError::NoStore));
        let bad = sign(b"secret", Purpose::Courier, "shop/c 7", now + Duration::seconds(60));
        assert_eq!(verify_courier(b"secret", &bad, now), Err(TokenError::Malformed));
        let ticket = sign(b"secret", Purpose::LiveTicket, "shop/c-7", now + Duration::seconds(60));
        assert_eq!(verify_courier(b"secret", &ticket, now), Err(TokenError::WrongPurpose));
    }
}
