//! notifier's own routes (the operational ones come from `platform::http`).

mod ws;

use actix_web::web;

pub use ws::{Refusal, WsState};

pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/ws", web::get().to(ws::customer)).route("/ws/ops", web::get().to(ws::ops));
}
