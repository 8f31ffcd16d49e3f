//! CDEK orders end to end: a real order-grpc (creates the orders, applies the adapter's
//! commands), the logistics adapter, real Postgres and Kafka, and the CDEK double over
//! HTTP. Statuses are advanced through the double's control endpoints, as CDEK would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::Duration;

use cdek_double::{CdekDouble, DoubleConfig};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use domain::events as pb;
use logistics_adapter::cdek::{CdekClient, ClientSettings};
use logistics_adapter::config::CdekConfig;
use logistics_adapter::subscription::{self, Subscribed};
use logistics_adapter::{Application, Config};
use order_grpc::config::GrpcConfig;
use order_grpc::proto::order_service_client::OrderServiceClient;
use order_grpc::proto::{self, OrderDetails};
use orders::OrdersSettings;
use platform::Secret;
use platform::http::HttpConfig;
use platform::keys::AuthSettings;
use serde_json::{Value, json};
use test_support::eventually;
use test_support::service::{self, Started};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

const SERVICE_KEY: &str = "logistics-tests-service-key-0123456789";
const WEBHOOK_SECRET: &str = "webhook-secret-for-the-tests-0123456789";
const WAIT: Duration = Duration::from_secs(30);

type Grpc = OrderServiceClient<InterceptedService<Channel, fn(Request<()>) -> Result<Request<()>, Status>>>;

fn with_key(mut request: Request<()>) -> Result<Request<()>, Status> {
    request.metadata_mut().insert("authorization", format!("Bearer {SERVICE_KEY}").parse().unwrap());
    Ok(request)
}

struct Options {
    /// Reconciliation poll; long when a test wants statuses from webhooks alone.
    poll_interval_secs: u64,
    subscribe: bool,
    request_timeout_ms: u64,
    webhook_prune_interval_secs: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self { poll_interval_secs: 3600, subscribe: true, request_timeout_ms: 2000, webhook_prune_interval_secs: 3600 }
    }
}

struct Stack {
    double: CdekDouble,
    grpc: Grpc,
    adapter: String,
    logistics_db: String,
    http: reqwest::Client,
    /// order-grpc, then the adapter (stopped in the reverse order).
    apps: Vec<Started>,
    /// order-grpc's certificate and key (it serves TLS, as in `scripts/dev up`).
    _grpc_tls: test_support::tls::TlsFiles,
}

impl Stack {
    async fn start(tag: &str, options: Options) -> Self {
        let kafka = test_support::kafka_config(tag);
        test_support::create_system_topics(&kafka).await;
        let double = CdekDouble::start(DoubleConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            processing_delay: Duration::from_millis(300),
            webhook_attempts: 3,
            webhook_retry_base: Duration::from_millis(200),
            webhook_timeout: Duration::from_secs(2),
            ..DoubleConfig::default()
        })
        .await
        .unwrap();

        let grpc_ca = test_support::tls::TestCa::new(tag);
        let grpc_tls = grpc_ca.server_files();
        let grpc_config = order_grpc::Config {
            grpc: GrpcConfig {
                host: "127.0.0.1".into(),
                port: 0,
                health_interval_ms: 200,
                tls_cert_file: Some(grpc_tls.cert()),
                tls_key_file: Some(grpc_tls.key()),
                tls_client_ca_file: None,
            },
            http: HttpConfig::with_port(0),
            postgres: test_support::postgres_config(&test_support::fresh_database(tag).await),
            redis: test_support::redis_config(tag),
            kafka: platform::kafka::KafkaConfig {
                consumer_group: format!("{}grpc", kafka.topic_prefix),
                ..kafka.clone()
            },
            log: test_support::test_log_config(),
            auth: AuthSettings {
                storefront_keys: BTreeMap::new(),
                service_keys: BTreeMap::from([("tests".to_owned(), Secret::new(SERVICE_KEY))]),
            },
            orders: OrdersSettings {
                saved_response_key: Secret::new(test_support::SAVED_RESPONSE_KEY),
                ..OrdersSettings::default()
            },
        };
        let grpc_app = Started::start::<order_grpc::Application>(grpc_config).await;
        let grpc_port = grpc_app.grpc_port.expect("order-grpc serves gRPC");
        let channel = test_support::tls::grpc_channel(grpc_port, Some(grpc_ca.client_tls())).await.unwrap();
        let grpc =
            OrderServiceClient::with_interceptor(channel, with_key as fn(Request<()>) -> Result<Request<()>, Status>);

