//! The WebSocket endpoints.
//!
//! - `GET /ws?ticket=<ticket>[&order=<order id>]`: a customer's live view of one order.
//!   The ticket comes from `GET /track/{token}` and is checked here, offline, with the
//!   shared secret.
//! - `GET /ws/ops`: an ops dashboard. The ops key comes in an `Authorization: Bearer`
//!   header or in the first message (`{"type":"subscribe","key":...,"scope":...}`), which
//!   browsers can send where they cannot set headers.
//!
//! Refusals happen after the upgrade, as close frames with a code and a reason, because
//! a browser cannot see the HTTP status of a failed handshake. The codes are in
//! [`Refusal`] and `docs/websocket.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError, Session};
use chrono::Utc;
use domain::ids::OrderId;
use domain::token::TokenError;
use futures::StreamExt;
use platform::Secret;
use platform::api_error::ApiError;
use platform::keys::KeySet;
use serde::Deserialize;
use slog::{Logger, debug};
use tokio_util::sync::CancellationToken;

use crate::config::WsConfig;
use crate::hub::{Hub, WatchId};
use crate::messages::{self, ClientMessage, Subscribed};
use crate::metrics::NotifierMetrics;
use crate::send_queue::{Closed, SendQueue};

/// How long a socket the server closes waits for the client's close frame.
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(10);

/// What the socket endpoints share.
pub struct WsState {
    pub hub: Arc<Hub>,
    pub config: WsConfig,
    pub ticket_secret: Secret,
    pub ops_keys: KeySet,
    pub metrics: NotifierMetrics,
    pub shutdown: CancellationToken,
    pub log: Logger,
    pub open: AtomicUsize,
}

/// Why the server closes a socket: a close code and a machine-readable reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TicketMissing,
    TicketExpired,
    TicketInvalid,
    WrongOrder,
    OriginNotAllowed,
    OpsKeyMissing,
    OpsKeyInvalid,
    TooSlow,
    Idle,
    MessageTooBig,
    ProtocolError,
    TooManySockets,
    ShuttingDown,
}

impl Refusal {
    pub fn code(self) -> u16 {
        match self {
            Self::TicketMissing => 4001,
            Self::TicketExpired => 4002,
            Self::TicketInvalid => 4003,
            Self::WrongOrder => 4004,
            Self::OriginNotAllowed => 4005,
            Self::OpsKeyMissing => 4006,
            Self::OpsKeyInvalid => 4007,
            Self::TooSlow => 4008,
            Self::Idle => 4009,
            Self::MessageTooBig => 1009,
            Self::ProtocolError => 1002,
            Self::TooManySockets => 1013,
            Self::ShuttingDown => 1001,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Self::TicketMissing => "ticket_missing",
            Self::TicketExpired => "ticket_expired",
            Self::TicketInvalid => "ticket_invalid",
            Self::WrongOrder => "ticket_wrong_order",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::OpsKeyMissing => "ops_key_missing",
            Self::OpsKeyInvalid => "ops_key_invalid",
            Self::TooSlow => "too_slow",
            Self::Idle => "idle_timeout",
            Self::MessageTooBig => "message_too_big",
            Self::ProtocolError => "protocol_error",
            Self::TooManySockets => "too_many_sockets",
            Self::ShuttingDown => "shutting_down",
        }
    }

    fn close_reason(self) -> CloseReason {
        CloseReason { code: CloseCode::Other(self.code()), description: Some(self.reason().to_owned()) }
    }
}

