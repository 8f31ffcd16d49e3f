//! What every HTTP server of ordertrack shares: its configuration, the operational
//! endpoints (`/healthz`, `/readyz`, `/metrics`) and the request log with request ids.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use serde::{Deserialize, Serialize};
use slog::{Logger, debug, error, info, o};

use crate::api_error::ApiError;
use crate::config::ConfigError;
use crate::json_body::{BodyLimit, BodyTimeout};
use crate::metrics::Metrics;
use crate::readiness::Readiness;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one (tests).
    pub port: u16,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// How long a graceful shutdown waits for requests in flight.
    pub shutdown_timeout_secs: u64,
    /// Largest request body accepted, in bytes (413 `body_too_large` past it).
    pub max_body_bytes: usize,
    /// Largest request head accepted: the header names and values together, in bytes
    /// (431 `headers_too_large` past it). At most 131072: past that actix-web's own parser
    /// answers 431 without a body, as it does past 96 headers.
    pub max_header_bytes: usize,
    /// A client must have sent a whole request head this long after it connected (or after
    /// its previous request), else it gets 408 and the connection is closed: slow-loris
    /// clients and connections that never send anything are cut off.
    pub client_request_timeout_ms: u64,
    /// A client must have sent a whole request body within this (408 `body_timeout`).
    pub body_timeout_ms: u64,
    /// An idle keep-alive connection is closed after this long.
    pub keep_alive_secs: u64,
    /// Open connections per worker thread; past it new connections wait in the listen
    /// backlog until one closes (actix-web's default is 25000).
    pub max_connections_per_worker: usize,
    /// Which requests get an `info` line in the log: `failures` (answers of 400 and up,
    /// and requests slower than `slow_request_ms`) or `all`. Every request is counted in
    /// the metrics either way, and logged at `debug`. Logging every request costs a
    /// quarter of the cached `GET /orders/{id}`'s CPU (docs/benchmarks.md).
    pub log_requests: LogRequests,
    /// A request that took at least this long is logged at `info` whatever its answer.
    pub slow_request_ms: u64,
    /// `TCP_NODELAY` on accepted connections: each answer or WebSocket message leaves at
    /// once instead of waiting, behind an unacknowledged one, for the client's delayed ACK.
    pub tcp_nodelay: bool,
    /// `SO_REUSEPORT` on the listening socket: several instances of a service on one
    /// host bind the same address and the kernel spreads new connections among them
    /// (several notifiers behind one port, each under its own file limit).
    pub reuse_port: bool,
}

/// See [`HttpConfig::log_requests`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogRequests {
    Failures,
    All,
}

impl HttpConfig {
    pub fn with_port(port: u16) -> Self {
        Self {
            host: "127.0.0.1".into(),
            port,
            workers: 0,
            shutdown_timeout_secs: 10,
            max_body_bytes: 256 * 1024,
            max_header_bytes: 16 * 1024,
            client_request_timeout_ms: 5000,
            body_timeout_ms: 30_000,
            keep_alive_secs: 5,
            max_connections_per_worker: 25_000,
            log_requests: LogRequests::Failures,
            slow_request_ms: 500,
            tcp_nodelay: true,
            reuse_port: false,
        }
    }

    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        if self.host.trim().is_empty() {
            return Err(ConfigError::invalid(format!("{section}.host"), "must not be empty"));
        }
        let counts = [
            ("max_body_bytes", self.max_body_bytes as u64),
            ("client_request_timeout_ms", self.client_request_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("max_connections_per_worker", self.max_connections_per_worker as u64),
        ]
        .map(|(key, value)| (format!("{section}.{key}"), value));
        ConfigError::require_at_least_one(counts.iter().map(|(key, value)| (key.as_str(), *value)))?;
        if !(1..=MAX_HEAD_BYTES).contains(&self.max_header_bytes) {
            return Err(ConfigError::invalid(
                format!("{section}.max_header_bytes"),
                format!("must be between 1 and {MAX_HEAD_BYTES}"),
            ));
        }
        Ok(())
    }

    /// Binds the listener, so the real port is known before the server starts.
    /// With `reuse_port` it must run inside a Tokio runtime (the socket is made by Tokio).
    pub fn bind(&self) -> anyhow::Result<TcpListener> {
        let address = format!("{}:{}", self.host, self.port);
        let cannot = |error: std::io::Error| anyhow::anyhow!("cannot listen on {address}: {error}");
        if !self.reuse_port {
            return TcpListener::bind(&address).map_err(cannot);
        }
        let resolved = std::net::ToSocketAddrs::to_socket_addrs(&address)
            .map_err(cannot)?
            .next()
            .ok_or_else(|| anyhow::anyhow!("cannot listen on {address}: it names no address"))?;
        let socket = if resolved.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }
            .map_err(cannot)?;
        socket.set_reuseaddr(true).map_err(cannot)?;
        socket.set_reuseport(true).map_err(cannot)?;
        socket.bind(resolved).map_err(cannot)?;
        socket.listen(LISTEN_BACKLOG).and_then(|listener| listener.into_std()).map_err(cannot)
    }

    pub fn worker_count(&self) -> usize {
        if self.workers == 0 { std::thread::available_parallelism().map_or(2, usize::from) } else { self.workers }
    }
}

