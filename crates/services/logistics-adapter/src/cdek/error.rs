//! One error type for every CDEK answer that is not a success. CDEK answers errors in
//! two shapes (`{"requests":[{"errors":[...]}]}` and `{"errors":[...]}`), and OAuth in a
//! third (`{"error","error_description"}`); all become [`CdekError::Refused`] with CDEK's
//! codes.

use super::client::retryable_status;
use super::model::ApiMessage;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CdekError {
    /// CDEK answered with an error status and (usually) its codes.
    #[error("CDEK answered {status}: {}", describe(.errors))]
    Refused { status: u16, errors: Vec<ApiMessage> },
    /// No answer (connection refused, timeout).
    #[error("CDEK did not answer ({0})")]
    Transport(String),
    /// A 2xx answer that is not what the API documents.
    #[error("CDEK's answer could not be read: {0}")]
    Decode(String),
}

fn describe(errors: &[ApiMessage]) -> String {
    if errors.is_empty() {
        return "no error body".to_owned();
    }
    errors.iter().map(|e| format!("{} ({})", e.code, e.message)).collect::<Vec<_>>().join("; ")
}

impl CdekError {
    pub fn transport(what: &str, error: &reqwest::Error) -> Self {
        // reqwest's Display may hold the URL, never the secret (which is only in bodies).
        Self::Transport(format!("{what}: {error}"))
    }

    /// Parses an error answer in any of CDEK's shapes.
    pub fn from_answer(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Shapes {
            #[serde(default)]
            requests: Vec<super::model::RequestInfo>,
            #[serde(default)]
            errors: Vec<ApiMessage>,
            #[serde(default)]
            error: Option<String>,
            #[serde(default)]
            error_description: Option<String>,
        }
        let mut errors = Vec::new();
        if let Ok(shapes) = serde_json::from_slice::<Shapes>(body) {
            errors.extend(shapes.requests.into_iter().flat_map(|r| r.errors));
            errors.extend(shapes.errors);
            if let Some(code) = shapes.error {
                errors.push(ApiMessage { code, message: shapes.error_description.unwrap_or_default() });
            }
        }
        Self::Refused { status, errors }
    }

    pub fn codes(&self) -> Vec<&str> {
        match self {
            Self::Refused { errors, .. } => errors.iter().map(|e| e.code.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.codes().contains(&code)
    }

    /// Timeouts, 429 and 5xx: another try may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Refused { status, .. } => retryable_status(*status),
            Self::Transport(_) => true,
            Self::Decode(_) => false,
        }
    }

    /// CDEK refused the token (expired or unknown): fetch a new one and try once more.
    pub fn is_token_refused(&self) -> bool {
        matches!(self, Self::Refused { status: 401, .. })
            || self.has_code("v2_token_expired")
            || self.has_code("unauthorized")
    }

    /// The object asked for does not exist at CDEK.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Refused { status: 404, .. })
            || ["v2_entity_not_found", "v2_entity_not_found_im_number", "v2_order_not_found"]
                .iter()
                .any(|code| self.has_code(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_shape_yields_cdek_codes() {
        let requests = br#"{"requests":[{"type":"CREATE","state":"INVALID","errors":[{"code":"v2_field_is_empty","message":"tariff_code"}]}]}"#;
        let bare = br#"{"errors":[{"code":"v2_internal_error","message":"oops"}],"warnings":[]}"#;
        let oauth = br#"{"error":"invalid_client","error_description":"bad credentials"}"#;
        assert_eq!(CdekError::from_answer(400, requests).codes(), ["v2_field_is_empty"]);
        let internal = CdekError::from_answer(500, bare);
        assert_eq!(internal.codes(), ["v2_internal_error"]);
        assert!(internal.is_retryable());
        assert_eq!(CdekError::from_answer(401, oauth).codes(), ["invalid_client"]);
        assert!(!CdekError::from_answer(400, requests).is_retryable());
        assert!(CdekError::from_answer(429, b"").is_retryable());
        assert!(CdekError::from_answer(401, br#"{"errors":[{"code":"v2_token_expired"}]}"#).is_token_refused());
        assert!(CdekError::from_answer(404, b"not json").is_not_found());
    }
}
