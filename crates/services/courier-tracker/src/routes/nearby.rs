//! `GET /couriers/nearby`: couriers near a point, for ops dashboards.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::geo::Coordinates;
use platform::api_error::ApiError;
use serde::Deserialize;

use super::AppState;
use crate::auth;
use crate::ingest::positions::Nearby;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NearbyQuery {
    #[param(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[param(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// Metres, 1 to 50 000.
    #[param(minimum = 1, maximum = 50_000)]
    pub radius_m: f64,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NearbyView {
    #[schema(value_type = Vec<Object>)]
    pub couriers: Vec<Nearby>,
}

/// The couriers whose latest position is within `radius_m` of the point, nearest first.
#[utoipa::path(
    get, path = "/couriers/nearby", tag = "ops",
    params(NearbyQuery),
    responses((status = 200, body = NearbyView)),
    security(("ops_key" = []))
)]
pub async fn nearby(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<NearbyQuery>,
) -> Result<HttpResponse, ApiError> {
    auth::ops(&request, &state.ops_keys)?;
    let center = Coordinates::parse(query.lat, query.lon)?;
    if !(query.radius_m.is_finite() && (1.0..=50_000.0).contains(&query.radius_m)) {
        return Err(
            domain::validation::FieldError::new("radius_m", "out_of_range", "must be between 1 and 50000").into()
        );
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(domain::validation::FieldError::new("limit", "out_of_range", "must be between 1 and 500").into());
    }
    let couriers = state
        .ingest
        .positions()
        .nearby(&center, query.radius_m, limit)
        .await
        .map_err(|error| ApiError::unavailable("redis_unavailable", anyhow::anyhow!(error)))?;
    Ok(HttpResponse::Ok().json(NearbyView { couriers }))
}
