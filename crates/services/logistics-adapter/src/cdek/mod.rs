//! CDEK API v2: the client ([`client`]), its bodies ([`model`]), its errors
//! ([`error`]), what its status codes mean for an order ([`statuses`]) and the
//! webhook bodies it posts to us ([`webhook`]).

pub mod client;
pub mod error;
pub mod model;
pub mod statuses;
pub mod webhook;

pub use client::{CdekClient, ClientSettings};
pub use error::CdekError;
