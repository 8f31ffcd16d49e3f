//! ordertrack's shared domain: what an order is and how it may change, the events the
//! services exchange and the topics they travel on. No I/O and no framework types, so
//! every service (and every test) can use it freely.

pub mod convert;
pub mod customer;
pub mod eta;
pub mod events;
pub mod geo;
pub mod ids;
pub mod order;
pub mod parcel;
pub mod position;
pub mod status;
pub mod ticket;
pub mod token;
pub mod topics;
pub mod validation;
