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
//!
//! The older service's singular routes (`POST /order`, `GET /order/{id}`, ...,
//! `GET /courier/{id}/location`) are the same handlers on a second path, and its `/ws`
//! answers 410 pointing to the notifier: see [`legacy`].

use actix_web::http::header;
use actix_web::web;
use domain::ids::OrderId;

use platform::api_error::ApiError;

mod couriers;
pub mod docs;
mod legacy;
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
                .default_service(method_not_allowed("GET, POST")),
        )
        .configure(|config| one_order_and_courier(config, "/orders", "/couriers"))
        .service(one("/track/{token}", "GET", web::get().to(tracking::public_view)))
        .service(one("/ops", "GET", web::get().to(pages::ops)))
        .configure(legacy::configure)
        .configure(docs::configure);
}

/// The routes of one order and of one courier under `orders` and `couriers`: the current
/// paths (`/orders`, `/couriers`) and the older service's singular ones ([`legacy`]), so
/// the two can never drift apart.
fn one_order_and_courier(config: &mut web::ServiceConfig, orders: &str, couriers: &str) {
    config
        .service(
            web::resource(format!("{orders}/{{id}}"))
                .route(web::get().to(orders::get))
                .route(web::delete().to(orders::cancel))
                .default_service(method_not_allowed("GET, DELETE")),
        )
        .service(
            web::resource(format!("{orders}/{{id}}/status"))
                .route(web::get().to(orders::status))
                .route(web::patch().to(orders::update_status))
                .default_service(method_not_allowed("GET, PATCH")),
        )
        .service(one(&format!("{orders}/{{id}}/track"), "GET", web::get().to(orders::track)))
        .service(one(&format!("{orders}/{{id}}/delivery-time"), "GET", web::get().to(orders::delivery_time)))
        .service(one(&format!("{orders}/{{id}}/assign-courier"), "POST", web::post().to(orders::assign_courier)))
        .service(one(&format!("{orders}/{{id}}/notify"), "POST", web::post().to(orders::notify)))
        .service(one(&format!("{couriers}/{{id}}/location"), "GET", web::get().to(couriers::location)))
        .service(one(&format!("{couriers}/{{id}}/orders"), "GET", web::get().to(couriers::orders)));
}

/// A resource with one route; other methods get a JSON 405.
fn one(path: &str, allow: &'static str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path).route(route).default_service(method_not_allowed(allow))
}

/// A JSON 405 with the `Allow` header listing the methods the path takes (RFC 9110 15.5.6).
fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move {
        let mut response = actix_web::ResponseError::error_response(&ApiError::method_not_allowed());
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allow));
        response
    })
}

/// The `{id}` of a path as an order id.
fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    raw.parse().map_err(|_| ApiError::bad_request("invalid_order_id", format!("{raw:?} is not an order id (a UUID)")))
}
