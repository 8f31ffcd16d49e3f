//! `ordertrack-admin json-get POINTER`: one value out of a JSON document, for scripts that
//! read an answer of the API (scripts/faults: an error's code, a new order's id) without
//! parsing JSON themselves. The value is named by a JSON Pointer (RFC 6901), e.g.
//! `/error/code` or `/items/0/id`.

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonGetError {
    #[error("the input is not JSON: {0}")]
    NotJson(String),
    #[error("{0}: no such value in the input")]
    Absent(String),
    #[error("{0}: a JSON Pointer starts with '/' (e.g. /error/code)")]
    BadPointer(String),
}

/// The value at `pointer` in the JSON `input`, as a script wants it: a string without its
/// quotes, anything else as compact JSON.
pub fn json_get(input: &str, pointer: &str) -> Result<String, JsonGetError> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(JsonGetError::BadPointer(pointer.to_owned()));
    }
    let document: Value = serde_json::from_str(input).map_err(|e| JsonGetError::NotJson(e.to_string()))?;
    match document.pointer(pointer) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(JsonGetError::Absent(pointer.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR: &str = r#"{"error":{"code":"broker_unavailable","message":"the broker is down","retry":[1,2]}}"#;

    #[test]
    fn a_string_is_printed_without_quotes() {
        assert_eq!(json_get(ERROR, "/error/code").unwrap(), "broker_unavailable");
        assert_eq!(json_get(r#"{"id":"0190f3c2-aaaa"}"#, "/id").unwrap(), "0190f3c2-aaaa");
    }

    #[test]
    fn other_values_are_printed_as_json() {
        assert_eq!(json_get(ERROR, "/error/retry").unwrap(), "[1,2]");
        assert_eq!(json_get(ERROR, "/error/retry/1").unwrap(), "2");
        assert_eq!(json_get("{\"a\": null}", "/a").unwrap(), "null");
    }

    #[test]
    fn a_missing_value_is_an_error() {
        assert_eq!(json_get(ERROR, "/error/kind"), Err(JsonGetError::Absent("/error/kind".into())));
        assert_eq!(json_get(r#"{"id":"x"}"#, "/error/code"), Err(JsonGetError::Absent("/error/code".into())));
    }

    #[test]
    fn input_that_is_not_json_is_an_error() {
        // what a proxy or a crashed service may answer instead
        assert!(matches!(json_get("<html>502 Bad Gateway</html>", "/error/code"), Err(JsonGetError::NotJson(_))));
        assert!(matches!(json_get("", "/id"), Err(JsonGetError::NotJson(_))));
    }

    #[test]
    fn a_dotted_path_is_refused() {
        assert_eq!(json_get(ERROR, "error.code"), Err(JsonGetError::BadPointer("error.code".into())));
    }
}
