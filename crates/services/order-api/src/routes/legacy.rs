//! The older order tracking service's routes, for the clients written against it.
//!
//! Each of its singular routes is the handler of the plural route registered on a second
//! path, so it is the same operation: the same storefront key, answers, errors, body
//! limits and `Idempotency-Key` behaviour (a key used on `POST /order` is the same key on
//! `POST /orders`). The OpenAPI document lists each as a deprecated alias of the plural
//! operation, with an operationId of its own ([`DeprecatedAliases`]); new clients take the
//! plural. Metrics and logs name the route pattern, so ops can see who still calls them.
//!
//! | old route | the same operation as |
//! | --- | --- |
//! | POST /order | POST /orders (`GET /orders` was already plural) |
//! | GET, DELETE /order/{id} | GET, DELETE /orders/{id} |
//! | GET, PATCH /order/{id}/status | GET, PATCH /orders/{id}/status |
//! | GET /order/{id}/track | GET /orders/{id}/track |
//! | GET /order/{id}/delivery-time | GET /orders/{id}/delivery-time |
//! | POST /order/{id}/assign-courier | POST /orders/{id}/assign-courier |
//! | POST /order/{id}/notify | POST /orders/{id}/notify |
//! | GET /courier/{id}/location | GET /couriers/{id}/location |
//! | GET /courier/{id}/orders | GET /couriers/{id}/orders |
//!
//! The old service pushed live updates on its own `/ws`. Here they come from the notifier's
//! `/ws?ticket=`, with a ticket from `GET /track/{token}` (docs/websocket.md). order-api's
//! `/ws` never upgrades: it answers every `GET` with 410 `websocket_moved`, naming the
//! notifier's URL in the message and in a `Link` header ([`websocket_moved`]).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::Modify;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{Deprecated, OpenApi};

use super::{one, one_order_and_courier, orders};
use crate::state::AppState;
use platform::api_error::{ErrorBody, ErrorDetail};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(one("/order", "POST", web::post().to(orders::create)))
        .configure(|config| one_order_and_courier(config, "/order", "/courier"))
        .service(one("/ws", "GET", web::get().to(websocket_moved)));
}

/// An old route as the OpenAPI document shows it: a copy of the operation of `of` (the
/// same method) under `path`, deprecated, with an operationId of its own.
pub struct Alias {
    pub method: HttpMethod,
    pub path: &'static str,
    pub of: &'static str,
    pub operation_id: &'static str,
}

/// Every alias [`configure`] registers.
pub const ALIASES: [Alias; 11] = [
    alias(HttpMethod::Post, "/order", "/orders", "legacy_create_order"),
    alias(HttpMethod::Get, "/order/{id}", "/orders/{id}", "legacy_get_order"),
    alias(HttpMethod::Delete, "/order/{id}", "/orders/{id}", "legacy_cancel_order"),
    alias(HttpMethod::Get, "/order/{id}/status", "/orders/{id}/status", "legacy_get_order_status"),
    alias(HttpMethod::Patch, "/order/{id}/status", "/orders/{id}/status", "legacy_update_order_status"),
    alias(HttpMethod::Get, "/order/{id}/track", "/orders/{id}/track", "legacy_track_order"),
    alias(HttpMethod::Get, "/order/{id}/delivery-time", "/orders/{id}/delivery-time", "legacy_get_delivery_time"),
    alias(HttpMethod::Post, "/order/{id}/assign-courier", "/orders/{id}/assign-courier", "legacy_assign_courier"),
    alias(HttpMethod::Post, "/order/{id}/notify", "/orders/{id}/notify", "legacy_notify_customer"),
    alias(HttpMethod::Get, "/courier/{id}/location", "/couriers/{id}/location", "legacy_get_courier_location"),
    alias(HttpMethod::Get, "/courier/{id}/orders", "/couriers/{id}/orders", "legacy_list_courier_orders"),
];

