//! logistics-adapter's own routes (the operational ones come from `platform::http`).
//!
//! | method | path | who | what |
//! | --- | --- | --- | --- |
//! | POST | /webhooks/cdek/{secret} | CDEK (the secret in the URL) | an ORDER_STATUS webhook |

use std::sync::Arc;

use actix_web::web;
use platform::Secret;
use platform::api_error::ApiError;
use platform::json_body::BodyLimit;
use prometheus::IntCounterVec;
use tokio::sync::Notify;

use crate::store::Shipments;

mod webhooks;

/// Largest webhook body accepted (CDEK's are well under 2 KB).
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// What the handlers share.
pub struct AppState {
    pub store: Shipments,
    pub webhook_secret: Secret,
    /// Wakes the worker when a webhook names a followed order.
    pub wake: Arc<Notify>,
    pub webhooks: IntCounterVec,
}

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/webhooks/cdek/{secret}")
            .app_data(web::Data::new(BodyLimit(MAX_WEBHOOK_BYTES)))
            .route(web::post().to(webhooks::receive))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed())
}
