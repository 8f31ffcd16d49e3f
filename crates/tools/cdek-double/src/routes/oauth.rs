//! `POST /v2/oauth/token`: OAuth 2 client credentials, as query parameters (as CDEK
//! documents) or as an `application/x-www-form-urlencoded` body (as many clients send).

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::auth::SCOPE;
use crate::errors::ApiError;
use crate::store::Shared;

fn pairs(encoded: &str) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(encoded).map(web::Query::into_inner).unwrap_or_default()
}

/// 200 with a token; 400 `invalid_request` / `unsupported_grant_type` for a wrong grant;
/// 401 `invalid_client` for wrong or missing credentials.
pub async fn token(shared: web::Data<Shared>, request: HttpRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    let mut params = pairs(request.query_string());
    if let Ok(body) = std::str::from_utf8(&body) {
        params.extend(pairs(body));
    }
    let param = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    match param("grant_type") {
        None => {
            return Err(ApiError::OAuth {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_request",
                description: "Missing grant type".to_owned(),
            });
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(ApiError::OAuth {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: format!("Unsupported grant type: {other}"),
            });
        }
    }
    let good = param("client_id") == Some(shared.config.client_id.as_str())
        && param("client_secret") == Some(shared.config.client_secret.as_str());
    if !good {
        return Err(ApiError::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "Bad client credentials".to_owned(),
        });
    }
    let grant = shared.issue_token();
    Ok(HttpResponse::Ok().json(json!({
        "access_token": grant.access_token,
        "token_type": "bearer",
        "expires_in": grant.expires_in,
        "scope": SCOPE,
        "jti": grant.jti,
    })))
}