impl From<TokenError> for Refusal {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Expired => Refusal::TicketExpired,
            TokenError::Malformed | TokenError::BadSignature | TokenError::WrongPurpose | TokenError::NoStore => {
                Refusal::TicketInvalid
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CustomerQuery {
    ticket: Option<String>,
    order: Option<String>,
}

/// Counts a socket while it lives.
struct Slot {
    state: web::Data<WsState>,
    kind: &'static str,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.open.fetch_sub(1, Ordering::AcqRel);
        self.state.metrics.sockets.with_label_values(&[self.kind]).dec();
    }
}

/// Takes a socket slot, or says the instance is full.
fn take_slot(state: &web::Data<WsState>, kind: &'static str) -> Result<Slot, Refusal> {
    let open = state.open.fetch_add(1, Ordering::AcqRel) + 1;
    state.metrics.sockets.with_label_values(&[kind]).inc();
    let slot = Slot { state: state.clone(), kind };
    if open > state.config.max_sockets { Err(Refusal::TooManySockets) } else { Ok(slot) }
}

fn check_origin(state: &WsState, request: &HttpRequest) -> Result<(), Refusal> {
    let origin = request.headers().get("origin").map(|value| value.to_str().unwrap_or("\u{0}"));
    if state.config.origin_allowed(origin) { Ok(()) } else { Err(Refusal::OriginNotAllowed) }
}

fn check_ticket(state: &WsState, query: &CustomerQuery) -> Result<OrderId, Refusal> {
    let ticket = query.ticket.as_deref().filter(|t| !t.is_empty()).ok_or(Refusal::TicketMissing)?;
    let (order, _expires) = domain::ticket::verify(state.ticket_secret.expose().as_bytes(), ticket, Utc::now())?;
    match query.order.as_deref() {
        Some(wanted) if wanted.parse::<OrderId>().ok() != Some(order) => Err(Refusal::WrongOrder),
        _ => Ok(order),
    }
}

fn upgrade(
    request: &HttpRequest,
    body: web::Payload,
) -> Result<(HttpResponse, Session, actix_ws::MessageStream), ApiError> {
    actix_ws::handle(request, body).map_err(|error| ApiError::bad_request("not_a_websocket", error.to_string()))
}

fn refuse(state: &WsState, mut session: Session, refusal: Refusal) {
    state.metrics.closed.with_label_values(&[refusal.reason()]).inc();
    debug!(state.log, "socket refused"; "reason" => refusal.reason());
    actix_web::rt::spawn(async move {
        let _ = session.text(format!(r#"{{"seq":1,"type":"error","code":"{}"}}"#, refusal.reason())).await;
        let _ = session.close(Some(refusal.close_reason())).await;
    });
}

/// `GET /ws`: a customer's socket for one order.
pub async fn customer(
    state: web::Data<WsState>,
    request: HttpRequest,
    query: web::Query<CustomerQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (response, session, stream) = upgrade(&request, body)?;
    let checked = check_origin(&state, &request)
        .and_then(|()| check_ticket(&state, &query))
        .and_then(|order| take_slot(&state, "customer").map(|slot| (order, slot)));
    let (order, slot) = match checked {
        Ok(found) => found,
        Err(refusal) => {
            refuse(&state, session, refusal);
            return Ok(response);
        }
    };
    let queue = SendQueue::new(state.config.queue_limit);
    let watch = state.hub.watch_order(order, Arc::clone(&queue));
    actix_web::rt::spawn(async move {
        let hub = Arc::clone(&slot.state.hub);
        let mut socket = Socket::new(slot, session, queue, Role::Customer);
        socket.run(stream).await;
        hub.unwatch_order(order, watch);
    });
    Ok(response)
}

/// `GET /ws/ops`: an ops dashboard's socket.
pub async fn ops(
    state: web::Data<WsState>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (response, session, stream) = upgrade(&request, body)?;
    let header_key =
        request.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(platform::keys::bearer);
    let checked = check_origin(&state, &request)
        .and_then(|()| match header_key {
            Some(key) if state.ops_keys.find(key).is_none() => Err(Refusal::OpsKeyInvalid),
            Some(_) => Ok(true),
            None => Ok(false),
        })
        .and_then(|authorized| take_slot(&state, "ops").map(|slot| (authorized, slot)));
    let (authorized, slot) = match checked {
        Ok(found) => found,
        Err(refusal) => {
            refuse(&state, session, refusal);
            return Ok(response);
        }
    };
    let queue = SendQueue::new(state.config.queue_limit);
    actix_web::rt::spawn(async move {
        let hub = Arc::clone(&slot.state.hub);
        let mut socket = Socket::new(slot, session, queue, Role::Ops { authorized, watch: None });
        socket.run(stream).await;
        if let Role::Ops { watch: Some(watch), .. } = socket.role {
            hub.unwatch_ops(watch);
        }
    });
    Ok(response)
}

enum Role {
    Customer,
    Ops { authorized: bool, watch: Option<WatchId> },
}

/// One open socket: writes its queue, answers pings, reads ops subscriptions.
struct Socket {
    slot: Slot,
    session: Session,
    queue: Arc<SendQueue>,
    role: Role,
    seq: u64,
}

impl Socket {
    fn new(slot: Slot, session: Session, queue: Arc<SendQueue>, role: Role) -> Self {
        Self { slot, session, queue, role, seq: 0 }
    }

    fn state(&self) -> &WsState {
        &self.slot.state
    }

    async fn send(&mut self, body: &str) -> bool {
        self.seq += 1;
        self.session.text(messages::frame(self.seq, body)).await.is_ok()
    }

    /// Serves the socket until either side closes it.
    async fn run(&mut self, stream: actix_ws::MessageStream) {
        let shutdown = self.state().shutdown.clone();
        let config = &self.slot.state.config;
        let mut stream = stream
            .max_frame_size(config.max_message_bytes)
            .aggregate_continuations()
            .max_continuation_size(config.max_message_bytes);
        let mut ticks = tokio::time::interval(Duration::from_secs(config.ping_interval_secs));
        ticks.reset();
        let idle_limit = Duration::from_secs(config.idle_timeout_secs);
        let subscribe_by = tokio::time::sleep(Duration::from_secs(config.subscribe_timeout_secs));
        tokio::pin!(subscribe_by);
        let mut heard = Instant::now();
        let queue = Arc::clone(&self.queue);

        let closing: Option<Refusal> = loop {
            let waiting_for_key = matches!(self.role, Role::Ops { watch: None, .. });
            tokio::select! {
                () = shutdown.cancelled() => break Some(Refusal::ShuttingDown),
                () = queue.ready() => {
                    let taken = queue.take();
                    if taken.closed == Some(Closed::TooSlow) {
                        break Some(Refusal::TooSlow);
                    }
                    let mut open = true;
                    for body in &taken.messages {
                        if !self.send(body).await {
                            open = false;
                            break;
                        }
                    }
                    if !open {
                        break None;
                    }
                }
                () = &mut subscribe_by, if waiting_for_key => {
                    let refusal = match self.role {
                        Role::Ops { authorized: true, .. } => Refusal::Idle,
                        _ => Refusal::OpsKeyMissing,
                    };
                    break Some(refusal);
                }
                _ = ticks.tick() => {
                    if heard.elapsed() > idle_limit {
                        break Some(Refusal::Idle);
                    }
                    if self.session.ping(b"").await.is_err() {
                        break None;
                    }
                }
                message = stream.next() => {
                    heard = Instant::now();
                    match message {
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            if let Err(refusal) = self.received(text.as_bytes()).await {
                                break Some(refusal);
                            }
                        }
                        Some(Ok(AggregatedMessage::Binary(bytes))) => {
                            if let Err(refusal) = self.received(&bytes).await {
                                break Some(refusal);
                            }
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            if self.session.pong(&bytes).await.is_err() {
                                break None;
                            }
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                        Some(Err(ProtocolError::Overflow)) => break Some(Refusal::MessageTooBig),
                        Some(Err(_)) => break Some(Refusal::ProtocolError),
                    }
                }
            }
        };
        let reason = match closing {
            Some(refusal) => {
                self.state().metrics.closed.with_label_values(&[refusal.reason()]).inc();
                debug!(self.state().log, "socket closed by the server"; "reason" => refusal.reason());
                Some(refusal.close_reason())
            }
            None => None,
        };
        let server_closes = reason.is_some();
        let _ = self.session.clone().close(reason).await;
        if server_closes {
            // The closing handshake: the client reads what was already on its way, then
            // answers with its own close frame. Waiting for it (briefly) means the client
            // sees the close code instead of a reset connection.
            let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
                while let Some(Ok(message)) = stream.next().await {
                    if matches!(message, AggregatedMessage::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }

    /// A message from the client. Customers have nothing to say; ops subscribe.
    async fn received(&mut self, text: &[u8]) -> Result<(), Refusal> {
        let Role::Ops { authorized, watch } = self.role else {
            self.error("unexpected_message", "this socket only receives").await;
            return Ok(());
        };
        let message = match ClientMessage::parse(text) {
            Ok(message) => message,
            Err(error) => {
                // Read loosely, so a valid key with a malformed scope hears what is wrong
                // with the scope, not that a key is missing.
                let loose: Option<serde_json::Value> = serde_json::from_slice(text).ok();
                if !authorized {
                    match loose.as_ref().and_then(|v| v.get("key")).and_then(serde_json::Value::as_str) {
                        Some(key) if self.state().ops_keys.find(key).is_some() => {
                            self.role = Role::Ops { authorized: true, watch };
                        }
                        Some(_) => return Err(Refusal::OpsKeyInvalid),
                        None if watch.is_none() => return Err(Refusal::OpsKeyMissing),
                        None => {}
                    }
                }
                let scope = loose.as_ref().and_then(|v| v.get("scope")).cloned();
                match scope.and_then(|scope| serde_json::from_value::<messages::Scope>(scope).err()) {
                    Some(reason) => self.error("bad_scope", &format!("scope: {reason}")).await,
                    None => self.error("bad_message", &error.to_string()).await,
                }
                return Ok(());
            }
        };
        let ClientMessage::Subscribe { key, scope } = message;
        if !authorized {
            match key.as_deref() {
                Some(key) if self.state().ops_keys.find(key).is_some() => {}
                Some(_) => return Err(Refusal::OpsKeyInvalid),
                None if watch.is_none() => return Err(Refusal::OpsKeyMissing),
                None => {}
            }
        }
        if let Err(reason) = scope.validate() {
            self.error("bad_scope", reason).await;
            return Ok(());
        }
        self.queue.push(messages::body(&Subscribed { scope: &scope }));
        let id = self.state().hub.watch_ops(watch, scope, Arc::clone(&self.queue));
        self.role = Role::Ops { authorized: true, watch: Some(id) };
        Ok(())
    }

    async fn error(&mut self, code: &str, message: &str) {
        let body = messages::body(&serde_json::json!({"type": "error", "code": code, "message": message}));
        let _ = self.send(&body).await;
    }
}
