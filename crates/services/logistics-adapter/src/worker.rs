//! The follow-up loop: takes the shipments whose time has come (a new order to register,
//! a registration or cancellation being processed at CDEK, an order in flight due for
//! its reconciliation read, one a webhook just named) and moves each one step on.
//!
//! - **Register exactly once.** A call is counted in the shipment row before it is made
//!   and the CDEK uuid stored after; a row with a counted call but no uuid (a crash, a
//!   timeout, a 500) is first looked up at CDEK by its number (the order id) and adopted
//!   if found. `POST /orders` itself is never retried blindly. Should two registrations
//!   still race, CDEK refuses the second (duplicate number) and the first is adopted.
//! - **Follow.** ACCEPTED is read again every `registration_poll_ms` until SUCCESSFUL
//!   (the CDEK number, then the tariff's delivery dates as an ETA) or INVALID
//!   (registration_failed with CDEK's errors). Registered orders are read every
//!   `poll_interval_secs`, or at once when a webhook names them; every status not sent
//!   before becomes one command, oldest first. A final CDEK status ends the follow-up.
//! - **Cancel.** An order cancelled in ordertrack is deleted at CDEK while CDEK shows
//!   CREATED, refused otherwise (or when the deletion is refused); CDEK's answer goes
//!   to the order's timeline.
//!
//! Commands are sent (and acknowledged by Kafka) before the shipment row records them,
//! so a crash in between re-sends them with the same ids, which order-grpc ignores.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use prometheus::IntCounterVec;
use slog::{Logger, debug, info, warn};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::cdek::model::{ApiMessage, NewOrder, OrderEntity, OrderInfo, RequestInfo, TariffRequest};
use crate::cdek::{CdekClient, CdekError};
use crate::commands::{self, Commands, Context};
use crate::config::CdekConfig;
use crate::store::{Progress, SeenStatus, Shipment, Shipments, State};

/// CDEK statuses after which nothing more happens to an order.
const FINAL_CODES: [&str; 5] = ["DELIVERED", "NOT_DELIVERED", "REMOVED", "INVALID", "POSTOMAT_RECEIVED"];
/// CDEK refuses a second registration with the same number with this code.
const DUPLICATE_NUMBER: &str = "error_validate_im_dep_number_has_already_had_integration";
const DELETE: &str = "DELETE";
const REFUSAL: &str = "CREATE_REFUSAL";
/// Shipments taken per round.
const BATCH: i64 = 64;
/// With nothing due, the loop looks again after this long (webhooks and new orders wake it).
const IDLE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub poll_interval: Duration,
    pub registration_poll: Duration,
    pub backoff_start: Duration,
    pub backoff_max: Duration,
    pub concurrency: usize,
    /// How long a taken shipment stays out of other rounds' reach.
    pub lease: Duration,
}

impl WorkerSettings {
    pub fn from_config(config: &CdekConfig) -> Self {
        let call = Duration::from_millis(config.request_timeout_ms) * config.attempts.max(1);
        Self {
            poll_interval: Duration::from_secs(config.poll_interval_secs),
            registration_poll: Duration::from_millis(config.registration_poll_ms),
            backoff_start: Duration::from_millis(config.backoff_start_ms),
            backoff_max: Duration::from_millis(config.backoff_max_ms),
            concurrency: config.concurrency,
            lease: (call * 4).max(Duration::from_secs(60)),
        }
    }
}

/// Why a step could not be completed; the shipment is tried again after a back-off.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Cdek(#[from] CdekError),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// The result of one step: what to write and when to look again.
struct Next {
    progress: Progress,
    after: Duration,
}

impl Next {
    fn after(after: Duration) -> Self {
        Self { progress: Progress::default(), after }
    }

    fn state(state: State, after: Duration) -> Self {
        Self { progress: Progress { state: Some(state.as_str().to_owned()), ..Progress::default() }, after }
    }
}

