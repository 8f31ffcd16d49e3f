//! The three services the demo talks to: order-api (as the storefront), the courier
//! tracker (as the couriers' app) and the CDEK double's control endpoints (as CDEK).
//! Every call answers either what was asked for or a [`CallError`] that says what went
//! wrong in a line; retrying is up to the caller ([`retry`]).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use domain::ids::{CourierId, CourierKey, StoreId};
use domain::status::OrderStatus;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Demo;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Stack {
    client: reqwest::Client,
    api: String,
    key: String,
    /// The store the key belongs to: the store of the couriers (their tokens name it).
    store: StoreId,
    tracker: String,
    double: String,
}

/// Why a call did not give what was asked for.
#[derive(Debug)]
pub enum CallError {
    /// No answer: refused, reset, timed out.
    Unreachable { what: String, error: String },
    /// An error answer, with the API's machine-readable code when it sent one.
    Answer { what: String, status: u16, code: String, message: String },
    /// A success whose body is not what the API documents.
    Unexpected { what: String, error: String },
}

impl CallError {
    /// Worth sending again: nobody answered, or the server said it is busy or broken.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Answer { status, .. } => *status >= 500 || *status == 429,
            Self::Unexpected { .. } => false,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Answer { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable { what, error } => write!(f, "{what}: no answer ({error})"),
            Self::Answer { what, status, code, message } => write!(f, "{what}: {status} {code}: {message}"),
            Self::Unexpected { what, error } => write!(f, "{what}: unexpected answer ({error})"),
        }
    }
}

impl std::error::Error for CallError {}

/// An order as order-api shows it (the parts the demo reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub id: String,
    pub store_id: String,
    pub status: String,
    pub version: i64,
    pub carrier_reference: Option<String>,
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// Only in the answer to the creation.
    pub tracking: Option<TrackingLink>,
}

impl Order {
    /// Whether the order is at `status` or further along the main line.
    pub fn reached(&self, status: &str) -> bool {
        match (OrderStatus::parse(&self.status), OrderStatus::parse(status)) {
            (Some(now), Some(wanted)) => now.has_reached(wanted),
            _ => self.status == status,
        }
    }

