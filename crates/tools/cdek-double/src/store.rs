//! Everything the double knows, behind one mutex (never held across an `.await`), and
//! the rules that change it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use uuid::Uuid;

use crate::config::DoubleConfig;
use crate::errors::{ApiError, CdekError, RequestState, RequestType, codes};
use crate::model::{Order, RequestRecord, Status, Webhook, set};
use crate::statuses;
use crate::tariffs;
use crate::validate::ValidOrder;

/// At most this many webhook subscriptions per account.
pub const MAX_WEBHOOKS: usize = 2;
/// The recipient name that makes an order fail its processing (the poison knob).
pub const POISON_NAME: &str = "INVALID";
/// The first `cdek_number` handed out.
const FIRST_CDEK_NUMBER: u64 = 1_100_000_001;

/// A request waiting for its asynchronous verdict.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    pub kind: RequestType,
    pub order: Uuid,
    pub request: Uuid,
    pub due: Instant,
}

/// One webhook to post.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    pub payload: Value,
}

/// A fault applied to the next `remaining` API calls.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Fault {
    pub status: Option<u16>,
    pub timeout_ms: Option<u64>,
    pub remaining: u32,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// API calls per route pattern, e.g. `"POST /v2/orders"`; faulted calls included.
    pub calls: BTreeMap<String, u64>,
    pub tokens_issued: u64,
    pub faults_injected: u64,
    /// Deliveries answered 200.
    pub webhooks_delivered: u64,
    /// Delivery attempts that failed (non-200 answer, timeout, connection error).
    pub webhooks_failed: u64,
    /// Deliveries abandoned after the last attempt.
    pub webhooks_given_up: u64,
    /// Deliveries not even attempted because webhook loss was switched on.
    pub webhooks_dropped: u64,
    /// Subscriptions removed because their URL kept timing out.
    pub webhooks_switched_off: u64,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    expires_at: Instant,
    revoked: bool,
}

/// A new access token.
#[derive(Debug, Clone)]
pub struct Grant {
    pub access_token: String,
    pub jti: Uuid,
    pub expires_in: u64,
}

/// A status added through the control API.
#[derive(Debug, Clone)]
pub struct NewStatus {
    pub code: String,
    pub reason_code: Option<String>,
    pub city: Option<String>,
    pub city_code: Option<String>,
    pub date_time: Option<DateTime<FixedOffset>>,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, Token>,
    orders: HashMap<Uuid, Order>,
    /// CREATE requests accepted (202) per store number.
    creates_per_number: HashMap<String, u64>,
    next_seq: u64,
    issued_cdek_numbers: u64,
    webhooks: Vec<Webhook>,
    fault: Option<Fault>,
    drop_webhooks: bool,
    stats: Stats,
}

impl State {
    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Appends a status to an order and returns the webhooks it triggers.
    fn append_status(&mut self, order_uuid: Uuid, mut status: Status) -> Vec<Delivery> {
        status.seq = self.seq();
        let Some(order) = self.orders.get_mut(&order_uuid) else {
            return Vec::new();
        };
        let payload = order.webhook_payload(&status);
        order.statuses.push(status);
        let targets: Vec<String> =
            self.webhooks.iter().filter(|hook| hook.kind == "ORDER_STATUS").map(|hook| hook.url.clone()).collect();
        if self.drop_webhooks {
            self.stats.webhooks_dropped += targets.len() as u64;
            return Vec::new();
        }
        targets.into_iter().map(|url| Delivery { url, payload: payload.clone() }).collect()
    }

    fn status_now(&self, order_uuid: Uuid, code: &str, reason_code: Option<&str>) -> Status {
        let city = self
            .orders
            .get(&order_uuid)
            .and_then(|order| order.current_status().map(|status| status.city.clone()))
            .unwrap_or_else(|| "Москва".to_owned());
        Status {
            code: code.to_owned(),
            date_time: Utc::now().fixed_offset(),
            reason_code: reason_code.map(str::to_owned),
            city_code: statuses::city_code(&city),
            city,
            seq: 0,
        }
    }

    fn settle(&mut self, order_uuid: Uuid, request_uuid: Uuid, outcome: Result<(), CdekError>) {
        if let Some(request) = self.orders.get_mut(&order_uuid).and_then(|order| order.request_mut(request_uuid)) {
            match outcome {
                Ok(()) => request.state = RequestState::Successful,
                Err(error) => {
                    request.state = RequestState::Invalid;
                    request.errors.push(error);
                }
            }
        }
    }

