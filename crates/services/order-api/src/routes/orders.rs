//! The order operations for storefronts.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use domain::ids::CourierId;
use domain::order::Command;
use domain::status::Actor;
use orders::{Created, IdempotencyKey, ListFilter};
use sha2::{Digest, Sha256};

use super::order_id;
use crate::api::input::{AssignCourier, CancelQuery, CreateOrder, ListQuery, Notify, UpdateStatus};
use crate::api::views::{
    CreatedView, DeliveryTimeView, EtaView, ListView, NotificationView, OrderView, StatusView, TrackView,
    TrackingLinkView,
};
use crate::auth::Storefront;
use crate::state::AppState;
use platform::api_error::ApiError;
use platform::json_body::JsonBody;

const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Create an order. With an `Idempotency-Key`, the same key and body always get the
/// same answer (and create one order); the same key with another body gets 422.
#[utoipa::path(
    post, path = "/orders", tag = "orders",
    request_body = CreateOrder,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "1 to 200 printable ASCII characters; retries with the same key and body are safe")),
    responses((status = 201, description = "Created", body = CreatedView)),
    security(("api_key" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    storefront: Storefront,
    request: HttpRequest,
    body: JsonBody<CreateOrder>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = idempotency_key(&request, &body.raw)?;
    let new = body.value.into_domain(storefront.store.clone())?;
    let public_url = state.tracking.public_url.clone();
    let view = move |details: &orders::OrderDetails, token: &str| CreatedView {
        order: OrderView::of(details),
        tracking: TrackingLinkView { token: token.to_owned(), url: format!("{public_url}/track/{token}") },
    };
    let respond = {
        let view = view.clone();
        move |details: &orders::OrderDetails, token: &str| {
            (201, serde_json::to_value(view(details, token)).unwrap_or(serde_json::Value::Null))
        }
    };
    match state.orders.create(new, Actor::Storefront, idempotency, respond).await? {
        Created::New { details, tracking_token } => Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/orders/{}", details.order.id)))
            .json(view(&details, &tracking_token))),
        Created::Replayed { status, body } => {
            let status = actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::CREATED);
            Ok(HttpResponse::build(status).insert_header(("Idempotent-Replayed", "true")).json(body))
        }
    }
}

/// The idempotency key and a hash of the request's JSON (insensitive to whitespace and
/// key order).
fn idempotency_key(request: &HttpRequest, raw: &[u8]) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = request.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| (1..=200).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 200 printable ASCII characters",
        ))?;
    let canonical: serde_json::Value = serde_json::from_slice(raw).unwrap_or(serde_json::Value::Null);
    let request_hash = Sha256::digest(canonical.to_string().as_bytes()).to_vec();
    Ok(Some(IdempotencyKey { key: key.to_owned(), request_hash }))
}

