//! Reading request bodies with errors that say where: a size limit (413), a time limit
//! (408), the content type (415), and the path of the field serde stopped at (400).

use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use domain::validation::FieldError;

use crate::api_error::ApiError;

/// The body limit of an app, in bytes (put it in the app data; 256 KiB without).
/// `platform::http::serve` puts `http.max_body_bytes` there; a resource may set its own.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// How long a client may take to send a whole body (app data; 30 s without).
/// `platform::http::serve` puts `http.body_timeout_ms` there.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// A body of any content type, read whole within the [`BodyLimit`] and [`BodyTimeout`].
pub struct RawBody(pub web::Bytes);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let reading = read(request, payload);
        Box::pin(async move { reading.await.map(RawBody) })
    }
}

/// Reads the whole body: 413 `body_too_large` as soon as it is known to exceed the
/// limit (by its `Content-Length` or by what has arrived), 408 `body_timeout` when it has
/// not all arrived in time.
fn read(request: &HttpRequest, payload: &mut Payload) -> LocalBoxFuture<'static, Result<web::Bytes, ApiError>> {
    let limit = request.app_data::<web::Data<BodyLimit>>().map_or(256 * 1024, |limit| limit.0);
    let timeout = request.app_data::<web::Data<BodyTimeout>>().map_or(Duration::from_secs(30), |timeout| timeout.0);
    let declared_length = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let mut payload = payload.take();
    Box::pin(async move {
        if declared_length.is_some_and(|length| length > limit) {
            return Err(too_large(limit));
        }
        let reading = async {
            let mut raw = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|error| ApiError::bad_request("unreadable_body", error.to_string()))?;
                if raw.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                raw.extend_from_slice(&chunk);
            }
            Ok(raw.freeze())
        };
        tokio::time::timeout(timeout, reading).await.unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!("the whole body must arrive within {} ms", timeout.as_millis()),
            ))
        })
    })
}

/// A JSON body: the value and the raw bytes it came from.
pub struct JsonBody<T> {
    pub value: T,
    pub raw: web::Bytes,
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = request
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
        let reading = read(request, payload);
        Box::pin(async move {
            if let Some(content_type) = content_type {
                if content_type != "application/json" && !content_type.ends_with("+json") {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        format!("send Content-Type: application/json, not {content_type}"),
                    ));
                }
            }
            let raw = reading.await?;
            let value = parse(&raw)?;
            Ok(JsonBody { value, raw })
        })
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("the body may be at most {limit} bytes"))
}

/// Parses JSON, naming the field at fault.
pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::malformed_body(None, "the body is empty; send a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let parent = (path != ".").then_some(path);
        let message = error.inner().to_string();
        // A required field that is absent is a validation error like a blank one, named
        // by its whole path (`customer.name`, `parcels[0].weight_grams`); but only in a
        // body that is JSON throughout (`{} {}` is not).
        let Some(name) = missing_field(&message) else {
            return ApiError::malformed_body(parent, message);
        };
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
            return ApiError::malformed_body(None, syntax.to_string());
        }
        let missing = FieldError::new(name, "required", "is required");
        ApiError::from(match &parent {
            Some(parent) => missing.within(parent),
            None => missing,
        })
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::malformed_body(None, format!("trailing data after the JSON value: {error}")))?;
    Ok(value)
}

/// The name of the field in serde's "missing field `name`" message.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::ResponseError;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Order {
        number: String,
        customer: Customer,
        parcels: Vec<Parcel>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Customer {
        name: String,
        phone: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Parcel {
        weight_grams: u32,
    }

    async fn answer(raw: &str) -> serde_json::Value {
        let error = parse::<Order>(raw.as_bytes()).unwrap_err();
        let body = actix_web::body::to_bytes(error.error_response().into_body()).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    #[tokio::test]
    async fn a_missing_required_field_is_named_by_its_whole_path() {
        for (raw, field) in [
            (r#"{"customer": {"name": "A"}, "parcels": []}"#, "number"),
            (r#"{"number": "1", "customer": {"phone": "1"}, "parcels": []}"#, "customer.name"),
            (
                r#"{"number": "1", "customer": {"name": "A"}, "parcels": [{"weight_grams": 1}, {}]}"#,
                "parcels[1].weight_grams",
            ),
        ] {
            let error = &answer(raw).await["error"];
            assert_eq!(
                (error["code"].as_str(), error["field"].as_str(), error["reason"].as_str()),
                (Some("validation_failed"), Some(field), Some("required")),
                "{raw}: {error}"
            );
        }
        // Not JSON throughout: malformed, whatever the first value lacks.
        let error = &answer(r#"{"customer": {"name": "A"}, "parcels": []} {}"#).await["error"];
        assert_eq!(error["code"].as_str(), Some("malformed_body"), "{error}");
        // A field of the wrong type is still a malformed body, named too.
        let error = &answer(r#"{"number": 1, "customer": {"name": "A"}, "parcels": []}"#).await["error"];
        assert_eq!((error["code"].as_str(), error["field"].as_str()), (Some("malformed_body"), Some("number")));
    }
}
