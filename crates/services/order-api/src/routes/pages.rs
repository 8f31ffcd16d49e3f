//! The tracking page and the ops map (`web/public`) and the npm packages they use
//! (`web/node_modules`, installed by `npm ci`), served by order-api itself: no CDN.
//!
//! | method | path | what |
//! | --- | --- | --- |
//! | GET | /track/{token} (`Accept: text/html`) | the tracking page (the same URL gives API clients JSON) |
//! | GET | /ops | the ops map (the page holds no data: it asks for the ops key and sends it to the notifier) |
//! | GET | /web/… | the pages' scripts and styles |
//! | GET | /web/vendor/leaflet/… | Leaflet, from `web/node_modules/leaflet/dist` |

use std::path::Path;

use actix_web::{HttpResponse, web};
use platform::api_error::ApiError;
use slog::{Logger, warn};

use crate::config::WebConfig;
use crate::state::AppState;

/// The pages, read once at start-up with the configured tile server and the notifier's
/// WebSocket filled in.
#[derive(Debug, Default)]
pub struct Pages {
    /// Shared, not copied, by every answer.
    track: Option<web::Bytes>,
    ops: Option<web::Bytes>,
    /// The pages' Content-Security-Policy ([`content_security_policy`]).
    csp: String,
}

impl Pages {
    /// `live_url` is the notifier's customer socket (`…/ws`); the ops map uses `…/ws/ops`.
    pub fn load(config: &WebConfig, live_url: &str, log: &Logger) -> Self {
        let ops_url = format!("{}/ops", live_url.trim_end_matches('/'));
        let fill = |html: String| {
            html.replace("{{TILES_URL}}", &escape(&config.tiles_url))
                .replace("{{TILES_ATTRIBUTION}}", &escape(&config.tiles_attribution))
                .replace("{{OPS_SOCKET_URL}}", &escape(&ops_url))
        };
        let read = |name: &str| {
            let path = Path::new(&config.root).join("public").join(name);
            match std::fs::read_to_string(&path) {
                Ok(html) => Some(web::Bytes::from(fill(html))),
                Err(error) => {
                    warn!(log, "a page is not there: it answers 404"; "path" => %path.display(), "error" => %error);
                    None
                }
            }
        };
        let csp = content_security_policy(&config.tiles_url, live_url);
        Self { track: read("track.html"), ops: read("ops.html"), csp }
    }

    /// The tracking page's answer, if the page is installed.
    pub fn track(&self) -> Option<HttpResponse> {
        self.track.clone().map(|page| html(page, &self.csp))
    }
}

/// What the pages may load, and nothing else: their own scripts, styles and images (and
/// Leaflet's, from the same origin), the map tiles' server, and the notifier's WebSocket;
/// no inline script or style, no plugin, no form, no `<base>`, never framed.
pub fn content_security_policy(tiles_url: &str, live_url: &str) -> String {
    let tiles = origin(tiles_url).map(|origin| format!(" {origin}")).unwrap_or_default();
    let live = origin(live_url).map(|origin| format!(" {origin}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         connect-src 'self'{live}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The origin (`scheme://host[:port]`) of a URL or a tile URL template; a `{s}` subdomain
/// placeholder becomes `*`. None for an empty or relative URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default().replace("{s}", "*");
    let safe =
        |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:*[]".contains(&b));
    (safe(scheme) && safe(&host)).then(|| format!("{scheme}://{host}"))
}

/// `GET /ops`: the ops map.
pub async fn ops(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.pages.ops.clone() {
        Some(page) => Ok(html(page, &state.pages.csp)),
        None => Err(ApiError::not_found("page_not_found", "the ops map is not installed on this server")),
    }
}

/// A page's answer: never cached (it carries the configuration of the moment), loading
/// only what `csp` allows, never framed by another site (clickjacking: `/ops` asks for the
/// ops key), and never sending its path on as a referrer: the tracking page's URL holds
/// the tracking token. `strict-origin` still names the site to the tile server (tile
/// servers such as OpenStreetMap's ask browser clients for a Referer), without the path.
fn html(page: web::Bytes, csp: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Vary", "Accept"))
        .insert_header(("Content-Security-Policy", csp))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "strict-origin"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(page)
}

/// Static files under `/web`.
pub fn configure_static(config: &mut web::ServiceConfig, root: &Path) {
    config
        .service(actix_files::Files::new("/web/vendor/leaflet", root.join("node_modules/leaflet/dist")))
        .service(actix_files::Files::new("/web", root.join("public")));
}

/// Whether a request asks for a page (a browser navigating) rather than JSON.
pub fn wants_html(request: &actix_web::HttpRequest) -> bool {
    request
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Text made safe for an HTML attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::{content_security_policy, escape, origin};

    #[test]
    fn attribute_values_cannot_break_out() {
        assert_eq!(escape(r#"a"><script>"#), "a&quot;&gt;&lt;script&gt;");
    }

    #[test]
    fn the_policy_names_the_tile_server_and_the_socket_and_nothing_else() {
        let csp = content_security_policy("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "wss://live.example/ws");
        assert_eq!(
            csp,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: \
             https://tile.openstreetmap.org; connect-src 'self' wss://live.example; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        );
        assert!(content_security_policy("", "ws://127.0.0.1:8082/ws").contains("img-src 'self' data:;"));
        assert_eq!(origin("https://{s}.tile.example:8443/{z}.png").as_deref(), Some("https://*.tile.example:8443"));
        assert_eq!(origin("/tiles/{z}.png"), None);
        assert_eq!(origin("https://evil.example; script-src *"), None);
    }
}