        let logistics_db = test_support::fresh_database(&format!("{tag}_logistics")).await;
        let port = service::free_port();
        let config = Config {
            http: HttpConfig { host: "127.0.0.1".into(), ..HttpConfig::with_port(port) },
            postgres: test_support::postgres_config(&logistics_db),
            kafka: platform::kafka::KafkaConfig {
                consumer_group: format!("{}logistics", kafka.topic_prefix),
                ..kafka.clone()
            },
            log: test_support::test_log_config(),
            cdek: CdekConfig {
                base_url: double.base_url(),
                webhook_secret: Secret::new(WEBHOOK_SECRET),
                public_url: format!("http://127.0.0.1:{port}"),
                subscribe: options.subscribe,
                poll_interval_secs: options.poll_interval_secs,
                registration_poll_ms: 200,
                request_timeout_ms: options.request_timeout_ms,
                webhook_prune_interval_secs: options.webhook_prune_interval_secs,
                attempts: 3,
                backoff_start_ms: 100,
                backoff_max_ms: 1000,
                ..CdekConfig::default()
            },
        };
        let adapter_app = Started::start_ready::<Application>(config).await;
        let adapter = adapter_app.base.clone();
        let apps = vec![grpc_app, adapter_app];
        Self { double, grpc, adapter, logistics_db, http: reqwest::Client::new(), apps, _grpc_tls: grpc_tls }
    }

    async fn stop(self) {
        for app in self.apps.into_iter().rev() {
            app.stop().await;
        }
        self.double.stop().await;
    }

    async fn create(&mut self, number: &str, recipient: &str) -> String {
        let place = |address: &str, lat, lon| {
            Some(pb::Place { address: address.into(), point: Some(pb::GeoPoint { lat, lon }) })
        };
        let request = proto::CreateOrderRequest {
            store_id: "shop-a".into(),
            store_order_number: number.into(),
            customer: Some(pb::Customer {
                name: recipient.into(),
                phone: "+79161234567".into(),
                email: "anna@example.com".into(),
            }),
            pickup: place("Moscow, Warehouse street 1", 55.70, 37.58),
            destination: place("Saint Petersburg, Nevsky prospect 1", 59.93, 30.33),
            parcels: vec![pb::Parcel { weight_grams: 1500, length_cm: 30, width_cm: 20, height_cm: 10 }],
            delivery: Some(pb::Delivery { method: pb::DeliveryMethod::Cdek as i32, cdek_tariff_code: 137 }),
            idempotency_key: String::new(),
        };
        let created = self.grpc.create_order(request).await.unwrap().into_inner();
        created.order.unwrap().order.unwrap().id
    }

    async fn details(&mut self, id: &str) -> OrderDetails {
        self.grpc.get_order(proto::GetOrderRequest { order_id: id.into() }).await.unwrap().into_inner()
    }

    /// Waits until the order (read over gRPC) is as `done` says.
    async fn wait_until(&self, id: &str, what: &str, done: impl Fn(&OrderDetails) -> bool) -> OrderDetails {
        let done = &done;
        eventually(&format!("order {id}: {what}"), WAIT, || {
            let mut grpc = self.grpc.clone();
            async move {
                let details = grpc.get_order(proto::GetOrderRequest { order_id: id.into() }).await.ok()?.into_inner();
                done(&details).then_some(details)
            }
        })
        .await
    }

    async fn wait_status(&self, id: &str, status: pb::OrderStatus) -> OrderDetails {
        self.wait_until(id, &format!("is {status:?}"), |d| d.order.as_ref().is_some_and(|o| o.status == status as i32))
            .await
    }

    /// Waits until the order's timeline has an entry with this carrier status.
    async fn wait_carrier_status(&self, id: &str, code: &str) -> OrderDetails {
        self.wait_until(id, &format!("has carrier status {code}"), |d| {
            d.timeline.iter().any(|e| e.carrier_status == code)
        })
        .await
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.double.control_url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }

    /// The double's view of the CDEK order registered for an ordertrack order.
    async fn cdek_order(&self, order_id: &str) -> Option<Value> {
        let orders = self.control(reqwest::Method::GET, "/orders", None).await;
        orders.as_array().unwrap().iter().find(|o| o["number"] == order_id).cloned()
    }

    async fn cdek_orders_for(&self, order_id: &str) -> usize {
        let orders = self.control(reqwest::Method::GET, "/orders", None).await;
        orders.as_array().unwrap().iter().filter(|o| o["number"] == order_id).count()
    }

    async fn cdek_uuid(&self, order_id: &str) -> String {
        let order = eventually("the double has the order", WAIT, || async {
            self.cdek_order(order_id).await.filter(|o| o["cdek_number"].is_string())
        })
        .await;
        order["uuid"].as_str().unwrap().to_owned()
    }

    async fn advance(&self, uuid: &str, status: Value) {
        self.control(reqwest::Method::POST, &format!("/orders/{uuid}/status"), Some(status)).await;
    }

    async fn stats(&self) -> Value {
        self.control(reqwest::Method::GET, "/stats", None).await
    }

    async fn post_webhook(&self, secret: &str, body: &Value) -> (u16, Value) {
        let response =
            self.http.post(format!("{}/webhooks/cdek/{secret}", self.adapter)).json(body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn sql(&self, statement: &str) {
        let mut conn = platform::postgres::connect_once(&self.logistics_db).await.unwrap();
        diesel::sql_query(statement).execute(&mut conn).await.unwrap();
    }

    async fn inbox_rows(&self, condition: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let mut conn = platform::postgres::connect_once(&self.logistics_db).await.unwrap();
        let counted: Count =
            diesel::sql_query(format!("SELECT count(*) AS count FROM webhook_inbox WHERE {condition}"))
                .get_result(&mut conn)
                .await
                .unwrap();
        counted.count
    }
}

fn carrier_statuses(details: &OrderDetails) -> Vec<String> {
    details.timeline.iter().map(|e| e.carrier_status.clone()).filter(|c| !c.is_empty()).collect()
}

fn status_of(details: &OrderDetails) -> i32 {
    details.order.as_ref().unwrap().status
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_alone_take_an_order_from_created_to_delivered() {
    let mut stack = Stack::start("cdek_webhooks", Options::default()).await;
    let id = stack.create("W-1", "Anna").await;

    let handed = stack.wait_status(&id, pb::OrderStatus::HandedToCarrier).await;
    let uuid = stack.cdek_uuid(&id).await;
    let cdek = stack.cdek_order(&id).await.unwrap();
    let order = handed.order.as_ref().unwrap();
    let number = cdek["cdek_number"].as_str().unwrap();
    let created = handed.timeline.iter().find(|e| e.carrier_status == "CREATED").unwrap();
    assert!(created.note.contains(number), "{created:?}");
    let with_reference = stack
        .wait_until(&id, "has the CDEK number and an ETA", |d| {
            d.order.as_ref().is_some_and(|o| !o.carrier_reference.is_empty() && o.eta.is_some())
        })
        .await
        .order
        .unwrap();
    assert_eq!(with_reference.carrier_reference, number);
    assert_eq!(with_reference.eta.unwrap().source, pb::EtaSource::Cdek as i32);
    assert_eq!(order.id, id);

    for (code, expected) in [
        ("RECEIVED_AT_SHIPMENT_WAREHOUSE", pb::OrderStatus::PickedUp),
        ("SENT_TO_RECIPIENT_CITY", pb::OrderStatus::InTransit),
        ("TAKEN_BY_COURIER", pb::OrderStatus::Arriving),
    ] {
        stack.advance(&uuid, json!({"code": code, "city": "Санкт-Петербург"})).await;
        stack.wait_status(&id, expected).await;
    }
    // A code CDEK added later: kept verbatim in the timeline, the status unchanged.
    stack.advance(&uuid, json!({"code": "SOMETHING_CDEK_ADDED_LATER"})).await;
    let unknown = stack.wait_carrier_status(&id, "SOMETHING_CDEK_ADDED_LATER").await;
    assert_eq!(status_of(&unknown), pb::OrderStatus::Arriving as i32);
    stack.advance(&uuid, json!({"code": "DELIVERED"})).await;
    let delivered = stack.wait_status(&id, pb::OrderStatus::Delivered).await;

    let codes = carrier_statuses(&delivered);
    let expected = [
        "CREATED",
        "RECEIVED_AT_SHIPMENT_WAREHOUSE",
        "SENT_TO_RECIPIENT_CITY",
        "TAKEN_BY_COURIER",
        "SOMETHING_CDEK_ADDED_LATER",
        "DELIVERED",
    ];
    let positions: Vec<usize> = expected.iter().map(|code| codes.iter().position(|c| c == code).expect(code)).collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "{codes:?}");
    let stats = stack.stats().await;
    assert!(stats["webhooks_delivered"].as_u64().unwrap() >= 5, "{stats}");
    assert_eq!(stack.cdek_order(&id).await.unwrap()["create_requests_for_number"], 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_alone_delivers_the_order_when_every_webhook_is_lost() {
    let options = Options { poll_interval_secs: 1, subscribe: false, ..Options::default() };
    let mut stack = Stack::start("cdek_polling", options).await;
    stack.control(reqwest::Method::POST, "/webhooks/drop", Some(json!({"drop": true}))).await;
    let id = stack.create("P-1", "Boris").await;
    stack.wait_status(&id, pb::OrderStatus::HandedToCarrier).await;
    let uuid = stack.cdek_uuid(&id).await;
    for code in ["RECEIVED_AT_SHIPMENT_WAREHOUSE", "ACCEPTED_IN_RECIPIENT_CITY", "DELIVERED"] {
        stack.advance(&uuid, json!({"code": code})).await;
    }
    let delivered = stack.wait_status(&id, pb::OrderStatus::Delivered).await;
    let codes = carrier_statuses(&delivered);
    assert!(codes.ends_with(&[
        "RECEIVED_AT_SHIPMENT_WAREHOUSE".to_owned(),
        "ACCEPTED_IN_RECIPIENT_CITY".to_owned(),
        "DELIVERED".to_owned()
    ]));
    let stats = stack.stats().await;
    assert_eq!(stats["webhooks_delivered"], 0, "{stats}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_and_out_of_order_webhooks_apply_each_status_once_in_time_order() {
    let mut stack = Stack::start("cdek_order", Options::default()).await;
    let id = stack.create("O-1", "Vera").await;
    stack.wait_status(&id, pb::OrderStatus::HandedToCarrier).await;
    let uuid = stack.cdek_uuid(&id).await;
    stack.control(reqwest::Method::POST, "/webhooks/drop", Some(json!({"drop": true}))).await;
    let now = chrono::Utc::now();
    let later = (now + chrono::Duration::minutes(2)).format("%Y-%m-%dT%H:%M:%S%z").to_string();
    let earlier = (now + chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%S%z").to_string();
    // CDEK learns the later status first; its webhooks then arrive newest first, twice.
    stack.advance(&uuid, json!({"code": "TAKEN_BY_COURIER", "date_time": later})).await;
    stack.advance(&uuid, json!({"code": "RECEIVED_AT_SHIPMENT_WAREHOUSE", "date_time": earlier})).await;
    let hook = |code: &str, at: &str| {
        json!({"type": "ORDER_STATUS", "date_time": at, "uuid": uuid,
            "attributes": {"code": code, "status_code": "0", "status_date_time": at, "deleted": false}})
    };
    for _ in 0..2 {
        for (code, at) in [("TAKEN_BY_COURIER", &later), ("RECEIVED_AT_SHIPMENT_WAREHOUSE", &earlier)] {
            let (status, _) = stack.post_webhook(WEBHOOK_SECRET, &hook(code, at)).await;
            assert_eq!(status, 200);
        }
    }
    let arriving = stack.wait_status(&id, pb::OrderStatus::Arriving).await;
    // Every webhook was read back from CDEK (the inbox is empty), and nothing was applied twice.
    eventually("the webhooks are handled", WAIT, || async {
        (stack.inbox_rows("processed_at IS NULL").await == 0).then_some(())
    })
    .await;
    assert!(stack.inbox_rows("true").await >= 4);
    let details = stack.details(&id).await;
    let statuses: Vec<i32> = details.timeline.iter().map(|e| e.status).collect();
    assert_eq!(
        carrier_statuses(&details).iter().filter(|c| c.as_str() != "ACCEPTED").cloned().collect::<Vec<_>>(),
        ["CREATED", "RECEIVED_AT_SHIPMENT_WAREHOUSE", "TAKEN_BY_COURIER"],
        "{:?}",
        details.timeline
    );
    assert!(statuses.contains(&(pb::OrderStatus::PickedUp as i32)), "picked_up applied before arriving");
    assert_eq!(details.timeline.len(), arriving.timeline.len());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_mid_flow_is_renewed_once_and_the_flow_goes_on() {
    let mut stack = Stack::start("cdek_token", Options::default()).await;
    let id = stack.create("T-1", "Gleb").await;
    stack.wait_status(&id, pb::OrderStatus::HandedToCarrier).await;
    let uuid = stack.cdek_uuid(&id).await;
    let before = stack.stats().await["tokens_issued"].as_u64().unwrap();
    stack.control(reqwest::Method::POST, "/tokens/expire", None).await;
    stack.advance(&uuid, json!({"code": "RECEIVED_AT_SHIPMENT_WAREHOUSE"})).await;
    stack.wait_status(&id, pb::OrderStatus::PickedUp).await;
    let after = stack.stats().await["tokens_issued"].as_u64().unwrap();
    assert_eq!(after, before + 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cdek_failing_for_a_while_is_retried_and_nothing_is_registered_twice() {
    let mut stack = Stack::start("cdek_faults", Options::default()).await;
    // 500s for the next calls, the token request included.
    stack.control(reqwest::Method::POST, "/faults", Some(json!({"status": 500, "requests": 8}))).await;
    let failing = stack.create("F-1", "Dana").await;
    stack.wait_status(&failing, pb::OrderStatus::HandedToCarrier).await;
    assert_eq!(stack.cdek_orders_for(&failing).await, 1);

    // A registration that times out at the adapter but reaches CDEK (the double delays,
    // then processes it): the adapter finds it by number instead of registering again.
    let warm_eta = stack
        .wait_until(&failing, "has an ETA", |d| d.order.as_ref().is_some_and(|o| o.eta.is_some()))
        .await
        .order
        .unwrap()
        .eta
        .unwrap();
    assert_eq!(warm_eta.source, pb::EtaSource::Cdek as i32);
    stack.control(reqwest::Method::POST, "/faults", Some(json!({"timeout_ms": 3000, "requests": 1}))).await;
    let slow = stack.create("F-2", "Egor").await;
    stack.wait_status(&slow, pb::OrderStatus::HandedToCarrier).await;
    let cdek = stack.cdek_order(&slow).await.unwrap();
    assert_eq!(stack.cdek_orders_for(&slow).await, 1);
    assert_eq!(cdek["create_requests_for_number"], 1, "{cdek}");
    let stats = stack.stats().await;
    assert!(stats["faults_injected"].as_u64().unwrap() >= 9, "{stats}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_registration_puts_cdeks_errors_on_the_order() {
    let mut stack = Stack::start("cdek_invalid", Options::default()).await;
    // Rejected asynchronously (ACCEPTED, then INVALID): the double's poison name.
    let poisoned = stack.create("I-1", "INVALID").await;
    let failed = stack.wait_status(&poisoned, pb::OrderStatus::RegistrationFailed).await;
    let entry = failed.timeline.iter().find(|e| e.status == pb::OrderStatus::RegistrationFailed as i32).unwrap();
    assert_eq!(entry.carrier_status, "INVALID");
    assert!(entry.note.contains("error_validate_double_poison"), "{entry:?}");

    // Refused at once (400 with CDEK's errors shape).
    stack.control(reqwest::Method::POST, "/faults", Some(json!({"status": 400, "requests": 1}))).await;
    let refused = stack.create("I-2", "Fedor").await;
    let failed = stack.wait_status(&refused, pb::OrderStatus::RegistrationFailed).await;
    let entry = failed.timeline.last().unwrap();
    assert!(entry.note.contains("Injected fault"), "{entry:?}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_deletes_while_created_and_refuses_after_pickup() {
    let mut stack = Stack::start("cdek_cancel", Options::default()).await;
    // Before pickup: CDEK still shows CREATED → DELETE → REMOVED.
    let early = stack.create("C-1", "Galina").await;
    stack.wait_status(&early, pb::OrderStatus::HandedToCarrier).await;
    stack.grpc.cancel_order(proto::CancelOrderRequest { order_id: early.clone(), ..Default::default() }).await.unwrap();
    let answered = stack.wait_carrier_status(&early, "DELETE SUCCESSFUL").await;
    assert_eq!(status_of(&answered), pb::OrderStatus::Cancelled as i32);
    eventually("CDEK shows REMOVED", WAIT, || async {
        (stack.cdek_order(&early).await?["status"] == "REMOVED").then_some(())
    })
    .await;
    let removed = stack.wait_carrier_status(&early, "REMOVED").await;
    assert_eq!(status_of(&removed), pb::OrderStatus::Cancelled as i32);

    // CDEK picked it up, but ordertrack has not heard yet (webhooks lost): the order is
    // cancelled here, and the adapter asks CDEK for a refusal instead of a deletion.
    let late = stack.create("C-2", "Ilya").await;
    stack.wait_status(&late, pb::OrderStatus::HandedToCarrier).await;
    let uuid = stack.cdek_uuid(&late).await;
    stack.control(reqwest::Method::POST, "/webhooks/drop", Some(json!({"drop": true}))).await;
    stack.advance(&uuid, json!({"code": "RECEIVED_AT_SHIPMENT_WAREHOUSE"})).await;
    stack.grpc.cancel_order(proto::CancelOrderRequest { order_id: late.clone(), ..Default::default() }).await.unwrap();
    let refused = stack.wait_carrier_status(&late, "CREATE_REFUSAL SUCCESSFUL").await;
    assert_eq!(status_of(&refused), pb::OrderStatus::Cancelled as i32);
    eventually("CDEK shows NOT_DELIVERED", WAIT, || async {
        (stack.cdek_order(&late).await?["status"] == "NOT_DELIVERED").then_some(())
    })
    .await;
    let requests = stack.cdek_order(&late).await.unwrap()["requests"].clone();
    assert!(!requests.as_array().unwrap().iter().any(|r| r["type"] == "DELETE"), "{requests}");

    // ordertrack knows it was picked up: it refuses the cancellation itself and nothing
    // is asked of CDEK.
    stack.control(reqwest::Method::POST, "/webhooks/drop", Some(json!({"drop": false}))).await;
    let picked = stack.create("C-3", "Kira").await;
    stack.wait_status(&picked, pb::OrderStatus::HandedToCarrier).await;
    let uuid = stack.cdek_uuid(&picked).await;
    stack.advance(&uuid, json!({"code": "RECEIVED_AT_SHIPMENT_WAREHOUSE"})).await;
    stack.wait_status(&picked, pb::OrderStatus::PickedUp).await;
    let error = stack
        .grpc
        .cancel_order(proto::CancelOrderRequest { order_id: picked.clone(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    let requests = stack.cdek_order(&picked).await.unwrap()["requests"].clone();
    assert_eq!(requests.as_array().unwrap().len(), 1, "only the CREATE: {requests}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_with_a_wrong_secret_is_404_and_nothing_is_recorded() {
    let stack = Stack::start("cdek_secret", Options { subscribe: false, ..Options::default() }).await;
    let body = json!({"type": "ORDER_STATUS", "date_time": "2026-11-21T10:00:00+0000", "uuid": "0b6a3e4c-1111-4222-8333-444455556666",
        "attributes": {"code": "DELIVERED", "status_code": "4", "status_date_time": "2026-11-21T10:00:00+0000"}});
    for secret in ["wrong-secret-0123456789abcdef", "webhook-secret-for-the-tests-012345678", "x"] {
        let (status, answer) = stack.post_webhook(secret, &body).await;
        assert_eq!(status, 404, "{answer}");
        assert_eq!(answer["error"]["code"], "not_found", "{answer}");
    }
    assert_eq!(stack.inbox_rows("true").await, 0);

    // The right secret with a body that is not a webhook: 400, nothing recorded.
    let (status, answer) = stack.post_webhook(WEBHOOK_SECRET, &json!({"hello": "world"})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_webhook")));
    assert_eq!(stack.inbox_rows("true").await, 0);
    // The right secret and a webhook: recorded (for an order not followed, only recorded).
    let (status, _) = stack.post_webhook(WEBHOOK_SECRET, &body).await;
    assert_eq!(status, 200);
    assert_eq!(stack.inbox_rows("true").await, 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn start_up_reuses_its_subscription_and_a_third_one_is_refused() {
    let stack = Stack::start("cdek_subscribe", Options::default()).await;
    let listed = eventually("the adapter subscribed", WAIT, || async {
        let client = reqwest::Client::new();
        let token: Value = client
            .post(format!("{}/oauth/token", stack.double.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", cdek_double::TEST_CLIENT_ID),
                ("client_secret", cdek_double::TEST_CLIENT_SECRET),
            ])
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let hooks: Value = client
            .get(format!("{}/webhooks", stack.double.base_url()))
            .bearer_auth(token["access_token"].as_str()?)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (hooks.as_array()?.len() == 1).then_some(hooks)
    })
    .await;
    let url = format!("{}/webhooks/cdek/{WEBHOOK_SECRET}", stack.adapter);
    assert_eq!(listed[0]["url"], url.as_str());

    let client = CdekClient::new(
        ClientSettings {
            base_url: stack.double.base_url(),
            client_id: cdek_double::TEST_CLIENT_ID.into(),
            client_secret: Secret::new(cdek_double::TEST_CLIENT_SECRET),
            timeout: Duration::from_secs(2),
            attempts: 2,
            backoff_start: Duration::from_millis(50),
            backoff_max: Duration::from_millis(100),
        },
        slog::Logger::root(slog::Discard, slog::o!()),
    )
    .unwrap();
    // A restart finds its own subscription.
    assert_eq!(
        subscription::subscribe(&client, &url).await,
        Ok(Subscribed::Reused(listed[0]["uuid"].as_str().unwrap().into()))
    );
    // Someone else's takes the second place; a third URL is refused with CDEK's code.
    assert!(matches!(subscription::subscribe(&client, "http://elsewhere.test/hook").await, Ok(Subscribed::Created(_))));
    let third = subscription::subscribe(&client, "http://third.test/hook").await;
    assert!(matches!(&third, Ok(Subscribed::Refused(reason)) if reason.contains("v2_too_many_webhooks")), "{third:?}");
    stack.stop().await;
}

/// The inbox keeps a webhook for `cdek.webhook_retention_hours` (168 by default), then
/// deletes it, handled or not; newer ones stay.
#[tokio::test]
async fn webhooks_past_the_retention_are_pruned_and_newer_ones_kept() {
    let options = Options { subscribe: false, webhook_prune_interval_secs: 1, ..Options::default() };
    let stack = Stack::start("cdek_prune", options).await;
    stack
        .sql(
            "INSERT INTO webhook_inbox (received_at, cdek_uuid, code, body, processed_at) VALUES \
             (now() - interval '169 hours', 'old-handled', 'DELIVERED', '{}', now() - interval '169 hours'), \
             (now() - interval '400 hours', 'old-never-handled', 'CREATED', '{}', NULL), \
             (now() - interval '167 hours', 'recent-handled', 'DELIVERED', '{}', now() - interval '167 hours'), \
             (now(), 'recent-never-handled', 'CREATED', '{}', NULL)",
        )
        .await;
    eventually("the webhooks past the retention are deleted", WAIT, || async {
        (stack.inbox_rows("cdek_uuid LIKE 'old-%'").await == 0).then_some(())
    })
    .await;
    assert_eq!(stack.inbox_rows("cdek_uuid LIKE 'recent-%'").await, 2);
    assert_eq!(test_support::metric(&stack.adapter, "ordertrack_logistics_webhook_inbox_pruned_total", &[]).await, 2.0);
    stack.stop().await;
}
