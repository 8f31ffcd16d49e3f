//! The tracking page and the ops map (`web/public`) and the npm packages they use
//! (`web/node_modules`, installed by `npm ci`), served by order-api itself: no CDN.
//!
//! | method | path | what |
//! | --- | --- | --- |
//! | GET | /track/{token} (`Accept: text/html`) | the tracking page (the same URL gives API clients JSON) |
//! | GET | /web/… | the pages' scripts and styles |
//! | GET | /web/vendor/leaflet/… | Leaflet, from `web/node_modules/leaflet/dist` |

use std::path::Path;

use actix_web::web;
use slog::{Logger, warn};

use crate::config::WebConfig;

/// The pages, read once at start-up with the configured tile server filled in.
#[derive(Debug, Default)]
pub struct Pages {
    /// Shared, not copied, by every answer.
    track: Option<web::Bytes>,
}

impl Pages {
    pub fn load(config: &WebConfig, log: &Logger) -> Self {
        let path = Path::new(&config.root).join("public/track.html");
        let track = match std::fs::read_to_string(&path) {
            Ok(html) => Some(web::Bytes::from(
                html.replace("{{TILES_URL}}", &escape(&config.tiles_url))
                    .replace("{{TILES_ATTRIBUTION}}", &escape(&config.tiles_attribution)),
            )),
            Err(error) => {
                warn!(log, "the tracking page is not there: tracking links answer JSON only";
                    "path" => %path.display(), "error" => %error);
                None
            }
        };
        Self { track }
    }

    pub fn track(&self) -> Option<web::Bytes> {
        self.track.clone()
    }
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
