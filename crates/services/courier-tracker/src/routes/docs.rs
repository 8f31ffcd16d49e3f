//! The tracker's OpenAPI 3 document, at `/openapi.json`.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::nearby::NearbyView;
use super::{AppState, Batch, PointSchema, locations, nearby, ws};
use crate::ingest::{DroppedPoint, Outcome};
use platform::api_error::{ErrorBody, ErrorDetail};
use platform::openapi::{ErrorResponses, OperationErrors};

#[derive(OpenApi)]
#[openapi(
    info(title = "ordertrack courier tracker", description = "Courier position ingest."),
    paths(locations::post, ws::connect, nearby::nearby),
    components(schemas(Batch, PointSchema, Outcome, DroppedPoint, NearbyView, ErrorBody, ErrorDetail)),
    modifiers(&Auth, &ERRORS),
    tags((name = "couriers"), (name = "ops"))
)]
pub struct ApiDoc;

struct Auth;

impl Modify for Auth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                Http::builder().scheme(HttpAuthScheme::Bearer).description(Some(description.to_owned())).build(),
            )
        };
        components.add_security_scheme("courier_token", bearer("A token signed for the courier"));
        components.add_security_scheme("ops_key", bearer("An ops key"));
    }
}

/// Each operation's error answers: exactly the codes it can answer with each status, as
/// the handlers, `auth.rs`, `platform::json_body`, the query config of `routes/mod.rs`
/// and the ingest (`IngestError`) give them. `tests/contract.rs` produces every one
/// against a running tracker.
pub const ERRORS: ErrorResponses = ErrorResponses {
    operations: &[
        OperationErrors {
            method: "post",
            path: "/couriers/{id}/locations",
            answers: &[
                (400, &["batch_too_large", "empty_batch", "invalid_courier_id", "malformed_body", "validation_failed"]),
                COURIER_AUTH,
                OTHER_COURIER,
                (413, &["body_too_large"]),
                (415, &["unsupported_media_type"]),
                (503, &["broker_unavailable"]),
            ],
        },
        OperationErrors {
            method: "get",
            path: "/couriers/{id}/ws",
            answers: &[(400, &["invalid_courier_id", "not_a_websocket"]), COURIER_AUTH, OTHER_COURIER],
        },
        OperationErrors {
            method: "get",
            path: "/couriers/nearby",
            answers: &[
                (400, &["invalid_query", "validation_failed"]),
                (401, &["missing_api_key", "invalid_api_key"]),
                (503, &["redis_unavailable"]),
            ],
        },
    ],
};

type Answer = (u16, &'static [&'static str]);
/// A courier token (`domain::token::TokenError` gives the codes after the first).
const COURIER_AUTH: Answer = (
    401,
    &[
        "missing_courier_token",
        "token_malformed",
        "token_forged",
        "token_wrong_purpose",
        "token_expired",
        "token_without_store",
    ],
);
const OTHER_COURIER: Answer = (403, &["token_for_another_courier"]);

/// The document, with the configured largest batch (`couriers.max_batch`) in it.
pub fn document(max_batch: usize) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    let mut openapi = ApiDoc::openapi();
    let points = openapi.components.as_mut().and_then(|c| c.schemas.get_mut("Batch")).and_then(|batch| match batch {
        RefOr::T(Schema::Object(batch)) => batch.properties.get_mut("points"),
        _ => None,
    });
    if let Some(RefOr::T(Schema::Array(points))) = points {
        points.max_items = Some(max_batch);
    }
    openapi
}

pub fn configure(config: &mut web::ServiceConfig) {
    config.route(
        "/openapi.json",
        web::get().to(|state: web::Data<AppState>| async move {
            HttpResponse::Ok().json(document(state.ingest.max_batch()))
        }),
    );
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_entry_of_the_error_table_names_an_operation() {
        assert_eq!(super::ERRORS.unknown_operations(&mut super::ApiDoc::openapi()), Vec::<String>::new());
    }
}
