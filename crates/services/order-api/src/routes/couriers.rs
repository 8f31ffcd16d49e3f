//! What a store may know about the couriers delivering its orders. Couriers belong to
//! stores: the `{id}` of these routes is always a courier of the caller's store, so
//! another store's courier of the same id is never seen.

use actix_web::{HttpResponse, web};
use domain::ids::{CourierId, CourierKey};

use crate::api::input::CourierOrdersQuery;
use crate::api::views::{CourierLocationView, ListView, OrderView, PositionView};
use crate::auth::Storefront;
use crate::state::AppState;
use platform::api_error::ApiError;

/// The store's courier of this id.
fn courier_of(storefront: &Storefront, raw: &str) -> Result<CourierKey, ApiError> {
    let courier = CourierId::parse(raw).map_err(|e| ApiError::bad_request("invalid_courier_id", e.message))?;
    Ok(CourierKey::new(storefront.store.clone(), courier))
}

/// The last known position of the store's courier, while it delivers one of the store's
/// orders.
#[utoipa::path(
    get, path = "/couriers/{id}/location", tag = "couriers",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = "Courier id")),
    responses((status = 200, body = CourierLocationView)),
    security(("api_key" = []))
)]
pub async fn location(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let courier = courier_of(&storefront, &id)?;
    let unknown = || {
        ApiError::not_found(
            "courier_location_unknown",
            format!("no known position of courier {} for this store", courier.courier),
        )
    };
    let serving = state.orders.courier_orders(&storefront.scope(), &courier, true).await?;
    if serving.is_empty() {
        return Err(unknown());
    }
    let position = state.orders.courier_location(&courier).await?.ok_or_else(unknown)?;
    Ok(HttpResponse::Ok()
        .json(CourierLocationView { courier_id: courier.courier.to_string(), position: PositionView::from(&position) }))
}

/// The courier's orders of this store, newest first (active ones by default).
#[utoipa::path(
    get, path = "/couriers/{id}/orders", tag = "couriers",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = "Courier id"), CourierOrdersQuery),
    responses((status = 200, body = ListView)),
    security(("api_key" = []))
)]
pub async fn orders(
    state: web::Data<AppState>,
    storefront: Storefront,
    id: web::Path<String>,
    query: web::Query<CourierOrdersQuery>,
) -> Result<HttpResponse, ApiError> {
    let courier = courier_of(&storefront, &id)?;
    let active_only = query.active_only.unwrap_or(true);
    let orders = state.orders.courier_orders(&storefront.scope(), &courier, active_only).await?;
    Ok(HttpResponse::Ok()
        .json(ListView { items: orders.iter().map(|o| OrderView::new(o, None)).collect(), next_cursor: None }))
}