    fn process_create(&mut self, order_uuid: Uuid, request_uuid: Uuid) -> Vec<Delivery> {
        let Some(order) = self.orders.get(&order_uuid) else {
            return Vec::new();
        };
        let verdict = if order.recipient_name == POISON_NAME {
            Err(CdekError::new(
                codes::POISON,
                "Order rejected: recipient.name is \"INVALID\" (cdek-double poison knob)",
            ))
        } else if self
            .orders
            .values()
            .any(|other| other.uuid != order.uuid && other.number == order.number && other.create_succeeded())
        {
            Err(CdekError::new(
                codes::DUPLICATE_NUMBER,
                format!("An order with number {} has already been registered", order.number),
            ))
        } else {
            Ok(())
        };
        let origin_city = order.origin_city.clone();
        let failed = verdict.is_err();
        if !failed {
            self.issued_cdek_numbers += 1;
            let cdek_number = (FIRST_CDEK_NUMBER + self.issued_cdek_numbers - 1).to_string();
            if let Some(order) = self.orders.get_mut(&order_uuid) {
                let quote = tariffs::quote(order.tariff_code, &order.from_key, &order.to_key, &order.parcels);
                order.cdek_number = Some(cdek_number);
                order.planned_delivery_date = Some(quote.date_range(Utc::now().date_naive()).1);
                order.delivery_detail = Some((quote.delivery_sum, quote.delivery_sum));
            }
        }
        self.settle(order_uuid, request_uuid, verdict);
        let code = if failed { statuses::INVALID } else { statuses::CREATED };
        let status = Status {
            code: code.to_owned(),
            date_time: Utc::now().fixed_offset(),
            reason_code: None,
            city_code: statuses::city_code(&origin_city),
            city: origin_city,
            seq: 0,
        };
        self.append_status(order_uuid, status)
    }

    fn process_delete(&mut self, order_uuid: Uuid, request_uuid: Uuid) -> Vec<Delivery> {
        let current = self.orders.get(&order_uuid).map(|order| order.current_code().to_owned()).unwrap_or_default();
        if current == statuses::CREATED {
            self.settle(order_uuid, request_uuid, Ok(()));
            let status = self.status_now(order_uuid, statuses::REMOVED, None);
            self.append_status(order_uuid, status)
        } else {
            let error = CdekError::new(
                codes::DELETE_STATUS,
                format!("The order can be deleted only in status CREATED; its status is {current}"),
            );
            self.settle(order_uuid, request_uuid, Err(error));
            Vec::new()
        }
    }

    fn process_refusal(&mut self, order_uuid: Uuid, request_uuid: Uuid) -> Vec<Delivery> {
        let current = self.orders.get(&order_uuid).map(|order| order.current_code().to_owned()).unwrap_or_default();
        let refusable = ![
            statuses::ACCEPTED,
            statuses::CREATED,
            statuses::INVALID,
            statuses::REMOVED,
            statuses::DELIVERED,
            statuses::NOT_DELIVERED,
        ]
        .contains(&current.as_str());
        if refusable {
            self.settle(order_uuid, request_uuid, Ok(()));
            let status = self.status_now(order_uuid, statuses::NOT_DELIVERED, Some(statuses::REASON_REFUSED));
            self.append_status(order_uuid, status)
        } else {
            let error = CdekError::new(
                codes::REFUSAL_STATUS,
                format!("A refusal is not possible in status {current} (use DELETE for CREATED orders)"),
            );
            self.settle(order_uuid, request_uuid, Err(error));
            Vec::new()
        }
    }
}

/// What handlers and background tasks share.
pub struct Shared {
    pub config: DoubleConfig,
    state: Mutex<State>,
    jobs: UnboundedSender<Job>,
    deliveries: UnboundedSender<Delivery>,
}

