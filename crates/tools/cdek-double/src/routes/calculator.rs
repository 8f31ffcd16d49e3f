//! The tariff calculator. Its validation errors use the `{"errors":[…],"warnings":[]}`
//! shape (400), unlike orders.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth;
use crate::errors::{ApiError, CdekError};
use crate::model::set;
use crate::store::Shared;
use crate::tariffs::{self, Parcel, Quote};
use crate::validate::{self, Location, Package};

#[derive(Debug, Deserialize)]
struct CalculatorRequest {
    tariff_code: Option<i64>,
    from_location: Option<Location>,
    to_location: Option<Location>,
    packages: Option<Vec<Package>>,
    date: Option<String>,
}

struct Checked {
    tariff_code: Option<i64>,
    from_key: String,
    to_key: String,
    parcels: Vec<Parcel>,
    from_date: chrono::NaiveDate,
}

fn reject(errors: Vec<CdekError>) -> ApiError {
    ApiError::Errors { status: StatusCode::BAD_REQUEST, errors }
}

fn check(body: &[u8], needs_tariff: bool) -> Result<Checked, ApiError> {
    let value = validate::parse_json(body).map_err(|error| reject(vec![error]))?;
    let request: CalculatorRequest = validate::typed(&value).map_err(|error| reject(vec![error]))?;
    let mut errors = Vec::new();
    if needs_tariff && request.tariff_code.is_none() {
        errors.push(CdekError::empty("tariff_code"));
    }
    for (field, location) in [("from_location", &request.from_location), ("to_location", &request.to_location)] {
        match location {
            None => errors.push(CdekError::empty(field)),
            Some(location) if location.is_empty() => errors.push(CdekError::empty(&format!("{field}.code"))),
            Some(_) => {}
        }
    }
    let packages = request.packages.unwrap_or_default();
    if packages.is_empty() {
        errors.push(CdekError::empty("packages"));
    }
    for (index, package) in packages.iter().enumerate() {
        if package.weight.is_none() {
            errors.push(CdekError::empty(&format!("packages[{index}].weight")));
        }
    }
    let from_date = match request.date.as_deref() {
        None => Utc::now().date_naive(),
        Some(raw) => crate::time::parse_date(raw).unwrap_or_else(|| {
            errors.push(CdekError::invalid("date", "expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+hhmm"));
            Utc::now().date_naive()
        }),
    };
    if !errors.is_empty() {
        return Err(reject(errors));
    }
    let key = |location: Option<Location>| location.map(|location| location.key()).unwrap_or_default();
    Ok(Checked {
        tariff_code: request.tariff_code,
        from_key: key(request.from_location),
        to_key: key(request.to_location),
        parcels: packages.iter().map(Package::parcel).collect(),
        from_date,
    })
}

fn periods(quote: &Quote) -> Value {
    json!({
        "period_min": quote.period_min,
        "period_max": quote.period_max,
        "calendar_min": quote.calendar_min,
        "calendar_max": quote.calendar_max,
    })
}

/// `POST /v2/calculator/tariff`.
pub async fn tariff(shared: web::Data<Shared>, request: HttpRequest, body: Bytes) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let checked = check(&body, true)?;
    let tariff_code = checked.tariff_code.unwrap_or_default();
    let quote = tariffs::quote(tariff_code, &checked.from_key, &checked.to_key, &checked.parcels);
    let (min, max) = quote.date_range(checked.from_date);
    let mut answer = periods(&quote);
    set(&mut answer, "delivery_sum", json!(quote.delivery_sum));
    set(&mut answer, "total_sum", json!(quote.delivery_sum));
    set(&mut answer, "currency", json!("RUB"));
    set(&mut answer, "weight_calc", json!(quote.weight_calc));
    set(
        &mut answer,
        "delivery_date_range",
        json!({"min": min.format("%Y-%m-%d").to_string(), "max": max.format("%Y-%m-%d").to_string()}),
    );
    set(&mut answer, "services", json!([]));
    set(&mut answer, "errors", json!([]));
    set(&mut answer, "warnings", json!([]));
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /v2/calculator/tarifflist`: the same inputs without `tariff_code`; one entry per
/// offered tariff (136, 137, 138, 139, 368).
pub async fn tariff_list(
    shared: web::Data<Shared>,
    request: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    auth::authorize(&shared, &request)?;
    let checked = check(&body, false)?;
    let entries: Vec<Value> = tariffs::OFFERED
        .iter()
        .map(|(code, name, mode)| {
            let quote = tariffs::quote(*code, &checked.from_key, &checked.to_key, &checked.parcels);
            let mut entry = periods(&quote);
            set(&mut entry, "tariff_code", json!(code));
            set(&mut entry, "tariff_name", json!(name));
            set(&mut entry, "delivery_mode", json!(mode));
            set(&mut entry, "delivery_sum", json!(quote.delivery_sum));
            entry
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"tariff_codes": entries})))
}
