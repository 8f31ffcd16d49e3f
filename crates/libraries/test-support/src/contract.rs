//! The contract test's walk of a served OpenAPI document: every error code each
//! operation documents must be produced by a request (a recipe) against the running
//! service, and no answer may carry a code, a status or a body shape the document does
//! not give for that operation.
//!
//! A test fetches the document with [`Contract::fetch`], sends each recipe with
//! [`Contract::expect`] and ends with [`Contract::finish`], which fails naming every
//! problem: a document that does not name its codes exactly, an answer other than the
//! recipe's, an undocumented code, status or shape, and each documented code no recipe
//! produced ("documented but never exercised").

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// An operation as the document names it: `POST /orders/{id}/notify`.
pub type Operation = String;

pub struct Contract {
    /// For each operation and error status: the documented codes.
    documented: BTreeMap<(Operation, u16), BTreeSet<String>>,
    /// The operations of the document (with or without error answers).
    operations: BTreeSet<Operation>,
    /// (operation, status, code) answered by some recipe as expected.
    exercised: BTreeSet<(Operation, u16, String)>,
    /// For an operation, its aliases: the same operation served on another path (the
    /// alias, and how a request's path is rewritten for it: a prefix and its replacement).
    aliases: BTreeMap<Operation, Vec<(Operation, &'static str, &'static str)>>,
    problems: Vec<String>,
}

impl Contract {
    /// Fetches `{base}/openapi.json` and reads each operation's error answers.
    pub async fn fetch(base: &str) -> Self {
        let (status, document) = crate::get_json(&format!("{base}/openapi.json")).await;
        assert_eq!(status, 200, "GET /openapi.json: {document}");
        Self::of(&document)
    }

