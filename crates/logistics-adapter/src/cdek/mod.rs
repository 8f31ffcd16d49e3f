//! CDEK API v2: the client ([`client`]), its bodies ([`model`]), its errors
//! ([`error`]) and what its status codes mean for an order ([`statuses`]).

pub mod client;
pub mod error;
pub mod model;
pub mod statuses;

pub use client::{CdekClient, ClientSettings};
pub use error::CdekError;
