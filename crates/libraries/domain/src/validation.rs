//! The one error type for input that does not make a valid domain value. It names the
//! field (a path like `destination.lat`), a stable machine-readable code and a message.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the offending field, e.g. `parcels[0].weight_grams`.
    pub field: String,
    /// Stable code: `required`, `too_long`, `out_of_range`, `invalid_format`, ...
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }

    /// The same error under a parent field: `lat` inside `destination` → `destination.lat`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.code)
    }
}

impl std::error::Error for FieldError {}

/// Checks a text field: trimmed, not empty, at most `max` characters, no control
/// characters. Returns the trimmed text.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid_format", "must not contain control characters"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest() {
        let error = FieldError::new("lat", "out_of_range", "x").within("destination");
        assert_eq!(error.field, "destination.lat");
        let error = FieldError::new("[2]", "required", "x").within("parcels");
        assert_eq!(error.field, "parcels[2]");
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("f", "  a b ", 5).as_deref(), Ok("a b"));
        assert_eq!(text("f", "   ", 5).map_err(|e| e.code), Err("required"));
        assert_eq!(text("f", "abcdef", 5).map_err(|e| e.code), Err("too_long"));
        assert_eq!(text("f", "a\u{7}b", 5).map_err(|e| e.code), Err("invalid_format"));
    }
}
