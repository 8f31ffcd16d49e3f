//! ordertrack's shared domain: what an order is and how it may change, the events the
//! services exchange and the topics they travel on. No I/O and no framework types, so
//! every service (and every test) can use it freely.

pub mod events;
pub mod ids;
pub mod topics;
