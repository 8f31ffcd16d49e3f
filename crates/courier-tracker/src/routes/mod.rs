//! courier-tracker's own routes (the operational ones come from `platform::http`).

use actix_web::web;

pub fn configure(_config: &mut web::ServiceConfig) {}