impl Shared {
    pub fn new(config: DoubleConfig, jobs: UnboundedSender<Job>, deliveries: UnboundedSender<Delivery>) -> Self {
        Self { config, state: Mutex::new(State::default()), jobs, deliveries }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn send(&self, deliveries: Vec<Delivery>) {
        for delivery in deliveries {
            // The receiver only goes away when the double stops.
            let _ = self.deliveries.send(delivery);
        }
    }

    fn schedule(&self, kind: RequestType, order: Uuid, request: Uuid) {
        let job = Job { kind, order, request, due: Instant::now() + self.config.processing_delay };
        let _ = self.jobs.send(job);
    }

    // ---- tokens

    pub fn issue_token(&self) -> Grant {
        let jti = Uuid::new_v4();
        let ttl = self.config.token_ttl;
        let access_token = crate::auth::mint(&self.config.client_id, jti, ttl);
        let mut state = self.lock();
        state.tokens.insert(access_token.clone(), Token { expires_at: Instant::now() + ttl, revoked: false });
        state.stats.tokens_issued += 1;
        Grant { access_token, jti, expires_in: ttl.as_secs() }
    }

    /// `Ok` for a live token; `v2_token_expired` for an expired or revoked one;
    /// `unauthorized` for one never issued.
    pub fn check_token(&self, token: &str) -> Result<(), ApiError> {
        let state = self.lock();
        match state.tokens.get(token) {
            None => Err(ApiError::unauthorized(codes::UNAUTHORIZED, "The access token is unknown")),
            Some(token) if token.revoked || Instant::now() >= token.expires_at => {
                Err(ApiError::unauthorized(codes::TOKEN_EXPIRED, "The access token has expired"))
            }
            Some(_) => Ok(()),
        }
    }

    /// Makes every token issued so far expired; returns how many were live.
    pub fn expire_tokens(&self) -> usize {
        let mut state = self.lock();
        let now = Instant::now();
        let mut live = 0;
        for token in state.tokens.values_mut() {
            if !token.revoked && now < token.expires_at {
                live += 1;
            }
            token.revoked = true;
        }
        live
    }

    // ---- orders

    /// Registers an order that passed the structural checks: ACCEPTED now, decided later.
    pub fn register_order(&self, body: Value, valid: ValidOrder) -> (Uuid, RequestRecord) {
        let uuid = Uuid::new_v4();
        let request = RequestRecord::accepted(RequestType::Create);
        let mut state = self.lock();
        let seq = state.seq();
        let number = valid.number.clone().unwrap_or_else(|| uuid.to_string());
        *state.creates_per_number.entry(number.clone()).or_default() += 1;
        let accepted = Status {
            code: statuses::ACCEPTED.to_owned(),
            date_time: request.date_time,
            reason_code: None,
            city_code: statuses::city_code(&valid.origin_city),
            city: valid.origin_city.clone(),
            seq: state.seq(),
        };
        let order = Order {
            uuid,
            seq,
            order_type: valid.order_type,
            number,
            tariff_code: valid.tariff_code,
            delivery_mode: valid.delivery_mode,
            recipient_name: valid.recipient_name,
            origin_city: valid.origin_city,
            from_key: valid.from_key,
            to_key: valid.to_key,
            parcels: valid.parcels,
            body,
            cdek_number: None,
            planned_delivery_date: None,
            delivery_detail: None,
            statuses: vec![accepted],
            requests: vec![request.clone()],
        };
        state.orders.insert(uuid, order);
        drop(state);
        self.schedule(RequestType::Create, uuid, request.request_uuid);
        (uuid, request)
    }

    pub fn read_order(&self, uuid: Uuid) -> Option<Value> {
        self.lock().orders.get(&uuid).map(Order::read_view)
    }

    pub fn read_by_cdek_number(&self, cdek_number: &str) -> Option<Value> {
        let state = self.lock();
        state.orders.values().find(|order| order.cdek_number.as_deref() == Some(cdek_number)).map(Order::read_view)
    }

    /// The order registered under a store number: the successful one if any, else the
    /// latest.
    pub fn read_by_im_number(&self, number: &str) -> Option<Value> {
        let state = self.lock();
        let mut matching: Vec<&Order> = state.orders.values().filter(|order| order.number == number).collect();
        matching.sort_by_key(|order| (order.create_succeeded(), order.seq));
        matching.last().map(|order| order.read_view())
    }

    /// Accepts a DELETE or CREATE_REFUSAL request on an order; decided later.
    pub fn request_change(&self, uuid: Uuid, kind: RequestType) -> Result<RequestRecord, ApiError> {
        let mut state = self.lock();
        let Some(order) = state.orders.get_mut(&uuid) else {
            return Err(ApiError::not_found(kind, codes::ENTITY_NOT_FOUND, format!("Order {uuid} is not found")));
        };
        if order.has_pending(kind) {
            return Err(ApiError::bad_request(
                kind,
                vec![CdekError::new(
                    codes::SIMILAR_REQUEST_STILL_PROCESSED,
                    "A previous request of the same type on this order is still being processed",
                )],
            ));
        }
        let request = RequestRecord::accepted(kind);
        order.requests.push(request.clone());
        drop(state);
        self.schedule(kind, uuid, request.request_uuid);
        Ok(request)
    }

    /// Decides a request whose processing delay is over.
    pub fn process(&self, job: Job) {
        let deliveries = {
            let mut state = self.lock();
            match job.kind {
                RequestType::Create => state.process_create(job.order, job.request),
                RequestType::Delete => state.process_delete(job.order, job.request),
                RequestType::CreateRefusal => state.process_refusal(job.order, job.request),
                RequestType::Get | RequestType::Auth => Vec::new(),
            }
        };
        self.send(deliveries);
    }

    /// Appends a status (control API) and fires its webhooks; `None` for an unknown order.
    pub fn add_status(&self, uuid: Uuid, new: NewStatus) -> Option<Value> {
        let mut state = self.lock();
        let current_city = state.orders.get(&uuid)?.current_status().map(|status| status.city.clone());
        let city = new.city.or(current_city).unwrap_or_else(|| "Москва".to_owned());
        let status = Status {
            code: new.code,
            date_time: new.date_time.unwrap_or_else(|| Utc::now().fixed_offset()),
            reason_code: new.reason_code,
            city_code: new.city_code.or_else(|| statuses::city_code(&city)),
            city,
            seq: 0,
        };
        let deliveries = state.append_status(uuid, status);
        let view = state.orders.get(&uuid).map(control_view);
        drop(state);
        self.send(deliveries);
        view
    }

    /// Every order, oldest first, as the control API shows it.
    pub fn control_orders(&self) -> Value {
        let state = self.lock();
        let mut orders: Vec<&Order> = state.orders.values().collect();
        orders.sort_by_key(|order| order.seq);
        let views: Vec<Value> = orders
            .into_iter()
            .map(|order| {
                let mut view = control_view(order);
                set(
                    &mut view,
                    "create_requests_for_number",
                    json!(state.creates_per_number.get(&order.number).copied().unwrap_or(0)),
                );
                view
            })
            .collect();
        Value::Array(views)
    }

    // ---- webhooks

    pub fn subscribe(&self, kind: String, url: String) -> Result<Webhook, ApiError> {
        let mut state = self.lock();
        if state.webhooks.len() >= MAX_WEBHOOKS {
            return Err(ApiError::bad_request(
                RequestType::Create,
                vec![CdekError::new(codes::TOO_MANY_WEBHOOKS, "At most 2 webhooks per account")],
            ));
        }
        let hook = Webhook { uuid: Uuid::new_v4(), kind, url };
        state.webhooks.push(hook.clone());
        Ok(hook)
    }

    pub fn webhooks(&self) -> Vec<Webhook> {
        self.lock().webhooks.clone()
    }

    pub fn webhook(&self, uuid: Uuid) -> Option<Webhook> {
        self.lock().webhooks.iter().find(|hook| hook.uuid == uuid).cloned()
    }

    pub fn unsubscribe(&self, uuid: Uuid) -> bool {
        let mut state = self.lock();
        let before = state.webhooks.len();
        state.webhooks.retain(|hook| hook.uuid != uuid);
        state.webhooks.len() != before
    }

    pub fn set_drop_webhooks(&self, drop_them: bool) {
        self.lock().drop_webhooks = drop_them;
    }

    pub fn webhook_delivered(&self) {
        self.lock().stats.webhooks_delivered += 1;
    }

    pub fn webhook_attempt_failed(&self) {
        self.lock().stats.webhooks_failed += 1;
    }

    /// The last attempt failed too. After timeouts CDEK switches off the subscriptions
    /// to that URL; after non-200 answers it keeps them (for 24 h, not modelled).
    pub fn webhook_given_up(&self, url: &str, switch_off: bool) {
        let mut state = self.lock();
        state.stats.webhooks_given_up += 1;
        if switch_off {
            let before = state.webhooks.len();
            state.webhooks.retain(|hook| hook.url != url);
            state.stats.webhooks_switched_off += (before - state.webhooks.len()) as u64;
        }
    }

    // ---- faults and statistics

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.lock().fault = fault.filter(|fault| fault.remaining > 0);
    }

    pub fn fault(&self) -> Option<Fault> {
        self.lock().fault
    }

    /// Counts an API call and takes one use of the active fault, if any.
    pub fn on_api_call(&self, route: String) -> Option<Fault> {
        let mut state = self.lock();
        *state.stats.calls.entry(route).or_default() += 1;
        let fault = state.fault?;
        let remaining = fault.remaining.saturating_sub(1);
        state.fault = (remaining > 0).then_some(Fault { remaining, ..fault });
        state.stats.faults_injected += 1;
        Some(fault)
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }
}

fn control_view(order: &Order) -> Value {
    json!({
        "uuid": order.uuid,
        "number": order.number,
        "cdek_number": order.cdek_number,
        "type": order.order_type,
        "tariff_code": order.tariff_code,
        "status": order.current_code(),
        "statuses": order.statuses_newest_first().into_iter().map(Status::view).collect::<Vec<_>>(),
        "requests": order.requests.iter().map(RequestRecord::view).collect::<Vec<_>>(),
    })
}
