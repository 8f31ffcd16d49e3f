//! What every test needs: a running double, an HTTP client, a token, a valid order body,
//! polling with a deadline (never timing assertions) and a webhook receiver.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use cdek_double::{CdekDouble, DoubleConfig, TEST_CLIENT_ID, TEST_CLIENT_SECRET};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long a test waits for asynchronous state before failing; a bound, not a measure.
const PATIENCE: Duration = Duration::from_secs(15);

pub fn fast_config() -> DoubleConfig {
    DoubleConfig {
        processing_delay: Duration::from_millis(50),
        webhook_retry_base: Duration::from_millis(50),
        webhook_timeout: Duration::from_secs(5),
        ..DoubleConfig::default()
    }
}

pub struct TestDouble {
    pub double: CdekDouble,
    pub http: reqwest::Client,
    pub base: String,
    pub control: String,
}

impl TestDouble {
    pub async fn start() -> Self {
        Self::start_with(fast_config()).await
    }

    pub async fn start_with(config: DoubleConfig) -> Self {
        let double = CdekDouble::start(config).await.expect("the double starts");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let base = double.base_url();
        let control = double.control_url();
        Self { double, http, base, control }
    }

    pub async fn stop(self) {
        // Closing the idle keep-alive connections first lets the server stop at once.
        let Self { double, http, .. } = self;
        drop(http);
        double.stop().await;
    }

    pub async fn token(&self) -> String {
        let response = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .query(&[
                ("grant_type", "client_credentials"),
                ("client_id", TEST_CLIENT_ID),
                ("client_secret", TEST_CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        (status, body)
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let response =
            self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(body).send().await.unwrap();
        Self::answer(response).await
    }

    pub async fn post_raw(&self, token: &str, path: &str, body: &'static str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        Self::answer(response).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.http.delete(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        Self::answer(response).await
    }

    pub async fn control_post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self.http.post(format!("{}{path}", self.control)).json(body).send().await.unwrap();
        Self::answer(response).await
    }

    pub async fn control_get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(format!("{}{path}", self.control)).send().await.unwrap();
        Self::answer(response).await
    }

    /// Registers an order and returns its uuid (asserting the 202).
    pub async fn create_order(&self, token: &str, body: &Value) -> String {
        let (status, answer) = self.post(token, "/orders", body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        answer["entity"]["uuid"].as_str().unwrap().to_owned()
    }

    pub async fn read_order(&self, token: &str, uuid: &str) -> Value {
        let (status, order) = self.get(token, &format!("/orders/{uuid}")).await;
        assert_eq!(status, StatusCode::OK, "{order}");
        order
    }

    /// Reads the order until `done` holds.
    pub async fn wait_order(&self, token: &str, uuid: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Deadline::new();
        loop {
            let order = self.read_order(token, uuid).await;
            if done(&order) {
                return order;
            }
            deadline.tick(&format!("{what}; last read {order}")).await;
        }
    }

    /// Reads `/control/stats` until `done` holds.
    pub async fn wait_stats(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Deadline::new();
        loop {
            let stats = self.control_get("/stats").await.1;
            if done(&stats) {
                return stats;
            }
            deadline.tick(&format!("{what}; stats {stats}")).await;
        }
    }

    /// Registers an order and waits for its CREATE to become SUCCESSFUL.
    pub async fn created_order(&self, token: &str, number: &str) -> Value {
        let uuid = self.create_order(token, &order_body(number)).await;
        self.wait_order(token, &uuid, "CREATE SUCCESSFUL", |order| request_state(order, "CREATE") == "SUCCESSFUL").await
    }

    /// Appends a status through the control API.
    pub async fn advance(&self, uuid: &str, code: &str) {
        let (status, body) = self.control_post(&format!("/orders/{uuid}/status"), &json!({"code": code})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// A valid online-store order: warehouse MSK65 → door in Новосибирск, one 50 g package.
pub fn order_body(number: &str) -> Value {
    json!({
        "type": 1,
        "number": number,
        "tariff_code": 137,
        "shipment_point": "MSK65",
        "to_location": {"code": 270, "city": "Новосибирск", "address": "ул. Ленина, 1"},
        "recipient": {"name": "Иван Петров", "phones": [{"number": "+79990001122"}]},
        "packages": [{
            "number": "1",
            "weight": 50,
            "items": [{"name": "Кружка", "ware_key": "MUG-1", "payment": {"value": 0}, "cost": 300, "weight": 50, "amount": 1}]
        }]
    })
}

/// The state of the latest request of this type in an order read.
pub fn request_state(order: &Value, kind: &str) -> String {
    order["requests"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|request| request["type"] == kind)
        .map(|request| request["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn request_of<'a>(order: &'a Value, kind: &str) -> &'a Value {
    order["requests"].as_array().unwrap().iter().rev().find(|request| request["type"] == kind).unwrap()
}

pub fn status_codes(order: &Value) -> Vec<String> {
    order["entity"]["statuses"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap().to_owned()).collect()
}

/// The codes of a requests-shape error body.
pub fn request_error_codes(body: &Value) -> Vec<String> {
    let request = &body["requests"][0];
    assert_eq!(request["state"], "INVALID", "{body}");
    request["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
}

pub fn is_cdek_date_time(text: &str) -> bool {
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z").is_ok() && text.ends_with("+0000")
}

pub struct Deadline(Instant);

impl Deadline {
    pub fn new() -> Self {
        Self(Instant::now() + PATIENCE)
    }

    pub async fn tick(&self, what: &str) {
        assert!(Instant::now() < self.0, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A webhook receiver: answers `fail_status` to the first `fail_first` posts, then 200,
/// recording each body it accepted.
pub struct Receiver {
    pub url: String,
    attempts: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Value>>>,
    handle: ServerHandle,
}

struct ReceiverState {
    fail_first: usize,
    fail_status: u16,
    attempts: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Value>>>,
}

async fn receive(state: web::Data<ReceiverState>, body: web::Json<Value>) -> HttpResponse {
    let attempt = state.attempts.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt <= state.fail_first {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(state.fail_status).unwrap()).finish();
    }
    state.received.lock().unwrap().push(body.into_inner());
    HttpResponse::Ok().finish()
}

impl Receiver {
    pub async fn start() -> Self {
        Self::failing(0, 500).await
    }

    pub async fn failing(fail_first: usize, fail_status: u16) -> Self {
        let attempts = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = web::Data::new(ReceiverState {
            fail_first,
            fail_status,
            attempts: attempts.clone(),
            received: received.clone(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let secret = uuid::Uuid::new_v4();
        let server = HttpServer::new(move || {
            App::new().app_data(state.clone()).route("/hooks/{secret}", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { url: format!("http://127.0.0.1:{port}/hooks/{secret}"), attempts, received, handle }
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for a payload about `order_uuid` with status `code`.
    pub async fn wait_for(&self, order_uuid: &str, code: &str) -> Value {
        let deadline = Deadline::new();
        loop {
            let found = self
                .received()
                .into_iter()
                .find(|payload| payload["uuid"] == order_uuid && payload["attributes"]["code"] == code);
            if let Some(payload) = found {
                return payload;
            }
            deadline.tick(&format!("webhook {code} for {order_uuid}; got {:?}", self.received())).await;
        }
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
