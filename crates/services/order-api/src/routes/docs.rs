//! The OpenAPI 3 document (`/openapi.json`) and Swagger UI (`/docs/`), generated from
//! the handlers' annotations so they cannot drift from the code.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::legacy::{self, DeprecatedAliases};
use super::{couriers, orders, tracking};
use crate::api::input::{AssignCourier, CreateOrder, CustomerInput, Notify, ParcelInput, PlaceInput, UpdateStatus};
use crate::api::views::*;
use platform::api_error::{ErrorBody, ErrorDetail};
use platform::openapi::CommonResponses;

#[derive(OpenApi)]
#[openapi(
    info(title = "ordertrack order API", description = "Orders for storefronts, and the public tracking view."),
    paths(
        orders::create, orders::list, orders::get, orders::cancel, orders::status, orders::update_status,
        orders::track, orders::delivery_time, orders::assign_courier, orders::notify,
        couriers::location, couriers::orders, tracking::public_view, legacy::websocket_moved,
    ),
    components(schemas(
        CreateOrder, CustomerInput, PlaceInput, ParcelInput, UpdateStatus, AssignCourier, Notify,
        OrderView, CustomerView, PlaceView, PointView, ParcelView, DeliveryView, EtaView, TimelineView, PositionView,
        PathPointView, CreatedView, TrackingLinkView, ListView, StatusView, TrackView, DeliveryTimeView,
        CourierLocationView, NotificationView, PublicOrderView, PublicTimelineView, LiveView, TrackingPageView,
        WebsocketMovedView, ErrorBody, ErrorDetail,
    )),
    // The aliases last: each is a copy of its plural operation as the others left it.
    modifiers(&ApiKeyAuth, &COMMON_RESPONSES, &DeprecatedAliases),
    tags(
        (name = "orders"), (name = "couriers"), (name = "tracking"),
        (name = "legacy", description = "The older service's routes, deprecated: each is an alias of the plural route \
            its description names (use that one), and `/ws` answers 410 pointing to the notifier's WebSocket."),
    )
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

/// The common error answers; the 401 says which credential.
const COMMON_RESPONSES: CommonResponses = CommonResponses {
    unauthorized: "No, malformed or unknown API key: `missing_api_key`, `malformed_authorization`, `invalid_api_key`",
};

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/openapi.json", web::get().to(openapi_json))
        .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()));
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
