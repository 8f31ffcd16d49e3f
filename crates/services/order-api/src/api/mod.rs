//! The REST API's own types: what storefronts send and receive. They are
//! converted to and from the domain types here, so the domain never sees JSON.

pub mod input;
pub mod schema;
pub mod views;