    /// Reads the error answers of `document`. Each response with a 4xx or 5xx status
    /// must have an `ErrorBody`, a non-empty `x-error-codes` list, and a description that
    /// names exactly those codes in backticks (and no "...").
    pub fn of(document: &Value) -> Self {
        let mut contract = Self {
            documented: BTreeMap::new(),
            operations: BTreeSet::new(),
            exercised: BTreeSet::new(),
            aliases: BTreeMap::new(),
            problems: Vec::new(),
        };
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        if paths.is_empty() {
            contract.problems.push("the document has no paths".to_owned());
        }
        for (path, item) in &paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(responses) = item[method]["responses"].as_object() else { continue };
                let operation = format!("{} {path}", method.to_uppercase());
                contract.operations.insert(operation.clone());
                for (status, response) in responses {
                    let Ok(status) = status.parse::<u16>() else {
                        contract.problems.push(format!("{operation}: response {status:?} is not a status"));
                        continue;
                    };
                    if status < 400 {
                        continue;
                    }
                    contract.read_response(&operation, status, response);
                }
            }
        }
        contract
    }

    fn read_response(&mut self, operation: &str, status: u16, response: &Value) {
        let at = format!("{operation} {status}");
        if response["content"]["application/json"]["schema"]["$ref"] != "#/components/schemas/ErrorBody" {
            self.problems.push(format!("{at}: the body is not documented as an ErrorBody: {response}"));
        }
        let description = response["description"].as_str().unwrap_or_default();
        if description.contains("...") || description.contains('…') {
            self.problems.push(format!("{at}: the description leaves codes out (\"...\"): {description:?}"));
        }
        let named: BTreeSet<String> = description.split('`').skip(1).step_by(2).map(str::to_owned).collect();
        let listed: Option<BTreeSet<String>> = response["x-error-codes"]
            .as_array()
            .and_then(|codes| codes.iter().map(|code| code.as_str().map(str::to_owned)).collect());
        let codes = match listed.filter(|codes| !codes.is_empty()) {
            Some(listed) => {
                // The description may name other things in backticks (a header), but
                // every listed code must be named.
                let unnamed: Vec<&String> = listed.difference(&named).collect();
                if !unnamed.is_empty() {
                    self.problems.push(format!("{at}: the description {description:?} does not name {unnamed:?}"));
                }
                listed
            }
            None => {
                // Still checked against what the description names.
                self.problems.push(format!("{at}: no x-error-codes list; the description says {description:?}"));
                named
            }
        };
        self.documented.insert((operation.to_owned(), status), codes);
    }

    /// The documented codes of `operation` (`"POST /orders"`) for `status`.
    pub fn codes(&self, operation: &str, status: u16) -> BTreeSet<String> {
        self.documented.get(&(operation.to_owned(), status)).cloned().unwrap_or_default()
    }

    /// Every documented (operation, status, code).
    pub fn all(&self) -> Vec<(Operation, u16, String)> {
        self.documented
            .iter()
            .flat_map(|((operation, status), codes)| {
                codes.iter().map(|code| (operation.clone(), *status, code.clone()))
            })
            .collect()
    }

    /// Declares `alias` (`POST /order`) the same operation as `of` (`POST /orders`) on
    /// another path: from then on every recipe of `of` is also sent to the alias, its path's
    /// prefix `from` replaced by `to` (`/orders` → `/order`), and must be answered alike.
    pub fn alias(&mut self, alias: &str, of: &str, (from, to): (&'static str, &'static str)) {
        if !self.operations.contains(alias) {
            self.problems.push(format!("the document has no operation {alias} (an alias of {of})"));
        }
        self.aliases.entry(of.to_owned()).or_default().push((alias.to_owned(), from, to));
    }

    /// Sends one recipe for `operation` (and for each of its [`aliases`](Self::alias)) and
    /// checks that it is answered `status` with `code`, in a body of exactly the
    /// documented shape, and that the document gives that code for that operation and
    /// status.
    pub async fn expect(&mut self, operation: &str, answer: (u16, &str), request: reqwest::RequestBuilder) {
        let (client, request) = request.build_split();
        let request = match request {
            Ok(request) => request,
            Err(error) => {
                self.problems.push(format!("{operation}: the recipe is not a request: {error}"));
                return;
            }
        };
        for (alias, from, to) in self.aliases.get(operation).cloned().unwrap_or_default() {
            let Some(mut copy) = request.try_clone() else {
                self.problems.push(format!("{alias}: the recipe's body cannot be sent twice"));
                continue;
            };
            let path = copy.url().path().to_owned();
            if !path.starts_with(from) {
                self.problems.push(format!("{alias}: the recipe's path {path} does not start with {from}"));
                continue;
            }
            copy.url_mut().set_path(&path.replacen(from, to, 1));
            self.send(&client, &alias, answer, copy).await;
        }
        self.send(&client, operation, answer, request).await;
    }

    async fn send(
        &mut self,
        client: &reqwest::Client,
        operation: &str,
        (status, code): (u16, &str),
        request: reqwest::Request,
    ) {
        let recipe = format!("{operation} → {status} {code}");
        if !self.operations.contains(operation) {
            self.problems.push(format!("{recipe}: the document has no operation {operation}"));
            return;
        }
        let response = match client.execute(request).await {
            Ok(response) => response,
            Err(error) => {
                self.problems.push(format!("{recipe}: no answer: {error}"));
                return;
            }
        };
        let answered = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        self.check_answer(operation, &recipe, answered, &body);
        let answered_code = body["error"]["code"].as_str().unwrap_or_default();
        if (answered, answered_code) == (status, code) {
            self.exercised.insert((operation.to_owned(), status, code.to_owned()));
        } else {
            self.problems.push(format!("{recipe}: answered {answered} {body}"));
        }
    }

    /// Checks any answer of `operation`: an error status must be documented for it,
    /// with the answered code, in an `ErrorBody` with no other keys.
    fn check_answer(&mut self, operation: &str, recipe: &str, status: u16, body: &Value) {
        if status < 400 {
            return;
        }
        if let Err(shape) = error_code(body) {
            self.problems.push(format!("{recipe}: the {status} body is not an ErrorBody ({shape}): {body}"));
            return;
        }
        let code = body["error"]["code"].as_str().unwrap_or_default();
        let Some(documented) = self.documented.get(&(operation.to_owned(), status)) else {
            self.problems.push(format!("{recipe}: status {status} is not documented for {operation} (code {code})"));
            return;
        };
        if !documented.contains(code) {
            self.problems.push(format!(
                "{recipe}: {status} `{code}` is not documented for {operation} (documented: {documented:?})"
            ));
        }
    }

    /// Fails, naming every problem and every documented code no recipe produced.
    pub fn finish(self) {
        let documented = self.all();
        let mut problems = self.problems;
        for (operation, status, code) in documented {
            if !self.exercised.contains(&(operation.clone(), status, code.clone())) {
                problems.push(format!("{operation} {status} `{code}`: documented but never exercised"));
            }
        }
        assert!(problems.is_empty(), "{} contract problems:\n{}", problems.len(), problems.join("\n"));
    }

    /// How many documented codes were produced.
    pub fn exercised(&self) -> usize {
        self.exercised.len()
    }
}

