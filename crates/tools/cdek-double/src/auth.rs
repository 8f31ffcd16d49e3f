//! Access tokens: JWT-looking opaque strings, and the `Authorization: Bearer` check every
//! `/v2` call but the token endpoint makes.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use uuid::Uuid;

use crate::errors::{ApiError, codes};
use crate::store::Shared;

pub const SCOPE: &str = "location:all order:all payment:all";

/// Three base64url parts like a JWT; the "signature" is random, so tokens cannot be
/// guessed, and the double only trusts tokens it remembers issuing.
pub fn mint(client_id: &str, jti: Uuid, ttl: Duration) -> String {
    let expires = chrono::Utc::now().timestamp().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let claims = json!({
        "scope": SCOPE.split(' ').collect::<Vec<_>>(),
        "exp": expires,
        "authorities": ["SHARD_ID:double", "CLIENT_ID:double"],
        "jti": jti,
        "client_id": client_id,
    });
    let mut signature = Vec::with_capacity(64);
    for _ in 0..4 {
        signature.extend_from_slice(Uuid::new_v4().as_bytes());
    }
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// Lets the call through only with a live token:
/// no header → `unauthorized`; not `Bearer …` → `v2_authorization_incorrect`;
/// unknown token → `unauthorized`; expired or revoked → `v2_token_expired`. All 401.
pub fn authorize(shared: &Shared, request: &HttpRequest) -> Result<(), ApiError> {
    let Some(header) = request.headers().get(AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            codes::UNAUTHORIZED,
            "Full authentication is required: send a bearer token",
        ));
    };
    let header = header.to_str().unwrap_or_default().trim();
    let token = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
        _ => {
            return Err(ApiError::unauthorized(
                codes::AUTHORIZATION_INCORRECT,
                "The Authorization header must be \"Bearer <access_token>\"",
            ));
        }
    };
    shared.check_token(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_jwts_and_differ() {
        let a = mint("id", Uuid::new_v4(), Duration::from_secs(3600));
        let b = mint("id", Uuid::new_v4(), Duration::from_secs(3600));
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('.').collect();
        assert_eq!(parts.len(), 3);
        for part in parts {
            assert!(URL_SAFE_NO_PAD.decode(part).is_ok());
        }
    }
}