/// Get an order with its timeline.
#[utoipa::path(
    get, path = "/orders/{id}", tag = "orders",
    params(("id" = String, Path, format = Uuid, description = "Order id (UUID)")),
    responses((status = 200, body = OrderView)),
    security(("api_key" = []))
)]
pub async fn get(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = order_id(&id)?;
    let body = state
        .orders
        .get_rendered(&storefront.scope(), id, |details| serde_json::to_vec(&OrderView::of(details)))
        .await?;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

/// List the store's orders, newest first.
#[utoipa::path(
    get, path = "/orders", tag = "orders",
    params(ListQuery),
    responses((status = 200, body = ListView)),
    security(("api_key" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    storefront: Storefront,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let bad = |field: &str, reason: &'static str, message: &str| {
        ApiError::from(domain::validation::FieldError::new(field, reason, message))
    };
    let time = |field: &str, value: Option<String>| {
        value
            .map(|v| chrono::DateTime::parse_from_rfc3339(&v).map(|t| t.with_timezone(&Utc)))
            .transpose()
            .map_err(|_| bad(field, "invalid_format", "must be an RFC 3339 time, e.g. 2026-11-21T10:00:00Z"))
    };
    let filter = ListFilter {
        status: query
            .status
            .map(|s| {
                domain::status::OrderStatus::parse(&s)
                    .ok_or_else(|| bad("status", "invalid_value", "not a known status"))
            })
            .transpose()?,
        courier_id: query.courier_id.map(|c| CourierId::parse(&c)).transpose()?,
        created_from: time("created_from", query.created_from)?,
        created_to: time("created_to", query.created_to)?,
        store_order_number: query.store_order_number,
        after: query
            .cursor
            .map(|c| c.parse().map_err(|_| bad("cursor", "invalid_format", "not a cursor from a previous page")))
            .transpose()?,
        limit: match query.limit {
            None => 20,
            Some(limit) if (1..=100).contains(&limit) => limit,
            Some(_) => return Err(bad("limit", "out_of_range", "must be between 1 and 100")),
        },
    };
    let page = state.orders.list(&storefront.scope(), &filter).await?;
    Ok(HttpResponse::Ok().json(ListView {
        items: page.orders.iter().map(|order| OrderView::new(order, None)).collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

/// The order's current status and the change that brought it there.
#[utoipa::path(
    get, path = "/orders/{id}/status", tag = "orders",
    params(("id" = String, Path, format = Uuid, description = "Order id (UUID)")),
    responses((status = 200, body = StatusView)),
    security(("api_key" = []))
)]
pub async fn status(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let details = state.orders.get(&storefront.scope(), order_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(StatusView::of(&details)))
}

/// Move the order to another status, as the status machine allows.
#[utoipa::path(
    patch, path = "/orders/{id}/status", tag = "orders",
    params(("id" = String, Path, format = Uuid, description = "Order id (UUID)")),
    request_body = UpdateStatus,
    responses((status = 200, body = OrderView)),
    security(("api_key" = []))
)]
pub async fn update_status(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
    body: JsonBody<UpdateStatus>,
) -> Result<HttpResponse, ApiError> {
    let id = order_id(&id)?;
    let to = body.value.status()?;
    let command = Command::ChangeStatus { to, carrier_status: None, note: body.value.note.clone() };
    let executed =
        state.orders.execute(&storefront.scope(), id, command, Actor::Storefront, body.value.expected_version).await?;
    Ok(HttpResponse::Ok().json(OrderView::of(&executed.details)))
}

/// Cancel the order. Allowed only before pickup (409 `too_late_to_cancel` after).
#[utoipa::path(
    delete, path = "/orders/{id}", tag = "orders",
    params(("id" = String, Path, format = Uuid, description = "Order id (UUID)"), CancelQuery),
    responses((status = 200, body = OrderView)),
    security(("api_key" = []))
)]
pub async fn cancel(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
    query: web::Query<CancelQuery>,
) -> Result<HttpResponse, ApiError> {
    let command = Command::Cancel { reason: query.into_inner().reason };
    let executed = state.orders.execute(&storefront.scope(), order_id(&id)?, command, Actor::Storefront, None).await?;
    Ok(HttpResponse::Ok().json(OrderView::of(&executed.details)))
}

/// Where the courier is, the path so far and the timeline.
#[utoipa::path(
    get, path = "/orders/{id}/track", tag = "orders",
    params(("id" = String, Path, format = Uuid, description = "Order id (UUID)")),
    responses((status = 200, body = TrackView)),
    security(("api_key" = []))
)]
pub async fn track(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let track = state.orders.track(&storefront.scope(), order_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(TrackView::of(&track)))
}

/// The expected delivery time: the live ETA, or a static estimate from the distance.
#[utoipa::path(
    get, path = "/orders/{id}/delivery-time", tag = "orders",
    params(("id" = String, Path, format = Uuid, description = "Order id (UUID)")),
    responses((status = 200, body = DeliveryTimeView)),
    security(("api_key" = []))
)]
pub async fn delivery_time(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let details = state.orders.get(&storefront.scope(), order_id(&id)?).await?;
    let order = &details.order;
    let eta = order.eta.filter(|_| !order.status.is_final()).or_else(|| state.orders.estimate(order, Utc::now()));
    Ok(HttpResponse::Ok().json(DeliveryTimeView {
        order_id: order.id.to_string(),
        status: order.status.as_str(),
        eta: eta.as_ref().map(EtaView::from),
    }))
}

/// Assign (or reassign) a courier. Own-courier orders only.
#[utoipa::path(
    post, path = "/orders/{id}/assign-courier", tag = "orders",
    params(("id" = String, Path, format = Uuid, description = "Order id (UUID)")),
    request_body = AssignCourier,
    responses((status = 200, body = OrderView)),
    security(("api_key" = []))
)]
pub async fn assign_courier(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
    body: JsonBody<AssignCourier>,
) -> Result<HttpResponse, ApiError> {
    let id = order_id(&id)?;
    let command = Command::AssignCourier { courier_id: body.value.courier_id()? };
    let executed =
        state.orders.execute(&storefront.scope(), id, command, Actor::Storefront, body.value.expected_version).await?;
    Ok(HttpResponse::Ok().json(OrderView::of(&executed.details)))
}

/// Send a message to the order's customer (shown live on the tracking page).
#[utoipa::path(
    post, path = "/orders/{id}/notify", tag = "orders",
    params(("id" = String, Path, format = Uuid, description = "Order id (UUID)")),
    request_body = Notify,
    responses((status = 202, body = NotificationView)),
    security(("api_key" = []))
)]
pub async fn notify(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
    body: JsonBody<Notify>,
) -> Result<HttpResponse, ApiError> {
    let id = order_id(&id)?;
    let notification_id = state.orders.notify(&storefront.scope(), id, &body.value.message, Actor::Storefront).await?;
    Ok(HttpResponse::Accepted().json(NotificationView { notification_id: notification_id.to_string() }))
}
