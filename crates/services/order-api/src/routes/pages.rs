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
        Self { track: read("track.html"), ops: read("ops.html") }
    }

    pub fn track(&self) -> Option<web::Bytes> {
        self.track.clone()
    }
}

/// `GET /ops`: the ops map.
pub async fn ops(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.pages.ops.clone() {
        Some(page) => Ok(html(page)),
        None => Err(ApiError::not_found("page_not_found", "the ops map is not installed on this server")),
    }
}

/// A page's answer: never cached (it carries the configuration of the moment), never
/// framed by another site (clickjacking: `/ops` asks for the ops key), and never sending
/// its path on as a referrer: the tracking page's URL holds the tracking token.
/// `strict-origin` still names the site to the tile server (tile servers such as
/// OpenStreetMap's ask browser clients for a Referer), without the path.
pub fn html(page: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Vary", "Accept"))
        .insert_header(("Content-Security-Policy", "frame-ancestors 'none'"))
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
    use super::escape;

    #[test]
    fn attribute_values_cannot_break_out() {
        assert_eq!(escape(r#"a"><script>"#), "a&quot;&gt;&lt;script&gt;");
    }
}
