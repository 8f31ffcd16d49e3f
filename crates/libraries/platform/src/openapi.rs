//! What the services' OpenAPI documents share: each operation's error answers, written
//! once per service as a table of exactly the codes the operation can answer with each
//! status (the contract tests of order-api and courier-tracker produce every one).

use std::collections::BTreeMap;
use utoipa::Modify;
use utoipa::openapi::extensions::ExtensionsBuilder;

use utoipa::openapi::{ContentBuilder, OpenApi, PathItem, Ref, RefOr, Response, ResponseBuilder};

/// The error answers of one operation: for each status, the codes it can answer with.
pub struct OperationErrors {
    /// Lower case, as in the document: `get`, `post`, `patch`, `delete`.
    pub method: &'static str,
    /// The path template, as in the document: `/orders/{id}`.
    pub path: &'static str,
    pub answers: &'static [(u16, &'static [&'static str])],
}

/// Puts each operation's error answers of the table into the document: one response
/// per status with an [`ErrorBody`](crate::api_error::ErrorBody), a description naming
/// every code in backticks, and the codes again as a list, `x-error-codes`. An error
/// response an operation's own annotation had is replaced: the table is the one truth.
pub struct ErrorResponses {
    pub operations: &'static [OperationErrors],
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for errors in self.operations {
            let Some(operation) =
                openapi.paths.paths.get_mut(errors.path).and_then(|item| operation(item, errors.method))
            else {
                continue;
            };
            let responses = &mut operation.responses.responses;
            let mut replaced = BTreeMap::new();
            responses.retain(|status, response| {
                let error = status.starts_with('4') || status.starts_with('5');
                if error {
                    replaced.insert(status.clone(), response.clone());
                }
                !error
            });
            for (status, codes) in errors.answers {
                let mut response = error(*status, codes);
                // The headers an annotation documents for the status stay (`Link`, ...).
                if let Some(RefOr::T(annotated)) = replaced.get(&status.to_string()) {
                    response.headers.clone_from(&annotated.headers);
                }
                responses.insert(status.to_string(), response.into());
            }
        }
    }
}

impl ErrorResponses {
    /// The entries of the table that name no operation of `openapi` (a typo, or an
    /// operation that went away), as `METHOD path`.
    pub fn unknown_operations(&self, openapi: &mut OpenApi) -> Vec<String> {
        self.operations
            .iter()
            .filter(|errors| {
                openapi.paths.paths.get_mut(errors.path).and_then(|item| operation(item, errors.method)).is_none()
            })
            .map(|errors| format!("{} {}", errors.method.to_uppercase(), errors.path))
            .collect()
    }
}

fn operation<'a>(item: &'a mut PathItem, method: &str) -> Option<&'a mut utoipa::openapi::path::Operation> {
    match method {
        "get" => item.get.as_mut(),
        "post" => item.post.as_mut(),
        "put" => item.put.as_mut(),
        "patch" => item.patch.as_mut(),
        "delete" => item.delete.as_mut(),
        _ => None,
    }
}

/// What each status means, for the description.
fn meaning(status: u16) -> &'static str {
    match status {
        400 => "Invalid input",
        401 => "No, malformed or unknown credential",
        403 => "Not this caller's",
        404 => "Not found (or not the caller's to see)",
        409 => "Refused in the current state",
        410 => "Gone",
        413 => "Body too large",
        415 => "Not JSON",
        422 => "Cannot be processed",
        503 => "A dependency is down (`Retry-After: 1`); try again shortly",
        _ => "Refused",
    }
}

fn error(status: u16, codes: &[&str]) -> Response {
    let named: Vec<String> = codes.iter().map(|code| format!("`{code}`")).collect();
    let mut response = ResponseBuilder::new()
        .description(format!("{}: {}", meaning(status), named.join(", ")))
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build();
    response.extensions = Some(ExtensionsBuilder::new().add("x-error-codes", codes.to_vec()).build());
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder, PathsBuilder};
    use utoipa::openapi::{OpenApiBuilder, ResponsesBuilder};

    #[test]
    fn the_table_replaces_the_annotations_error_answers_and_names_each_code_twice() {
        let operation = OperationBuilder::new()
            .responses(
                ResponsesBuilder::new()
                    .response("200", ResponseBuilder::new().description("Ok"))
                    .response("400", ResponseBuilder::new().description("Invalid input: `a`, ..."))
                    .response("503", ResponseBuilder::new().description("down")),
            )
            .build();
        let mut openapi = OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path("/x/{id}", PathItemBuilder::new().operation(HttpMethod::Get, operation).build()),
            )
            .build();
        let table = ErrorResponses {
            operations: &[
                OperationErrors { method: "get", path: "/x/{id}", answers: &[(400, &["bad_id", "bad_query"])] },
                OperationErrors { method: "post", path: "/x/{id}", answers: &[(404, &["nope"])] },
            ],
        };
        assert_eq!(table.unknown_operations(&mut openapi), vec!["POST /x/{id}".to_owned()]);
        table.modify(&mut openapi);
        let document = serde_json::to_value(&openapi).unwrap();
        let responses = &document["paths"]["/x/{id}"]["get"]["responses"];
        assert_eq!(responses.as_object().unwrap().keys().collect::<Vec<_>>(), ["200", "400"]);
        assert_eq!(responses["400"]["description"], "Invalid input: `bad_id`, `bad_query`");
        assert_eq!(responses["400"]["x-error-codes"], serde_json::json!(["bad_id", "bad_query"]));
        assert_eq!(responses["400"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody");
    }
}
