//! Service authentication: `authorization: Bearer <key>` metadata, compared in constant
//! time against the configured service keys.

use platform::Secret;
use subtle::ConstantTimeEq;
use tonic::{Code, Request, Status};

use super::error::status;

#[derive(Clone)]
pub struct ServiceKeys(std::sync::Arc<Vec<(String, Secret)>>);

impl ServiceKeys {
    pub fn new(keys: Vec<(String, Secret)>) -> Self {
        Self(std::sync::Arc::new(keys))
    }

    /// The interceptor: refuses calls without a valid key.
    pub fn check(&self, request: Request<()>) -> Result<Request<()>, Status> {
        let header = request.metadata().get("authorization").ok_or_else(|| {
            status(Code::Unauthenticated, "missing_api_key", "send authorization: Bearer <service key>")
        })?;
        let presented = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or_else(|| {
                status(Code::Unauthenticated, "malformed_authorization", "expected authorization: Bearer <key>")
            })?;
        // Every key is compared, so the time taken does not tell which one matched.
        let mut known = false;
        for (_, key) in self.0.iter() {
            known |= bool::from(key.expose().as_bytes().ct_eq(presented.as_bytes()));
        }
        if known {
            Ok(request)
        } else {
            Err(status(Code::Unauthenticated, "invalid_api_key", "this service key is not valid"))
        }
    }
}
