//! What the services' OpenAPI documents share.

use utoipa::Modify;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, Response, ResponseBuilder};

/// The error answers any operation may give, documented on each (unless its own
/// annotation says more): 401 where a credential is needed (`unauthorized` describes it),
/// 400 where there is a path, a query or a body to get wrong, 413 and 415 for bodies, and
/// 503 while a dependency is down. Every one has an [`ErrorBody`](crate::api_error::ErrorBody).
pub struct CommonResponses {
    pub unauthorized: &'static str,
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
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
                    add("401", self.unauthorized);
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

fn error(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build()
}
