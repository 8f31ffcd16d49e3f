//! The tracker's OpenAPI 3 document, at `/openapi.json`.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::nearby::NearbyView;
use super::{Batch, PointSchema, locations, nearby, ws};
use crate::ingest::{DroppedPoint, Outcome};
use platform::api_error::{ErrorBody, ErrorDetail};

#[derive(OpenApi)]
#[openapi(
    info(title = "ordertrack courier tracker", description = "Courier position ingest."),
    paths(locations::post, ws::connect, nearby::nearby),
    components(schemas(Batch, PointSchema, Outcome, DroppedPoint, NearbyView, ErrorBody, ErrorDetail)),
    modifiers(&Auth),
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

pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/openapi.json", web::get().to(|| async { HttpResponse::Ok().json(ApiDoc::openapi()) }));
}