pub struct Worker {
    store: Shipments,
    cdek: Arc<CdekClient>,
    commands: Commands,
    settings: WorkerSettings,
    wake: Arc<Notify>,
    outcomes: IntCounterVec,
    log: Logger,
}

impl Worker {
    pub fn new(
        store: Shipments,
        cdek: Arc<CdekClient>,
        commands: Commands,
        settings: WorkerSettings,
        wake: Arc<Notify>,
        registry: &prometheus::Registry,
        log: Logger,
    ) -> anyhow::Result<Self> {
        let outcomes = IntCounterVec::new(
            prometheus::Opts::new("logistics_followups_total", "Shipment follow-up steps by outcome"),
            &["outcome"],
        )?;
        registry.register(Box::new(outcomes.clone()))?;
        Ok(Self { store, cdek, commands, settings, wake, outcomes, log })
    }

    /// Runs rounds until `shutdown`. A round cut short by shutdown leaves its shipments
    /// leased; they are taken again when the lease ends (every step is safe to repeat).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            let due = tokio::select! {
                () = shutdown.cancelled() => break,
                due = self.store.take_due(BATCH, self.settings.lease) => due,
            };
            let due = match due {
                Ok(due) => due,
                Err(error) => {
                    warn!(self.log, "could not read the shipments due"; "error" => %format!("{error:#}"));
                    Vec::new()
                }
            };
            let full = due.len() as i64 == BATCH;
            let round =
                futures::stream::iter(due).for_each_concurrent(self.settings.concurrency, |s| self.follow_up(s));
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = round => {}
            }
            if !full {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(IDLE) => {}
                }
            }
        }
        Ok(())
    }

    async fn follow_up(&self, shipment: Shipment) {
        let started = Utc::now();
        let order_id = shipment.order_id;
        let result = self.step(&shipment).await;
        let written = match result {
            Ok(next) => {
                self.outcomes.with_label_values(&["done"]).inc();
                let state_changed = next.progress.state.clone();
                let written = self.store.progress(order_id, next.progress, next.after).await;
                if let (Some(uuid), Ok(())) = (shipment.cdek_uuid.as_deref(), &written) {
                    if let Err(error) = self.store.webhooks_handled(order_id, uuid, started).await {
                        warn!(self.log, "could not mark webhooks handled"; "error" => %format!("{error:#}"));
                    }
                }
                if let Some(state) = state_changed.filter(|s| *s != shipment.state) {
                    info!(self.log, "shipment moved"; "order_id" => %order_id, "from" => &shipment.state, "to" => state);
                }
                written
            }
            Err(error) => {
                self.outcomes.with_label_values(&["failed"]).inc();
                let exponent = u32::try_from(shipment.failures.clamp(0, 16)).unwrap_or(16);
                let retry_in = self.settings.backoff_start.saturating_mul(2u32.saturating_pow(exponent));
                let retry_in = retry_in.min(self.settings.backoff_max);
                warn!(self.log, "shipment follow-up failed, will retry"; "order_id" => %order_id,
                    "state" => &shipment.state, "error" => %error, "retry_in_ms" => retry_in.as_millis());
                self.store.failed(order_id, &error.to_string(), retry_in).await
            }
        };
        if let Err(error) = written {
            // The lease runs out and the shipment is taken again.
            warn!(self.log, "could not record a follow-up"; "order_id" => %order_id, "error" => %format!("{error:#}"));
        }
    }

    async fn step(&self, shipment: &Shipment) -> Result<Next, StepError> {
        match shipment.state() {
            Some(State::Pending) => self.register(shipment).await,
            Some(State::Accepted | State::Registered | State::Cancelling) => self.check(shipment).await,
            // Not followed (taken only if the row changed state meanwhile).
            _ => Ok(Next::after(self.settings.poll_interval)),
        }
    }

    /// Registers a pending shipment, unless an earlier call already did.
    async fn register(&self, shipment: &Shipment) -> Result<Next, StepError> {
        let order_id = shipment.order_id;
        if shipment.register_attempts > 0 {
            match self.cdek.order_by_number(&order_id.to_string()).await {
                Ok(OrderInfo { entity: Some(entity), .. }) => {
                    info!(self.log, "an earlier registration reached CDEK, adopting it"; "order_id" => %order_id,
                        "cdek_uuid" => &entity.uuid);
                    return Ok(adopt(entity.uuid));
                }
                Ok(OrderInfo { entity: None, .. }) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error.into()),
            }
        }
        if shipment.cancel_requested {
            return Ok(Next::state(State::NotRegistered, self.settings.poll_interval));
        }
        let body: NewOrder = serde_json::from_value(shipment.request.clone())
            .map_err(|e| anyhow::anyhow!("the stored registration body is unreadable: {e}"))?;
        self.store.count_attempt(order_id).await?;
        match self.cdek.register(&body).await {
            Ok(accepted) => {
                let uuid = accepted
                    .entity
                    .map(|e| e.uuid)
                    .ok_or_else(|| CdekError::Decode("the registration was accepted without an entity uuid".into()))?;
                info!(self.log, "registration accepted by CDEK"; "order_id" => %order_id, "cdek_uuid" => &uuid);
                Ok(Next {
                    progress: Progress {
                        state: Some(State::Accepted.as_str().to_owned()),
                        cdek_uuid: Some(uuid),
                        ..Progress::default()
                    },
                    after: self.settings.registration_poll,
                })
            }
            Err(CdekError::Refused { status: 400, errors }) => {
                warn!(self.log, "CDEK refused the registration"; "order_id" => %order_id,
                    "errors" => commands::describe(&errors));
                self.commands.send(order_id, commands::registration_refused(order_id, &errors)).await?;
                Ok(Next {
                    progress: Progress {
                        state: Some(State::Invalid.as_str().to_owned()),
                        errors: Some(errors_json(&errors)),
                        ..Progress::default()
                    },
                    after: self.settings.poll_interval,
                })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Reads a registered (or registering, or cancelling) order from CDEK and acts on it.
    async fn check(&self, shipment: &Shipment) -> Result<Next, StepError> {
        let order_id = shipment.order_id;
        let Some(uuid) = shipment.cdek_uuid.as_deref() else {
            return Ok(Next::state(State::Pending, Duration::ZERO));
        };
        let info = match self.cdek.order(uuid).await {
            Ok(info) => info,
            Err(error) if error.is_not_found() && shipment.state() == Some(State::Accepted) => {
                // CDEK does not know the uuid it gave: register again (after a lookup).
                return Ok(Next::state(State::Pending, Duration::ZERO));
            }
            Err(error) => return Err(error.into()),
        };
        let entity =
            info.entity.ok_or_else(|| CdekError::Decode(format!("order {uuid} was read without an entity")))?;
        let create = latest(&info.requests, "CREATE");
        let errors = create.map(|r| r.errors.as_slice()).unwrap_or_default();
        let mut state = shipment.state().unwrap_or(State::Registered);
        let mut next = Next::after(self.settings.poll_interval);

        if state == State::Accepted {
            match create.map(|r| r.state.as_str()) {
                Some("SUCCESSFUL") => state = State::Registered,
                Some("INVALID") => {
                    if errors.iter().any(|e| e.code == DUPLICATE_NUMBER) {
                        if let Some(other) = self.registered_elsewhere(order_id, uuid).await? {
                            return Ok(adopt(other));
                        }
                    }
                    state = State::Invalid;
                    next.progress.errors = Some(errors_json(errors));
                }
                _ if entity.cdek_number.is_some() => state = State::Registered,
                _ => return Ok(Next::after(self.settings.registration_poll)),
            }
        }

        let cdek_number = entity.cdek_number.as_deref();
        // The CDEK number is stored when it is first sent on as the carrier reference.
        if state != State::Invalid && shipment.cdek_number.is_none() {
            if let Some(number) = cdek_number {
                self.commands.send(order_id, commands::carrier_reference(order_id, number)).await?;
                next.progress.cdek_number = Some(number.to_owned());
            }
        }
        let context = Context { cdek_number, errors, cancelled: shipment.cancel_requested };
        self.send_statuses(order_id, &entity, context).await?;
        if state == State::Registered && !shipment.eta_sent && !shipment.cancel_requested {
            next.progress.eta_sent = self.send_eta(shipment).await?.then_some(true);
        }

        let current = current_code(&entity);
        let is_final = FINAL_CODES.contains(&current.as_str());
        if shipment.cancel_requested && (state == State::Cancelling || !is_final) {
            state = self.cancel(shipment, &info.requests, uuid, &current, state, &mut next).await?;
        }
        if is_final && state != State::Invalid {
            state = State::Finished;
        }
        if matches!(state, State::Accepted | State::Cancelling) {
            next.after = self.settings.registration_poll;
        }
        next.progress.state = Some(state.as_str().to_owned());
        Ok(next)
    }

    /// Another registration of the same order that CDEK accepted, if any.
    async fn registered_elsewhere(&self, order_id: Uuid, ours: &str) -> Result<Option<String>, StepError> {
        match self.cdek.order_by_number(&order_id.to_string()).await {
            Ok(OrderInfo { entity: Some(entity), .. }) if entity.uuid != ours => Ok(Some(entity.uuid)),
            Ok(_) => Ok(None),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Sends every status of `entity` not sent before, oldest first, then records them.
    /// A status older than one already sent is recorded without a command (the order
    /// has moved past it).
    async fn send_statuses(&self, order_id: Uuid, entity: &OrderEntity, context: Context<'_>) -> Result<(), StepError> {
        let seen: HashSet<SeenStatus> = self.store.seen_statuses(order_id).await?.into_iter().collect();
        let mut newest = seen.iter().map(|s| s.at).max();
        let mut fresh: Vec<_> = entity
            .statuses
            .iter()
            .rev()
            .filter(|s| !seen.contains(&SeenStatus { code: s.code.clone(), at: s.date_time }))
            .collect();
        // CDEK lists them newest first; reversed and sorted stably, ties keep CDEK's order.
        fresh.sort_by_key(|s| s.date_time);
        let mut sent = Vec::with_capacity(fresh.len());
        for status in fresh {
            if newest.is_some_and(|n| status.date_time < n) {
                debug!(self.log, "CDEK status older than the last one sent, not applied"; "order_id" => %order_id,
                    "code" => &status.code);
            } else {
                self.commands.send(order_id, commands::for_status(order_id, status, context)).await?;
                newest = Some(status.date_time);
            }
            sent.push(SeenStatus { code: status.code.clone(), at: status.date_time });
        }
        self.store.record_statuses(order_id, &sent).await?;
        Ok(())
    }

    /// The tariff calculator's delivery dates as an ETA. Returns whether the estimate is
    /// settled (sent, or CDEK gave no dates or refused the request); false to try again.
    async fn send_eta(&self, shipment: &Shipment) -> Result<bool, StepError> {
        let Ok(request) = serde_json::from_value::<TariffRequest>(shipment.tariff.clone()) else {
            return Ok(true);
        };
        match self.cdek.tariff(&request).await {
            Ok(tariff) => {
                if let Some(command) = commands::eta(shipment.order_id, &tariff, Utc::now()) {
                    self.commands.send(shipment.order_id, command).await?;
                }
                Ok(true)
            }
            Err(error) if error.is_retryable() => {
                warn!(self.log, "CDEK's tariff calculator failed, will ask again"; "order_id" => %shipment.order_id,
                    "error" => %error);
                Ok(false)
            }
            Err(error) => {
                warn!(self.log, "CDEK's tariff calculator refused the request; no ETA from CDEK";
                    "order_id" => %shipment.order_id, "error" => %error);
                Ok(true)
            }
        }
    }

    /// Moves a cancellation on: asks for it (DELETE while CREATED, else a refusal), or
    /// reads how CDEK decided and records the answer on the order.
    async fn cancel(
        &self,
        shipment: &Shipment,
        requests: &[RequestInfo],
        uuid: &str,
        current: &str,
        state: State,
        next: &mut Next,
    ) -> Result<State, StepError> {
        let order_id = shipment.order_id;
        match (state, shipment.cancel_kind.as_deref()) {
            (State::Registered, None) => {
                let kind = if current == "CREATED" { DELETE } else { REFUSAL };
                self.ask_cancel(order_id, uuid, kind, next).await
            }
            (State::Cancelling, Some(kind)) => {
                let Some(request) = latest(requests, kind) else {
                    return Ok(State::Cancelling);
                };
                let request_uuid = request.request_uuid.as_deref().unwrap_or_default();
                match request.state.as_str() {
                    "SUCCESSFUL" => {
                        let answer = commands::cancellation_answer(order_id, kind, request_uuid, true, &[]);
                        self.commands.send(order_id, answer).await?;
                        info!(self.log, "CDEK accepted the cancellation"; "order_id" => %order_id, "kind" => kind);
                        Ok(State::Registered)
                    }
                    "INVALID" => {
                        let answer =
                            commands::cancellation_answer(order_id, kind, request_uuid, false, &request.errors);
                        self.commands.send(order_id, answer).await?;
                        warn!(self.log, "CDEK refused the cancellation"; "order_id" => %order_id, "kind" => kind,
                            "errors" => commands::describe(&request.errors));
                        if kind == DELETE && current != "CREATED" {
                            // It moved on from CREATED before the deletion was processed.
                            return self.ask_cancel(order_id, uuid, REFUSAL, next).await;
                        }
                        Ok(State::Registered)
                    }
                    _ => Ok(State::Cancelling),
                }
            }
            // Asked and answered before: nothing more to do.
            (other, _) => Ok(other),
        }
    }

    async fn ask_cancel(&self, order_id: Uuid, uuid: &str, kind: &str, next: &mut Next) -> Result<State, StepError> {
        let asked = if kind == DELETE { self.cdek.delete(uuid).await } else { self.cdek.refuse(uuid).await };
        next.progress.cancel_kind = Some(kind.to_owned());
        match asked {
            Ok(_) => {
                info!(self.log, "cancellation asked of CDEK"; "order_id" => %order_id, "kind" => kind);
                Ok(State::Cancelling)
            }
            Err(CdekError::Refused { status: 400, errors }) => {
                let answer = commands::cancellation_answer(order_id, kind, "refused", false, &errors);
                self.commands.send(order_id, answer).await?;
                Ok(State::Registered)
            }
            Err(error) => {
                next.progress.cancel_kind = None;
                Err(error.into())
            }
        }
    }
}

/// Takes over a registration CDEK already has.
fn adopt(cdek_uuid: String) -> Next {
    Next {
        progress: Progress {
            state: Some(State::Accepted.as_str().to_owned()),
            cdek_uuid: Some(cdek_uuid),
            ..Progress::default()
        },
        after: Duration::ZERO,
    }
}

/// The latest request of a kind (CREATE, DELETE, CREATE_REFUSAL) on an order.
fn latest<'a>(requests: &'a [RequestInfo], kind: &str) -> Option<&'a RequestInfo> {
    requests.iter().filter(|r| r.kind == kind).max_by_key(|r| r.date_time.unwrap_or(DateTime::<Utc>::MIN_UTC))
}

/// CDEK's current status of an order: the newest.
fn current_code(entity: &OrderEntity) -> String {
    // Newest first from CDEK: reversed, the last of equal times is CDEK's newest.
    entity.statuses.iter().rev().max_by_key(|s| s.date_time).map(|s| s.code.clone()).unwrap_or_default()
}

/// CDEK's errors, for the shipment row.
fn errors_json(errors: &[ApiMessage]) -> serde_json::Value {
    serde_json::to_value(errors).unwrap_or_default()
}