/// The listen backlog of a `reuse_port` listener (actix-web's default for its own).
const LISTEN_BACKLOG: u32 = 2048;

impl Default for HttpConfig {
    fn default() -> Self {
        Self::with_port(8080)
    }
}

/// Registers `/healthz`, `/readyz` and `/metrics`. Needs `web::Data<Readiness>` and
/// `web::Data<Metrics>` in the app.
pub fn ops_routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// Any path no route matches: a JSON 404 like every other error.
async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": { "code": "route_not_found", "message": "no such path; see /openapi.json" }
    }))
}

/// The process is up and serving. Says nothing about dependencies (that is `/readyz`).
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let report = readiness.check().await;
    if report.ready { HttpResponse::Ok().json(report) } else { HttpResponse::ServiceUnavailable().json(report) }
}

async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(metrics.render())
}

/// actix-web's own limit of a request head (its parser's buffer), in bytes.
const MAX_HEAD_BYTES: usize = 131_072;

/// The request head limit of an app (see [`limit_headers`]).
#[derive(Debug, Clone, Copy)]
pub struct HeaderLimit(pub usize);

/// Middleware (use with `actix_web::middleware::from_fn`): answers 431
/// `headers_too_large` when the request's header names and values together exceed the
/// app's [`HeaderLimit`], before any handler runs.
pub async fn limit_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limit = request.app_data::<web::Data<HeaderLimit>>().map_or(MAX_HEAD_BYTES, |limit| limit.0);
    let size: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if size > limit {
        let error = ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request's headers may be at most {limit} bytes together"),
        );
        return Ok(request.error_response(error).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

/// Middleware (use with `actix_web::middleware::from_fn`): a request that has both
/// `Content-Length` and `Transfer-Encoding` is framed two ways, the shape of request
/// smuggling (a proxy may read one length and this server the other). It is answered 400
/// `ambiguous_framing` before any handler runs, and the connection is closed after the
/// answer (RFC 9112 §6.1). actix-web may already have parsed requests pipelined behind it
/// on the same connection (a smuggled one, say): those get the same answer, and no
/// handler runs for them either.
pub async fn refuse_ambiguous_framing(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let headers = request.headers();
    let ambiguous = headers.contains_key(header::CONTENT_LENGTH) && headers.contains_key(header::TRANSFER_ENCODING);
    let framing = request.conn_data::<Framing>().cloned();
    let after_ambiguous = framing.as_ref().is_some_and(|f| f.0.load(std::sync::atomic::Ordering::SeqCst));
    if ambiguous || after_ambiguous {
        if let Some(framing) = framing {
            framing.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let error = ApiError::new(
            StatusCode::BAD_REQUEST,
            "ambiguous_framing",
            "a request may not have both Content-Length and Transfer-Encoding",
        );
        let mut response = request.error_response(error);
        response.response_mut().head_mut().set_connection_type(ConnectionType::Close);
        return Ok(response.map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

/// The Content-Security-Policy of an answer that sets none: JSON and text load nothing.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
/// ...and an HTML answer that sets none (the API docs, `/docs/`, a Swagger UI of files
/// from the same origin; it sets styles inline).
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Middleware (use with `actix_web::middleware::from_fn`): the security headers of every
/// answer of every service, where the route did not set its own (order-api's pages do):
/// a Content-Security-Policy ([`API_POLICY`], or [`DOCS_POLICY`] for HTML), never framed
/// (`X-Frame-Options: DENY`), never sniffed (`X-Content-Type-Options: nosniff`), no
/// referrer (`Referrer-Policy: no-referrer`).
pub async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(request).await?;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, if html { DOCS_POLICY } else { API_POLICY }),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Which requests [`observe`] logs at `info` (from [`HttpConfig`]).
#[derive(Debug, Clone, Copy)]
pub struct RequestLogPolicy {
    pub requests: LogRequests,
    pub slow: Duration,
}

impl RequestLogPolicy {
    const EVERY: Self = Self { requests: LogRequests::All, slow: Duration::ZERO };

    fn logs(&self, status: u16, elapsed: Duration) -> bool {
        self.requests == LogRequests::All || status >= 400 || elapsed >= self.slow
    }
}

/// The logger of one request: the service logger with the request's id. Handlers take
/// it from the request extensions with `req.extensions().get::<RequestLog>()`.
#[derive(Clone)]
pub struct RequestLog(pub Logger);

/// Middleware (use with `actix_web::middleware::from_fn`): gives every request an id
/// (the caller's `X-Request-Id` when it sent a sane one), logs the request with it,
/// echoes it in the response, and records the request in the HTTP metrics. Needs
/// `web::Data<Logger>` and `web::Data<Metrics>` in the app.
pub async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let log = request
        .app_data::<web::Data<Logger>>()
        .map_or_else(|| Logger::root(slog::Discard, o!()), |log| log.get_ref().clone())
        .new(o!("request_id" => request_id.clone()));
    request.extensions_mut().insert(RequestLog(log.clone()));
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let policy = request.app_data::<web::Data<RequestLogPolicy>>().map_or(RequestLogPolicy::EVERY, |p| *p.get_ref());
    let method = request.method().to_string();
    let path = request.path().to_owned();

    let mut response = next.call(request).await?;

    let status = response.status().as_u16();
    let pattern = response.request().match_pattern();
    let path = logged_path(pattern.as_deref(), path);
    let route = pattern.unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.http_requests.with_label_values(&[method.as_str(), route.as_str(), &status.to_string()]).inc();
        metrics.http_duration.with_label_values(&[method.as_str(), route.as_str()]).observe(elapsed.as_secs_f64());
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    if let Some(error) = response.response().error().filter(|_| status >= 500) {
        // The error's whole cause chain, logged once, here; the caller saw only a code.
        error!(log, "request failed"; "method" => method, "path" => path, "status" => status,
            "elapsed_ms" => elapsed_ms, "error" => error.to_string());
    } else if matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics") || !policy.logs(status, elapsed) {
        debug!(log, "request"; "method" => method, "path" => path, "status" => status, "elapsed_ms" => elapsed_ms);
    } else {
        info!(log, "request"; "method" => method, "path" => path, "status" => status, "elapsed_ms" => elapsed_ms);
    }
    Ok(response)
}

/// The path as the request log shows it. Paths that carry a secret (a tracking token, a
/// webhook secret) are logged as their route pattern, and a path no route matched by its
/// first segment only (`/track/…`): a caller's misplaced secret, as in `/track/<token>/`
/// or `/webhooks/cdek/<secret>/x`, must not reach a log line either.
fn logged_path(pattern: Option<&str>, path: String) -> String {
    match pattern {
        Some(pattern) if pattern.contains("{token}") || pattern.contains("{secret}") => pattern.to_owned(),
        Some(_) => path,
        None => {
            let mut segments = path.trim_start_matches('/').splitn(2, '/');
            let first = segments.next().unwrap_or_default();
            // A long first segment may itself be a token (`/<token>`).
            let first = if first.len() > 24 { "…" } else { first };
            if segments.next().is_some() { format!("/{first}/…") } else { format!("/{first}") }
        }
    }
}

/// Starts an actix-web server on `listener` with the operational endpoints, the
/// request log, the header, body and time limits of `config`, plus the service's own `routes`. Signals are left to
/// the [`Supervisor`](crate::supervisor::Supervisor), which stops the server gracefully.
pub fn serve<F>(
    config: &HttpConfig,
    listener: TcpListener,
    log: Logger,
    metrics: Metrics,
    readiness: Readiness,
    routes: F,
) -> anyhow::Result<actix_web::dev::Server>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let log = web::Data::new(log);
    let metrics = web::Data::new(metrics);
    let readiness = web::Data::new(readiness);
    let max_body = config.max_body_bytes;
    let nodelay = config.tcp_nodelay;
    let header_limit = web::Data::new(HeaderLimit(config.max_header_bytes));
    let body_limit = web::Data::new(BodyLimit(max_body));
    let body_timeout = web::Data::new(BodyTimeout(Duration::from_millis(config.body_timeout_ms)));
    let log_policy = web::Data::new(RequestLogPolicy {
        requests: config.log_requests,
        slow: Duration::from_millis(config.slow_request_ms),
    });
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(log.clone())
            .app_data(metrics.clone())
            .app_data(readiness.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(web::JsonConfig::default().limit(max_body))
            .app_data(header_limit.clone())
            .app_data(body_limit.clone())
            .app_data(body_timeout.clone())
            .app_data(log_policy.clone())
            .wrap(actix_web::middleware::from_fn(refuse_ambiguous_framing))
            .wrap(actix_web::middleware::from_fn(limit_headers))
            .wrap(actix_web::middleware::from_fn(security_headers))
            .wrap(actix_web::middleware::from_fn(observe))
            .configure(ops_routes)
            .configure(routes.clone())
            .default_service(web::to(not_found))
    })
    .on_connect(move |connection, data| connection_opened(connection, data, nodelay))
    .listen(listener)?
    .workers(config.worker_count())
    .client_request_timeout(Duration::from_millis(config.client_request_timeout_ms))
    .keep_alive(Duration::from_secs(config.keep_alive_secs))
    .max_connections(config.max_connections_per_worker)
    .shutdown_timeout(config.shutdown_timeout_secs)
    .disable_signals()
    .run();
    Ok(server)
}

