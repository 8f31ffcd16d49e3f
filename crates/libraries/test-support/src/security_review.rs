//! `docs/security.md` as data, so each service's `tests/security.rs` can check that the
//! review lists exactly the routes the service has: a route added without a line in the
//! review fails that service's tests.
//!
//! The review has a section per service (`### <service> ...`) with a table whose first
//! two columns are the method (`GET`, `POST`, ..., `WS` for a WebSocket upgrade, `RPC`
//! for a gRPC method) and the path (in backticks; a gRPC method as `package.Service/Method`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The repository's root (this crate is `crates/libraries/test-support`).
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// `(method, path)` of every row in the section of `service` in docs/security.md.
pub fn documented(service: &str) -> BTreeSet<(String, String)> {
    let file = repository_root().join("docs/security.md");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    rows(&text, service)
}

fn rows(text: &str, service: &str) -> BTreeSet<(String, String)> {
    let mut current = String::new();
    let mut found = BTreeSet::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            current = heading.split_whitespace().next().unwrap_or_default().to_owned();
            continue;
        }
        if current != service {
            continue;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        let [method, path, ..] = cells.as_slice() else { continue };
        let known = ["GET", "POST", "PUT", "PATCH", "DELETE", "WS", "RPC"];
        if known.contains(method) {
            found.insert(((*method).to_owned(), path.trim_matches('`').to_owned()));
        }
    }
    found
}

/// The documented paths of `service`, whatever the method.
pub fn documented_paths(service: &str) -> BTreeSet<String> {
    documented(service).into_iter().map(|(_, path)| path).collect()
}

/// Every path a service's source registers with actix-web: the literals of
/// `web::resource("…")`, `.route("…", …)`, `(one("…", …)` (order-api's one-route
/// resources), `Files::new("…")` (as `…/{file}`) and `SwaggerUi::new("…/{_:.*}")` (as
/// `…/{file}`) in the `.rs` files under `dirs` (relative to the repository root), plus
/// the operational routes every service gets from `platform::http`. Comment lines are
/// skipped.
pub fn registered_paths(dirs: &[&str]) -> BTreeSet<String> {
    let mut files = vec![repository_root().join("crates/libraries/platform/src/http.rs")];
    for dir in dirs {
        collect_rust_files(&repository_root().join(dir), &mut files);
    }
    let mut paths = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for (marker, files_under) in [
            ("::resource(", false),
            (".route(", false),
            ("(one(", false),
            ("Files::new(", true),
            ("SwaggerUi::new(", true),
        ] {
            let mut rest = code.as_str();
            while let Some(start) = rest.find(marker) {
                rest = rest[start + marker.len()..].trim_start();
                // Only a literal path: `.route(web::get()…)` inside a resource is not one.
                let Some(after_quote) = rest.strip_prefix('"') else { continue };
                let Some(end) = after_quote.find('"') else { break };
                let literal = &after_quote[..end];
                rest = &after_quote[end..];
                let path = if files_under {
                    format!("{}/{{file}}", literal.trim_end_matches("{_:.*}").trim_end_matches('/'))
                } else {
                    literal.to_owned()
                };
                paths.insert(path);
            }
        }
    }
    paths
}

fn collect_rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// `(METHOD, path)` of every operation in an OpenAPI document.
pub fn openapi_operations(document: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            for method in item.as_object().into_iter().flat_map(|o| o.keys()) {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// Fails naming what the review misses and what it lists that the service does not have.
pub fn assert_same(service: &str, in_code: &BTreeSet<String>, in_review: &BTreeSet<String>) {
    let missing: Vec<_> = in_code.difference(in_review).collect();
    let extra: Vec<_> = in_review.difference(in_code).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/security.md ({service}) is out of date.\n  routes of the service not in the review: {missing:?}\n  \
         routes in the review the service does not have: {extra:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_per_section() {
        let text = "### a (x)\n| method | path |\n| --- | --- |\n| GET | `/x` | k |\n### b\n| POST | `/y` |\n";
        assert_eq!(rows(text, "a"), BTreeSet::from([("GET".to_owned(), "/x".to_owned())]));
        assert_eq!(rows(text, "b"), BTreeSet::from([("POST".to_owned(), "/y".to_owned())]));
    }
}
