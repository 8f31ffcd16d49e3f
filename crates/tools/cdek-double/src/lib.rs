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
//! # API (`/v2`)
//! See [`routes`]. Error bodies: [`errors`]. Order validation rules and their codes:
//! [`validate`].
//!
//! - Authentication failures are 401 with the requests shape and `type: "AUTH"`:
//!   no `Authorization` header or an unknown token → `unauthorized`; a header that is not
//!   `Bearer <token>` → `v2_authorization_incorrect`; an expired or revoked token →
//!   `v2_token_expired`.
//! - Bad credentials at `/v2/oauth/token` → 401 `{"error":"invalid_client",…}`; a missing
//!   or other grant type → 400 `invalid_request` / `unsupported_grant_type`.
//! - After the processing delay a CREATE becomes SUCCESSFUL (a `cdek_number`, status
//!   CREATED, `planned_delivery_date`, `delivery_detail`) or INVALID (status INVALID):
//!   `error_validate_im_dep_number_has_already_had_integration` when an earlier order of
//!   the account with the same `number` succeeded, and `error_validate_double_poison`
//!   when `recipient.name` is exactly `INVALID` (the poison knob for tests).
//! - DELETE succeeds (REMOVED) only if the order is CREATED when it is processed, else
//!   `error_validate_order_delete_status`. A refusal succeeds (NOT_DELIVERED, reason 11)
//!   unless the order is ACCEPTED, CREATED, INVALID, REMOVED, DELIVERED or NOT_DELIVERED,
//!   else `error_validate_order_refusal_status`. A second DELETE or refusal on the same
//!   order while the first is pending → 400 `v2_similar_request_still_processed`.
//! - Every status appended after registration (CREATED, INVALID, REMOVED, NOT_DELIVERED,
//!   control-added ones) is posted to every ORDER_STATUS subscription. Only a 200 answer
//!   counts; see [`delivery`] for retries.
//!
//! # Control (`/control`, no auth)
//! Details and bodies in [`routes::control`] and the crate's README.
//!
//! - `POST /control/orders/{uuid}/status` `{"code":…, "reason_code"?, "city"?, "city_code"?,
//!   "date_time"?}`: appends a status (any code) dated now or `date_time`, fires webhooks;
//!   answers the order as `GET /control/orders` shows it.
//! - `GET /control/orders`: every order with uuid, number, cdek_number, status, statuses,
//!   requests and `create_requests_for_number`.
//! - `POST /control/faults` `{"status":500,"requests":N}` / `{"timeout_ms":M,"requests":N}` /
//!   `{"clear":true}`: the next N `/v2` calls answer that status with the errors shape,
//!   or are delayed first; `GET /control/faults` shows the active fault.
//! - `POST /control/tokens/expire`: every token issued so far gets `v2_token_expired`.
//! - `POST /control/webhooks/drop` `{"drop":true|false}`: while true, status changes are
//!   not delivered.
//! - `GET /control/stats`: API calls per route, tokens issued, faults injected, webhooks
//!   delivered / failed (attempts) / given up / dropped / switched off.
//!
//! `GET /healthz` answers 200 `{"status":"ok"}`.

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