/// Sets up an accepted connection: gives it its [`Framing`] state and, with `nodelay`
/// (`http.tcp_nodelay`), turns Nagle's algorithm off (actix-web leaves it on): a WebSocket
/// push or a pipelined answer written while an earlier one is not yet acknowledged would
/// otherwise wait for the client's delayed ACK, up to 40 ms on Linux.
fn connection_opened(connection: &dyn std::any::Any, data: &mut actix_web::dev::Extensions, nodelay: bool) {
    if nodelay {
        if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = stream.set_nodelay(true);
        }
    }
    data.insert(Framing::default());
}

/// Whether a request of this connection was framed two ways ([`refuse_ambiguous_framing`]).
#[derive(Clone, Default)]
struct Framing(std::sync::Arc<std::sync::atomic::AtomicBool>);

#[cfg(test)]
mod logged_path_tests {
    use super::{LogRequests, RequestLogPolicy, logged_path};
    use std::time::Duration;

    #[test]
    fn failures_and_slow_requests_are_logged_and_the_rest_only_when_asked() {
        let failures = RequestLogPolicy { requests: LogRequests::Failures, slow: Duration::from_millis(500) };
        let fast = Duration::from_millis(2);
        assert!(!failures.logs(200, fast));
        assert!(!failures.logs(304, fast));
        assert!(failures.logs(404, fast));
        assert!(failures.logs(503, fast));
        assert!(failures.logs(200, Duration::from_millis(500)));
        let all = RequestLogPolicy { requests: LogRequests::All, ..failures };
        assert!(all.logs(200, fast));
    }

