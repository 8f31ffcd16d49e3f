//! The public tracking endpoint: what a customer's tracking link opens. No API key; the
//! unguessable token is the credential. No personal data in the answer.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use orders::Tracked;

use crate::api::views::{LiveView, PublicOrderView, TrackingPageView};
use crate::state::AppState;
use platform::api_error::ApiError;

/// The order's public view and a short-lived ticket for the notifier's WebSocket. Not
/// cached: it holds the courier's live position, and it is read once per page load
/// (updates then come over the WebSocket).
#[utoipa::path(
    get, path = "/track/{token}", tag = "tracking",
    params(("token" = String, Path, description = "The tracking token from the tracking link")),
    responses((status = 200, body = TrackingPageView))
)]
pub async fn public_view(
    state: web::Data<AppState>,
    request: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // A browser opening the link gets the page, which then asks this URL for JSON (and
    // shows a clear message itself when the token is unknown or expired).
    if super::pages::wants_html(&request) {
        if let Some(page) = state.pages.track() {
            return Ok(page);
        }
    }
    let track = match state.orders.by_tracking_token(&token).await? {
        Tracked::Found(track) => track,
        Tracked::Expired => {
            return Err(ApiError::gone("tracking_link_expired", "this tracking link has expired"));
        }
        Tracked::NotFound => {
            return Err(ApiError::not_found("tracking_link_not_found", "this tracking link does not exist"));
        }
    };
    let expires_at = Utc::now() + state.tracking.ticket_ttl;
    let order_id = track.details.order.id;
    let view = TrackingPageView {
        order: PublicOrderView::of(&track),
        live: LiveView {
            url: state.tracking.live_url.clone(),
            ticket: domain::ticket::sign(state.tracking.ticket_secret.expose().as_bytes(), order_id, expires_at),
            expires_at,
        },
    };
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).insert_header(("Vary", "Accept")).json(view))
}