/// The code of an error body of exactly the documented shape,
/// `{"error": {"code", "message", "field"?, "reason"?}}`, all strings, `code` and
/// `message` not empty, no other keys; else what is wrong with it.
pub fn error_code(body: &Value) -> Result<&str, String> {
    let outer = body.as_object().ok_or("not a JSON object")?;
    if let Some(key) = outer.keys().find(|key| *key != "error") {
        return Err(format!("unknown key {key:?}"));
    }
    let error = outer.get("error").and_then(Value::as_object).ok_or("no \"error\" object")?;
    if let Some(key) = error.keys().find(|key| !["code", "message", "field", "reason"].contains(&key.as_str())) {
        return Err(format!("unknown key error.{key}"));
    }
    for key in ["field", "reason"] {
        if error.get(key).is_some_and(|value| !value.is_string()) {
            return Err(format!("error.{key} is not a string"));
        }
    }
    let text = |key: &str| error.get(key).and_then(Value::as_str).filter(|text| !text.is_empty());
    text("message").ok_or("no error.message")?;
    text("code").ok_or_else(|| "no error.code".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn document(response: Value) -> Value {
        json!({ "paths": { "/orders/{id}": { "get": { "responses": {
            "200": { "description": "ok" },
            "404": response,
        } } } } })
    }

    fn problems(contract: Contract) -> String {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| contract.finish()))
            .err()
            .and_then(|panic| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    }

    const ERROR_BODY: &str = "#/components/schemas/ErrorBody";

    #[test]
    fn loose_descriptions_are_refused() {
        let loose = document(json!({
            "description": "Not found: `order_not_found`, ...",
            "content": { "application/json": { "schema": { "$ref": ERROR_BODY } } },
        }));
        let mut contract = Contract::of(&loose);
        // What the description names is still checked.
        let answer = json!({ "error": { "code": "courier_unknown", "message": "m" } });
        contract.check_answer("GET /orders/{id}", "r1", 404, &answer);
        let found = problems(contract);
        assert!(found.contains("no x-error-codes list"), "{found}");
        assert!(found.contains("leaves codes out"), "{found}");
        assert!(found.contains("r1: 404 `courier_unknown` is not documented"), "{found}");
        assert!(found.contains("`order_not_found`: documented but never exercised"), "{found}");
    }

    #[test]
    fn a_listed_code_the_description_does_not_name_is_refused_and_so_is_one_never_exercised() {
        let document = document(json!({
            "description": "Not found: `order_not_found`",
            "x-error-codes": ["order_not_found", "courier_unknown"],
            "content": { "application/json": { "schema": { "$ref": ERROR_BODY } } },
        }));
        let contract = Contract::of(&document);
        assert_eq!(contract.codes("GET /orders/{id}", 404).len(), 2);
        let found = problems(contract);
        assert!(found.contains("does not name [\"courier_unknown\"]"), "{found}");
        assert!(found.contains("GET /orders/{id} 404 `order_not_found`: documented but never exercised"), "{found}");
    }

    #[test]
    fn undocumented_codes_statuses_and_shapes_are_refused() {
        let document = document(json!({
            "description": "Not found: `order_not_found`",
            "x-error-codes": ["order_not_found"],
            "content": { "application/json": { "schema": { "$ref": ERROR_BODY } } },
        }));
        let mut contract = Contract::of(&document);
        let operation = "GET /orders/{id}";
        contract.check_answer(operation, "r1", 404, &json!({ "error": { "code": "courier_unknown", "message": "m" } }));
        contract.check_answer(operation, "r2", 409, &json!({ "error": { "code": "order_final", "message": "m" } }));
        let extra = json!({ "error": { "code": "order_not_found", "message": "m", "detail": 1 } });
        contract.check_answer(operation, "r3", 404, &extra);
        contract.check_answer(operation, "r4", 404, &json!({ "error": { "code": "order_not_found", "message": "m" } }));
        let found = problems(contract);
        assert!(found.contains("r1: 404 `courier_unknown` is not documented"), "{found}");
        assert!(found.contains("r2: status 409 is not documented"), "{found}");
        assert!(found.contains("r3: the 404 body is not an ErrorBody (unknown key error.detail)"), "{found}");
        assert!(!found.contains("r4"), "{found}");
    }

    #[test]
    fn the_error_body_shape() {
        assert_eq!(
            error_code(&json!({ "error": { "code": "c", "message": "m", "field": "f", "reason": "r" } })),
            Ok("c")
        );
        assert!(error_code(&json!({ "error": { "code": "c", "message": "m" }, "status": 400 })).is_err());
        assert!(error_code(&json!({ "error": { "code": "c" } })).is_err());
        assert!(error_code(&json!({ "error": { "code": "", "message": "m" } })).is_err());
        assert!(error_code(&json!({ "error": { "code": "c", "message": "m", "field": 1 } })).is_err());
        assert!(error_code(&json!("text")).is_err());
    }
}