    #[test]
    fn secrets_in_paths_never_reach_the_request_log() {
        let token = "BPi6Z2Ao4FfWlRxU5i6UWRVD5A_wHiR_Vq4SKhgyv0I";
        // Matched: the route pattern stands for a path that carries a secret.
        assert_eq!(logged_path(Some("/track/{token}"), format!("/track/{token}")), "/track/{token}");
        assert_eq!(
            logged_path(Some("/webhooks/cdek/{secret}"), "/webhooks/cdek/s3cr3t".into()),
            "/webhooks/cdek/{secret}"
        );
        // Matched, no secret: the path itself (ids help ops).
        assert_eq!(logged_path(Some("/orders/{id}"), "/orders/0199-ab".into()), "/orders/0199-ab");
        // Unmatched: only the first segment, whatever follows it.
        for (path, logged) in [
            (format!("/track/{token}/"), "/track/…"),
            (format!("/track/{token}/x"), "/track/…"),
            ("/webhooks/cdek/s3cr3t-0123456789/".to_owned(), "/webhooks/…"),
            (format!("/ws/{token}"), "/ws/…"),
            (format!("/{token}"), "/…"),
            ("/nothing-here".to_owned(), "/nothing-here"),
            ("/".to_owned(), "/"),
        ] {
            assert_eq!(logged_path(None, path.clone()), logged, "{path}");
        }
    }
}

#[cfg(test)]
mod reuse_port_tests {
    use super::HttpConfig;

    #[tokio::test]
    async fn instances_with_reuse_port_share_one_address_and_each_gets_connections() {
        let first_config = HttpConfig { reuse_port: true, ..HttpConfig::with_port(0) };
        let first = first_config.bind().expect("first instance binds");
        let port = first.local_addr().expect("bound").port();
        let shared = HttpConfig { reuse_port: true, ..HttpConfig::with_port(port) };
        let second = shared.bind().expect("a second instance binds the same port");
        let alone = HttpConfig::with_port(port);
        assert!(alone.bind().is_err(), "without reuse_port the port is taken");

        // The kernel spreads connections by their addresses; among many, each listener gets some.
        let mut clients = Vec::new();
        for _ in 0..64 {
            clients.push(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects"));
        }
        let accepted = |listener: &std::net::TcpListener| {
            listener.set_nonblocking(true).expect("nonblocking");
            std::iter::from_fn(|| listener.accept().ok()).count()
        };
        let (by_first, by_second) = (accepted(&first), accepted(&second));
        assert_eq!(by_first + by_second, 64, "every connection is accepted by one instance");
        assert!(by_first > 0 && by_second > 0, "both instances got connections: {by_first} and {by_second}");
    }
}
