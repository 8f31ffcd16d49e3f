//! cdek-double: a faithful, in-memory test double of CDEK's integration API v2, as
//! described in `docs/cdek-api.md`. It enforces what CDEK enforces (OAuth tokens,
//! required fields, mutual exclusions, asynchronous ACCEPTED → SUCCESSFUL/INVALID
//! processing, status rules for DELETE and refusal, the two-webhook limit) and posts
//! ORDER_STATUS webhooks with retries, so a client tested against it is tested against
//! the real rules. Tests steer it through `/control` endpoints.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use cdek_double::{CdekDouble, DoubleConfig};
//! let double = CdekDouble::start(DoubleConfig::default()).await?;
//! let base = double.base_url(); // http://127.0.0.1:PORT/v2
//! let control = double.control_url(); // http://127.0.0.1:PORT/control
//! # let _ = (base, control);
//! double.stop().await;
//! # Ok(()) }
//! ```
//!
//! What it answers on `/v2` (every rule and error code), its `/control` endpoints, its
//! flags and its logs are in the crate's README.md; the rules are in [`validate`], the
//! error bodies in [`errors`], the routes in [`routes`] and webhook retries in [`delivery`].

pub mod auth;
pub mod config;
pub mod delivery;
pub mod errors;
pub mod model;
mod processing;
pub mod routes;
mod startup;
pub mod statuses;
pub mod store;
pub mod tariffs;
pub mod time;
pub mod validate;

pub use config::{DoubleConfig, TEST_CLIENT_ID, TEST_CLIENT_SECRET};
pub use startup::CdekDouble;
