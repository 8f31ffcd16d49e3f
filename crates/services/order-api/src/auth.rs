//! Storefront authentication: `Authorization: Bearer <api key>`. Each configured key has
//! a name, which is the store id of the orders created with it (see `platform::keys`).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use domain::ids::StoreId;
use orders::Scope;
use platform::keys::KeySet;

use platform::api_error::ApiError;

/// A request authenticated as a storefront.
pub struct Storefront {
    pub store: StoreId,
}

impl Storefront {
    pub fn scope(&self) -> Scope {
        Scope::Store(self.store.clone())
    }
}

impl FromRequest for Storefront {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(request))
    }
}

fn authenticate(request: &HttpRequest) -> Result<Storefront, ApiError> {
    let header = request.headers().get(actix_web::http::header::AUTHORIZATION).ok_or(ApiError::unauthorized(
        "missing_api_key",
        "send the storefront API key as Authorization: Bearer <key>",
    ))?;
    let presented = header
        .to_str()
        .ok()
        .and_then(platform::keys::bearer)
        .ok_or(ApiError::unauthorized("malformed_authorization", "expected Authorization: Bearer <key>"))?;
    let keys = request
        .app_data::<web::Data<KeySet>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("API keys are not configured in the app")))?;
    keys.find(presented)
        .and_then(|name| StoreId::parse(name).ok())
        .map(|store| Storefront { store })
        .ok_or(ApiError::unauthorized("invalid_api_key", "this API key is not valid"))
}
