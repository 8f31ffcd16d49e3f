//! `GET /couriers/{id}/ws`: for apps that keep a connection open. Each text message is
//! a batch (`{"points": [...]}`) and gets the same answer as the HTTP route, as a text
//! message; a bad message gets `{"error": {...}}` and the connection stays open. The
//! token is checked before the upgrade. The server pings every 15 s and closes a
//! connection that has been silent for 60 s.

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use futures::StreamExt;
use platform::api_error::{ApiError, ErrorBody, ErrorDetail};

use super::{AppState, Batch, courier_id};
use crate::auth;

const PING_EVERY: Duration = Duration::from_secs(15);
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// Opens the WebSocket after checking the courier token (header or `?token=`).
#[utoipa::path(
    get, path = "/couriers/{id}/ws", tag = "couriers",
    params(
        ("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = "Courier id: 1 to 64 letters, digits, `-`, `_`, `.` and `:`"),
        ("Upgrade" = String, Header, pattern = "^.*[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt].*$", description = "A WebSocket handshake (RFC 6455)"),
        ("Connection" = String, Header, pattern = "^.*[Uu][Pp][Gg][Rr][Aa][Dd][Ee].*$"),
        ("Sec-WebSocket-Version" = String, Header, pattern = "^13$"),
        ("Sec-WebSocket-Key" = String, Header, pattern = "^[A-Za-z0-9+/]{21}[AQgw]==$", description = "16 random bytes, base64"),
    ),
    responses((status = 101, description = "Switching protocols: send batches as text messages")),
    security(("courier_token" = []))
)]
pub async fn connect(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let courier = courier_id(&id)?;
    let courier = auth::courier(&request, &state.token_secret, &courier)?;
    check_handshake(&request)?;
    let (response, mut session, stream) = actix_ws::handle(&request, body)
        .map_err(|error| ApiError::bad_request("not_a_websocket", error.to_string()))?;
    let mut stream = stream
        .max_frame_size(state.max_message_bytes)
        .aggregate_continuations()
        .max_continuation_size(state.max_message_bytes);
    actix_web::rt::spawn(async move {
        let mut ticks = tokio::time::interval(PING_EVERY);
        let mut heard = Instant::now();
        let reason = loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if heard.elapsed() > IDLE_LIMIT {
                        break Some(CloseReason { code: CloseCode::Away, description: Some("idle".into()) });
                    }
                    if session.ping(b"").await.is_err() {
                        break None;
                    }
                }
                message = stream.next() => {
                    heard = Instant::now();
                    let answer = match message {
                        Some(Ok(AggregatedMessage::Text(text))) => handle(&state, &courier, text.as_bytes()).await,
                        Some(Ok(AggregatedMessage::Binary(bytes))) => handle(&state, &courier, &bytes).await,
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            if session.pong(&bytes).await.is_err() {
                                break None;
                            }
                            continue;
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => continue,
                        Some(Ok(AggregatedMessage::Close(reason))) => break reason,
                        Some(Err(error)) => break Some(CloseReason { code: CloseCode::Protocol, description: Some(error.to_string()) }),
                        None => break None,
                    };
                    if session.text(answer).await.is_err() {
                        break None;
                    }
                }
            }
        };
        let _ = session.close(reason).await;
    });
    Ok(response)
}

/// RFC 6455 4.2.1: version 13, and a `Sec-WebSocket-Key` of 16 bytes in base64 (actix-ws
/// also takes the drafts' versions 7 and 8, and checks only that there is a key).
fn check_handshake(request: &HttpRequest) -> Result<(), ApiError> {
    if request.headers().get("sec-websocket-version").is_some_and(|version| version.as_bytes() != b"13") {
        return Err(ApiError::bad_request("not_a_websocket", "Sec-WebSocket-Version must be 13"));
    }
    let key = request.headers().get("sec-websocket-key").map(|value| value.as_bytes());
    let well_formed = key.is_some_and(|key| {
        key.len() == 24
            && key.ends_with(b"==")
            && key.iter().take(22).all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
            && key.get(21).is_some_and(|b| matches!(b, b'A' | b'Q' | b'g' | b'w'))
    });
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::bad_request("not_a_websocket", "Sec-WebSocket-Key must be 16 bytes in base64"))
    }
}

/// The answer to one message: the ingest outcome, or an error object.
async fn handle(state: &AppState, courier: &domain::ids::CourierKey, message: &[u8]) -> String {
    let result = async {
        let batch: Batch = platform::json_body::parse(message)?;
        state.ingest.ingest(courier, &batch.points, Instant::now()).await.map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(outcome) => serde_json::to_string(&outcome).unwrap_or_default(),
        Err(error) => serde_json::to_string(&ErrorBody {
            error: ErrorDetail { code: error.code(), message: error.to_string(), field: None, reason: None },
        })
        .unwrap_or_default(),
    }
}
