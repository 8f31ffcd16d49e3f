//! Storefront authentication: `Authorization: Bearer <api key>`. Each configured key has
//! a name, which is the store id of the orders created with it. Keys are compared in
//! constant time.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use domain::ids::StoreId;
use orders_store::Scope;
use platform::Secret;
use subtle::ConstantTimeEq;

use crate::api::error::ApiError;

/// The configured keys: store id → key.
#[derive(Clone)]
pub struct ApiKeys(Vec<(StoreId, Secret)>);

impl ApiKeys {
    pub fn new(keys: Vec<(StoreId, Secret)>) -> Self {
        Self(keys)
    }

    /// The store whose key this is. Every configured key is compared, so the time taken
    /// does not depend on which one (if any) matches.
    fn store_of(&self, presented: &str) -> Option<StoreId> {
        let mut found = None;
        for (store, key) in &self.0 {
            if bool::from(key.expose().as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(store.clone());
            }
        }
        found
    }
}

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
    let header = request.headers().get(actix_web::http::header::AUTHORIZATION).ok_or(ApiError::Unauthorized {
        code: "missing_api_key",
        message: "send the storefront API key as Authorization: Bearer <key>",
    })?;
    let presented = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or(ApiError::Unauthorized {
            code: "malformed_authorization",
            message: "expected Authorization: Bearer <key>",
        })?;
    let keys = request
        .app_data::<web::Data<ApiKeys>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("API keys are not configured in the app")))?;
    keys.store_of(presented)
        .map(|store| Storefront { store })
        .ok_or(ApiError::Unauthorized { code: "invalid_api_key", message: "this API key is not valid" })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_map_to_their_store() {
        let keys = ApiKeys::new(vec![
            (StoreId::parse("shop-a").unwrap(), Secret::new("key-a-0123456789")),
            (StoreId::parse("shop-b").unwrap(), Secret::new("key-b-0123456789")),
        ]);
        assert_eq!(keys.store_of("key-b-0123456789").unwrap().as_str(), "shop-b");
        assert!(keys.store_of("key-b-012345678").is_none());
        assert!(keys.store_of("").is_none());
    }
}
