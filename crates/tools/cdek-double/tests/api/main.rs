//! The double over real HTTP: one test binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod calculator;
mod control;
mod faults;
mod helpers;
mod oauth;
mod orders_lifecycle;
mod orders_validation;
mod webhooks;