const fn alias(method: HttpMethod, path: &'static str, of: &'static str, operation_id: &'static str) -> Alias {
    Alias { method, path, of, operation_id }
}

/// The tag of the old routes in the OpenAPI document.
pub const TAG: &str = "legacy";

/// Adds the [`ALIASES`] to the document, each a copy of its plural operation (so its
/// parameters, body and answers cannot drift from it), and marks them and `GET /ws`
/// deprecated. Runs after the other modifiers, so the copies carry the common answers too.
pub struct DeprecatedAliases;

impl Modify for DeprecatedAliases {
    fn modify(&self, openapi: &mut OpenApi) {
        for alias in &ALIASES {
            let Some(current) = openapi.paths.get_path_operation(alias.of, alias.method.clone()) else {
                continue; // tests/legacy_routes.rs checks that every alias is in the document
            };
            let plural = format!("{} {}", method_name(&alias.method), alias.of);
            let mut operation = current.clone();
            operation.operation_id = Some(alias.operation_id.to_owned());
            operation.deprecated = Some(Deprecated::True);
            operation.tags = Some(vec![TAG.to_owned()]);
            operation.summary = Some(format!("Deprecated alias of `{plural}`"));
            let what = [current.summary.as_deref(), current.description.as_deref()]
                .into_iter()
                .flatten()
                .filter(|text| !text.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n");
            operation.description = Some(format!(
                "Deprecated: use `{plural}` instead. This is the older service's route, kept for its \
                 clients: the same operation as `{plural}`, with the same API key, answers and errors.\n\n{what}"
            ));
            openapi.paths.add_path_operation(alias.path, vec![alias.method.clone()], operation);
        }
        if let Some(websocket) = openapi.paths.paths.get_mut("/ws").and_then(|item| item.get.as_mut()) {
            websocket.deprecated = Some(Deprecated::True);
        }
    }
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Put => "PUT",
        HttpMethod::Post => "POST",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

/// The older service's WebSocket. Live updates now come from the notifier's `/ws?ticket=`
/// (its URL is `live.url` of `GET /track/{token}`, the ticket `live.ticket`); this path
/// never upgrades, whether or not the request asks to.
///
/// 410 Gone rather than 404 (which says the path was never served, so an operator looks for
/// a wrong host), 426 (which asks the client to switch to the protocol it just asked for)
/// or a redirect (browsers do not follow one on a WebSocket handshake, and the notifier
/// would refuse a client without a ticket anyway). A browser's WebSocket API does not show
/// a refused handshake's answer; other clients and people with curl read it.
///
/// The answer is the standard error body (its message names the notifier's URL and how to
/// get a ticket) with a `Link: <live url>; rel="alternate"` header for programs.
#[utoipa::path(
    get, path = "/ws", tag = "legacy", operation_id = "legacy_websocket",
    responses(
        // The body and the code come from the error table (`docs.rs`); the header stays.
        (status = 410, description = "`websocket_moved`",
            headers(("Link" = String, description = "`<live url>; rel=\"alternate\"`: the notifier's WebSocket"))),
    )
)]
pub async fn websocket_moved(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let live_url = state.tracking.live_url.clone();
    let message = format!(
        "order-api serves no WebSocket: live updates come from the notifier at {live_url}?ticket=<ticket>, \
         with the ticket from GET /track/{{token}} (live.url and live.ticket; docs/websocket.md)"
    );
    let mut response = HttpResponse::Gone();
    // The URL comes from the configuration, which checks its scheme only; a URL that is
    // not a valid header value is still in the body.
    if let Ok(link) = header::HeaderValue::from_str(&format!("<{live_url}>; rel=\"alternate\"")) {
        response.insert_header((header::LINK, link));
    }
    // A refused handshake ends the connection (actix would otherwise echo `Connection:
    // upgrade` on it); a plain GET keeps it alive.
    if request.head().upgrade() {
        response.force_close();
    }
    response.json(ErrorBody { error: ErrorDetail { code: "websocket_moved", message, field: None, reason: None } })
}
