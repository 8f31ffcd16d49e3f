//! `POST /webhooks/cdek/{secret}`: CDEK's ORDER_STATUS webhooks. CDEK does not sign them,
//! so the unguessable secret in the URL is the guard (a wrong one: 404, nothing
//! recorded), and the body is only a hint: it is recorded durably, answered 200 at once,
//! and the worker then reads the order from CDEK and acts on what CDEK says there.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use platform::api_error::ApiError;
use platform::http::RequestLog;
use platform::json_body::RawBody;
use slog::{info, warn};

use super::AppState;
use crate::cdek::webhook::{self, Received};

pub async fn receive(
    state: web::Data<AppState>,
    request: HttpRequest,
    secret: web::Path<String>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    let count = |outcome: &str| state.webhooks.with_label_values(&[outcome]).inc();
    if !state.webhook_secret.matches(&secret) {
        count("wrong_secret");
        return Err(ApiError::not_found("not_found", "no such resource"));
    }
    let log = request.extensions().get::<RequestLog>().map(|l| l.0.clone());
    let (payload, json) = match webhook::parse(&body.0) {
        Ok(Received::OrderStatus { payload, json }) => (payload, json),
        // Not subscribed to; answered 200 so CDEK does not switch the URL off.
        Ok(Received::Other { .. }) => {
            count("ignored");
            return Ok(HttpResponse::Ok().json(serde_json::json!({})));
        }
        Err(error) => {
            count("malformed");
            return Err(ApiError::bad_request("invalid_webhook", error.to_string()));
        }
    };
    let known = state
        .store
        .record_webhook(&payload.uuid, &payload.attributes.code, json)
        .await
        .map_err(|e| ApiError::unavailable("storage_unavailable", e))?;
    count(if known { "recorded" } else { "unknown_order" });
    if let Some(log) = log {
        if known {
            info!(log, "CDEK webhook recorded"; "cdek_uuid" => &payload.uuid, "code" => &payload.attributes.code);
        } else {
            warn!(log, "CDEK webhook for an order not followed, recorded only";
                "cdek_uuid" => &payload.uuid, "code" => &payload.attributes.code);
        }
    }
    if known {
        state.wake.notify_one();
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}
