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
use platform::openapi::{ErrorResponses, OperationErrors};

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
        ErrorBody, ErrorDetail,
    )),
    // The aliases last: each is a copy of its plural operation as the others left it
    // (its error answers included).
    modifiers(&ApiKeyAuth, &ERRORS, &DeprecatedAliases),
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

/// Each operation's error answers: exactly the codes it can answer with each status, as
/// the handlers, the extractors (`auth.rs`, `platform::json_body`, the query and path
/// configs of `routes/mod.rs`) and the orders context's table (`orders::OrdersError`)
/// give them. `tests/contract.rs` produces every one against a running service.
pub const ERRORS: ErrorResponses = ErrorResponses {
    operations: &[
        OperationErrors {
            method: "post",
            path: "/orders",
            answers: &[
                (400, &["invalid_idempotency_key", "malformed_body", "validation_failed"]),
                AUTH,
                (409, &["duplicate_store_order_number", "idempotency_response_unavailable"]),
                TOO_LARGE,
                NOT_JSON,
                (422, &["idempotency_key_reused"]),
                DOWN,
            ],
        },
        OperationErrors {
            method: "get",
            path: "/orders",
            answers: &[(400, &["invalid_query", "validation_failed"]), AUTH, DOWN],
        },
        OperationErrors { method: "get", path: "/orders/{id}", answers: &[BAD_ID, AUTH, NO_ORDER, DOWN] },
        OperationErrors {
            method: "delete",
            path: "/orders/{id}",
            answers: &[
                (400, &["invalid_query", "invalid_order_id", "validation_failed"]),
                AUTH,
                NO_ORDER,
                (409, &["order_final", "too_late_to_cancel"]),
                DOWN,
            ],
        },
        OperationErrors { method: "get", path: "/orders/{id}/status", answers: &[BAD_ID, AUTH, NO_ORDER, DOWN] },
        OperationErrors {
            method: "patch",
            path: "/orders/{id}/status",
            answers: &[
                BAD_ID_OR_BODY,
                AUTH,
                NO_ORDER,
                (
                    409,
                    &[
                        "illegal_transition",
                        "not_for_delivery_method",
                        "order_final",
                        "too_late_to_cancel",
                        "use_assign_courier",
                        "version_conflict",
                    ],
                ),
                TOO_LARGE,
                NOT_JSON,
                DOWN,
            ],
        },
        OperationErrors { method: "get", path: "/orders/{id}/track", answers: &[BAD_ID, AUTH, NO_ORDER, DOWN] },
        OperationErrors { method: "get", path: "/orders/{id}/delivery-time", answers: &[BAD_ID, AUTH, NO_ORDER, DOWN] },
        OperationErrors {
            method: "post",
            path: "/orders/{id}/assign-courier",
            answers: &[
                BAD_ID_OR_BODY,
                AUTH,
                NO_ORDER,
                (409, &["not_for_delivery_method", "order_final", "version_conflict"]),
                TOO_LARGE,
                NOT_JSON,
                DOWN,
            ],
        },
        OperationErrors {
            method: "post",
            path: "/orders/{id}/notify",
            answers: &[BAD_ID_OR_BODY, AUTH, NO_ORDER, TOO_LARGE, NOT_JSON, DOWN],
        },
        OperationErrors {
            method: "get",
            path: "/couriers/{id}/location",
            answers: &[(400, &["invalid_courier_id"]), AUTH, (404, &["courier_location_unknown"]), DOWN],
        },
        OperationErrors {
            method: "get",
            path: "/couriers/{id}/orders",
            answers: &[(400, &["invalid_courier_id", "invalid_query"]), AUTH, DOWN],
        },
        OperationErrors { method: "get", path: "/ws", answers: &[(410, &["websocket_moved"])] },
        OperationErrors {
            method: "get",
            path: "/track/{token}",
            answers: &[(404, &["tracking_link_not_found"]), (410, &["tracking_link_expired"]), DOWN],
        },
    ],
};

type Answer = (u16, &'static [&'static str]);
const AUTH: Answer = (401, &["missing_api_key", "malformed_authorization", "invalid_api_key"]);
const BAD_ID: Answer = (400, &["invalid_order_id"]);
const BAD_ID_OR_BODY: Answer = (400, &["invalid_order_id", "malformed_body", "validation_failed"]);
/// Also for another store's order, so order ids do not leak.
const NO_ORDER: Answer = (404, &["order_not_found"]);
const TOO_LARGE: Answer = (413, &["body_too_large"]);
const NOT_JSON: Answer = (415, &["unsupported_media_type"]);
/// PostgreSQL is down (Redis down only slows reads: they go to PostgreSQL).
const DOWN: Answer = (503, &["service_unavailable"]);

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/openapi.json", web::get().to(openapi_json))
        .service(utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()));
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_entry_of_the_error_table_names_an_operation() {
        assert_eq!(super::ERRORS.unknown_operations(&mut super::ApiDoc::openapi()), Vec::<String>::new());
    }
}
