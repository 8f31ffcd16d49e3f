//! The OpenAPI 3 document (`/openapi.json`) and Swagger UI (`/docs/`), generated from
//! the handlers' annotations so they cannot drift from the code.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{couriers, orders, tracking};
use crate::api::input::{AssignCourier, CreateOrder, CustomerInput, Notify, ParcelInput, PlaceInput, UpdateStatus};
use crate::api::views::*;
use platform::api_error::{ErrorBody, ErrorDetail};

#[derive(OpenApi)]
#[openapi(
    info(title = "ordertrack order API", description = "Orders for storefronts, and the public tracking view."),
    paths(
        orders::create, orders::list, orders::get, orders::cancel, orders::status, orders::update_status,
        orders::track, orders::delivery_time, orders::assign_courier, orders::notify,
        couriers::location, couriers::orders, tracking::public_view,
    ),
    components(schemas(
        CreateOrder, CustomerInput, PlaceInput, ParcelInput, UpdateStatus, AssignCourier, Notify,
        OrderView, CustomerView, PlaceView, PointView, ParcelView, DeliveryView, EtaView, TimelineView, PositionView,
        PathPointView, CreatedView, TrackingLinkView, ListView, StatusView, TrackView, DeliveryTimeView,
        CourierLocationView, NotificationView, PublicOrderView, PublicTimelineView, LiveView, TrackingPageView,
        ErrorBody, ErrorDetail,
    )),
    modifiers(&ApiKeyAuth, &CommonResponses),
    tags((name = "orders"), (name = "couriers"), (name = "tracking"))
)]
pub struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                Http::builder().scheme(HttpAuthScheme::Bearer).description(Some("The storefront's API key")).build(),
            ),
        );
    }
}

/// The error answers any operation may give, documented on each (unless its own
/// annotation says more): 401 where a key is needed, 400 where there is a path, a query or
/// a body to get wrong, 413 and 415 for bodies, and 503 while a dependency is down.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let has_input = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = operation.request_body.is_some();
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses.entry(status.to_owned()).or_insert_with(|| error(description).into());
                };
                if has_input || has_body {
                    add(
                        "400",
                        "Invalid input: `invalid_path`, `invalid_query`, `validation_failed`, `malformed_body`, ...",
                    );
                }
                if secured {
                    add(
                        "401",
                        "No, malformed or unknown API key: `missing_api_key`, `malformed_authorization`, `invalid_api_key`",
                    );
                }
                if has_body {
                    add("413", "`body_too_large`");
                    add("415", "`unsupported_media_type`: send JSON");
                }
                add("503", "A dependency is down (`Retry-After`); try again shortly");
            }
        }
    }
}

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/openapi.json", web::get().to(openapi_json))
        .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()));
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
