//! The tracker's OpenAPI 3 document, at `/openapi.json`.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::nearby::NearbyView;
use super::{AppState, Batch, PointSchema, locations, nearby, ws};
use crate::ingest::{DroppedPoint, Outcome};
use platform::api_error::{ErrorBody, ErrorDetail};
use platform::openapi::CommonResponses;

#[derive(OpenApi)]
#[openapi(
    info(title = "ordertrack courier tracker", description = "Courier position ingest."),
    paths(locations::post, ws::connect, nearby::nearby),
    components(schemas(Batch, PointSchema, Outcome, DroppedPoint, NearbyView, ErrorBody, ErrorDetail)),
    modifiers(&Auth, &COMMON_RESPONSES),
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

/// The common error answers; the 401 says which credential.
const COMMON_RESPONSES: CommonResponses =
    CommonResponses { unauthorized: "No, malformed, expired or forged credential" };

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
