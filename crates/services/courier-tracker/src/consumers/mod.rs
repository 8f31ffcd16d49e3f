//! courier-tracker's Kafka input. `order_created` / `order_updated` ([`orders`]) keep the
//! tracker's store of each courier's orders; `courier_locations` is read by
//! [`crate::motion`] for ETAs and arrivals (wired in `startup`).

pub mod orders;