    /// No change is possible any more (or, for a refused CDEK registration, none will come).
    pub fn is_final(&self) -> bool {
        OrderStatus::parse(&self.status).is_some_and(|s| s.is_final() || s == OrderStatus::RegistrationFailed)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TimelineEntry {
    pub status: String,
    /// `storefront`, `courier`, `carrier` or `system` (the tracker).
    pub actor: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TrackingLink {
    pub url: String,
    /// The token in the link (`GET /track/{token}`).
    #[serde(default)]
    pub token: String,
}

/// What the tracker made of a batch of positions.
#[derive(Debug, Clone, Deserialize)]
pub struct Ingested {
    pub accepted: u64,
    #[serde(default)]
    pub dropped: Vec<DroppedPoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DroppedPoint {
    pub reason: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

impl Stack {
    pub fn new(api: &str, key: &str, store: &str, tracker: &str, double: &str) -> anyhow::Result<Stack> {
        let trim = |url: &str| url.trim_end_matches('/').to_owned();
        Ok(Stack {
            client: reqwest::Client::builder().timeout(TIMEOUT).build()?,
            api: trim(api),
            key: key.to_owned(),
            store: StoreId::parse(store).map_err(|e| anyhow::anyhow!("--store: {}", e.message))?,
            tracker: trim(tracker),
            double: trim(double),
        })
    }

    /// Fails fast, with the reason, when a service the demo needs is not there or the key
    /// is wrong.
    pub async fn check(&self, with_double: bool) -> anyhow::Result<()> {
        let mut calls = vec![
            ("order-api GET /orders", self.client.get(format!("{}/orders?limit=1", self.api)).bearer_auth(&self.key)),
            ("courier-tracker GET /healthz", self.client.get(format!("{}/healthz", self.tracker))),
        ];
        if with_double {
            calls.push(("CDEK double GET /healthz", self.client.get(format!("{}/healthz", self.double))));
        }
        for (what, request) in calls {
            match self.call::<Value>(what, request).await {
                Ok(_) => {}
                Err(error @ CallError::Unreachable { .. }) => {
                    anyhow::bail!("{error}; is the stack up? (scripts/dev up)")
                }
                Err(error) => anyhow::bail!("{error}"),
            }
        }
        Ok(())
    }

    /// The store's courier of this id (couriers belong to stores).
    pub fn courier(&self, id: &str) -> anyhow::Result<CourierKey> {
        let id = CourierId::parse(id).map_err(|e| anyhow::anyhow!("courier {id:?}: {}", e.message))?;
        Ok(CourierKey::new(self.store.clone(), id))
    }

    /// `POST /orders`; the key makes a retry return the first answer instead of a second order.
    /// An order of another store than `--store` is an error: the couriers' tokens would
    /// name a store whose orders they do not carry.
    pub async fn create_order(&self, body: &Value, idempotency_key: &str) -> Result<Order, CallError> {
        let request = self
            .client
            .post(format!("{}/orders", self.api))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        let order: Order = self.call("POST /orders", request).await?;
        if order.store_id != self.store.as_str() {
            return Err(CallError::Unexpected {
                what: "POST /orders".into(),
                error: format!(
                    "the key belongs to store {:?}, not --store {:?}; give --store {:?}",
                    order.store_id, self.store, order.store_id
                ),
            });
        }
        Ok(order)
    }

    pub async fn order(&self, id: &str) -> Result<Order, CallError> {
        let request = self.client.get(format!("{}/orders/{id}", self.api)).bearer_auth(&self.key);
        self.call(&format!("GET /orders/{id}"), request).await
    }

    pub async fn assign(&self, id: &str, courier_id: &str, expected_version: i64) -> Result<Order, CallError> {
        let request = self
            .client
            .post(format!("{}/orders/{id}/assign-courier", self.api))
            .bearer_auth(&self.key)
            .json(&json!({ "courier_id": courier_id, "expected_version": expected_version }));
        self.call(&format!("POST /orders/{id}/assign-courier"), request).await
    }

    pub async fn set_status(
        &self,
        id: &str,
        status: &str,
        note: &str,
        expected_version: i64,
    ) -> Result<Order, CallError> {
        let request = self
            .client
            .patch(format!("{}/orders/{id}/status", self.api))
            .bearer_auth(&self.key)
            .json(&json!({ "status": status, "note": note, "expected_version": expected_version }));
        self.call(&format!("PATCH /orders/{id}/status {status}"), request).await
    }

    pub async fn cancel(&self, id: &str, reason: &str) -> Result<Order, CallError> {
        let request =
            self.client.delete(format!("{}/orders/{id}", self.api)).bearer_auth(&self.key).query(&[("reason", reason)]);
        self.call(&format!("DELETE /orders/{id}"), request).await
    }

    /// `GET /track/{token}`: the customer's view of the order and a ticket for the socket.
    pub async fn track(&self, token: &str) -> Result<Value, CallError> {
        let request = self.client.get(format!("{}/track/{token}", self.api));
        self.call("GET /track/{token}", request).await
    }

    /// `POST /couriers/{id}/locations` with the courier's token.
    pub async fn post_positions(&self, courier_id: &str, token: &str, points: &[Value]) -> Result<Ingested, CallError> {
        let request = self
            .client
            .post(format!("{}/couriers/{courier_id}/locations", self.tracker))
            .bearer_auth(token)
            .json(&json!({ "points": points }));
        self.call(&format!("POST /couriers/{courier_id}/locations"), request).await
    }

    /// The CDEK uuid the double gave the order (its `number` is the ordertrack order id).
    pub async fn cdek_uuid(&self, order_id: &str) -> Result<Option<String>, CallError> {
        let request = self.client.get(format!("{}/control/orders", self.double));
        let orders: Vec<Value> = self.call("CDEK double GET /control/orders", request).await?;
        Ok(orders
            .iter()
            .find(|o| o.get("number").and_then(Value::as_str) == Some(order_id))
            .and_then(|o| o.get("uuid")?.as_str().map(str::to_owned)))
    }

    /// Records a CDEK status at the double, which sends its webhooks.
    pub async fn cdek_status(&self, uuid: &str, code: &str, city: &str) -> Result<(), CallError> {
        let request = self
            .client
            .post(format!("{}/control/orders/{uuid}/status", self.double))
            .json(&json!({ "code": code, "city": city }));
        self.call::<Value>(&format!("CDEK double POST /control/orders/{uuid}/status {code}"), request).await.map(|_| ())
    }

    async fn call<T: DeserializeOwned>(&self, what: &str, request: reqwest::RequestBuilder) -> Result<T, CallError> {
        let response = request
            .send()
            .await
            .map_err(|e| CallError::Unreachable { what: what.to_owned(), error: without_url(&e) })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| CallError::Unreachable { what: what.to_owned(), error: without_url(&e) })?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| CallError::Unexpected { what: what.to_owned(), error: e.to_string() });
        }
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody { error }) => (error.code, error.message),
            Err(_) => ("-".to_owned(), String::from_utf8_lossy(&body).chars().take(200).collect()),
        };
        Err(CallError::Answer { what: what.to_owned(), status: status.as_u16(), code, message })
    }
}

/// reqwest's message without the URL (the caller's `what` names the call).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection refused"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut last = None;
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    last.map_or(kind.to_owned(), |cause| format!("{kind}: {cause}"))
}

/// Runs `call` until it succeeds, fails for good (an error answer that is not transient),
/// `attempts` are used up or the demo stops. Every failure is counted and logged, except
/// a `version_conflict`: that is a race the caller settles by reading the order again.
pub async fn retry<T, F, Fut>(demo: &Demo, attempts: u32, mut call: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if error.code() == Some("version_conflict") => return Err(error),
            Err(error) => {
                let again = error.is_transient() && attempt < attempts && !demo.stop.is_set();
                demo.console.error(format!("{error}{}", if again { "; trying again" } else { "" }));
                if !again {
                    return Err(error);
                }
            }
        }
        demo.stop.sleep(Duration::from_millis(500 * u64::from(attempt.min(8)))).await;
        attempt += 1;
    }
}
