//! order-api's routes (the operational ones come from `platform::http`).
//!
//! | method | path | operation |
//! | --- | --- | --- |
//! | POST | /orders | create (honours `Idempotency-Key`) |
//! | GET | /orders | list (filters, cursor pagination) |
//! | GET | /orders/{id} | get |
//! | DELETE | /orders/{id} | cancel |
//! | GET | /orders/{id}/status | get status |
//! | PATCH | /orders/{id}/status | update status |
//! | GET | /orders/{id}/track | track (courier position, path, timeline) |
//! | GET | /orders/{id}/delivery-time | estimate delivery time |
//! | POST | /orders/{id}/assign-courier | assign a courier |
//! | POST | /orders/{id}/notify | notify the customer |
//! | GET | /couriers/{id}/location | a courier's location |
//! | GET | /couriers/{id}/orders | a courier's orders |
//! | GET | /track/{token} | public tracking view and live ticket (no API key); the tracking page for browsers |
//! | GET | /web/… | the pages' files (see [`pages`]) |

use actix_web::{HttpResponse, web};
use domain::ids::OrderId;

use platform::api_error::ApiError;

mod couriers;
pub mod docs;
mod orders;
pub mod pages;
mod tracking;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .app_data(
            web::QueryConfig::default()
                .error_handler(|error, _| ApiError::bad_request("invalid_query", error.to_string()).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|error, _| ApiError::bad_request("invalid_path", error.to_string()).into()),
        )
        .service(
            web::resource("/orders")
                .route(web::post().to(orders::create))
                .route(web::get().to(orders::list))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/orders/{id}")
                .route(web::get().to(orders::get))
                .route(web::delete().to(orders::cancel))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/orders/{id}/status")
                .route(web::get().to(orders::status))
                .route(web::patch().to(orders::update_status))
                .default_service(web::to(method_not_allowed)),
        )
        .service(one("/orders/{id}/track", web::get().to(orders::track)))
        .service(one("/orders/{id}/delivery-time", web::get().to(orders::delivery_time)))
        .service(one("/orders/{id}/assign-courier", web::post().to(orders::assign_courier)))
        .service(one("/orders/{id}/notify", web::post().to(orders::notify)))
        .service(one("/couriers/{id}/location", web::get().to(couriers::location)))
        .service(one("/couriers/{id}/orders", web::get().to(couriers::orders)))
        .service(one("/track/{token}", web::get().to(tracking::public_view)))
        .service(one("/ops", web::get().to(pages::ops)))
        .configure(docs::configure);
}

/// A resource with one route; other methods get a JSON 405.
fn one(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path).route(route).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed())
}

/// The `{id}` of a path as an order id.
fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    raw.parse().map_err(|_| ApiError::bad_request("invalid_order_id", format!("{raw:?} is not an order id (a UUID)")))
}
