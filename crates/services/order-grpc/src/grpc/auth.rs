//! Service authentication: `authorization: Bearer <key>` metadata against the configured
//! service keys (see `platform::keys`).

use platform::keys::KeySet;
use tonic::{Code, Request, Status};

use super::error::status;

#[derive(Clone)]
pub struct ServiceKeys(std::sync::Arc<KeySet>);

impl ServiceKeys {
    pub fn new(keys: KeySet) -> Self {
        Self(std::sync::Arc::new(keys))
    }

    /// The interceptor: refuses calls without a valid key.
    pub fn check(&self, request: Request<()>) -> Result<Request<()>, Status> {
        let header = request.metadata().get("authorization").ok_or_else(|| {
            status(Code::Unauthenticated, "missing_api_key", "send authorization: Bearer <service key>")
        })?;
        let presented = header.to_str().ok().and_then(platform::keys::bearer).ok_or_else(|| {
            status(Code::Unauthenticated, "malformed_authorization", "expected authorization: Bearer <key>")
        })?;
        match self.0.find(presented) {
            Some(_) => Ok(request),
            None => Err(status(Code::Unauthenticated, "invalid_api_key", "this service key is not valid")),
        }
    }
}
