//! The tracker's OpenAPI 3 document, at `/openapi.json`.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::nearby::NearbyView;
use super::{AppState, Batch, PointSchema, locations, nearby, ws};
use crate::ingest::{DroppedPoint, Outcome};
use platform::api_error::{ErrorBody, ErrorDetail};

#[derive(OpenApi)]
#[openapi(
    info(title = "ordertrack courier tracker", description = "Courier position ingest."),
    paths(locations::post, ws::connect, nearby::nearby),
    components(schemas(Batch, PointSchema, Outcome, DroppedPoint, NearbyView, ErrorBody, ErrorDetail)),
    modifiers(&Auth, &CommonResponses),
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

/// The error answers any operation may give, documented on each (unless its own
/// annotation says more): 401 where a credential is needed, 400 where there is a path, a
/// query or a body to get wrong, 413 and 415 for bodies, and 503 while a dependency is down.
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
                    add("401", "No, malformed, expired or forged credential");
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
