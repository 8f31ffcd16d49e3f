//! The security review of order-grpc (docs/security.md): every RPC refuses callers
//! without a service key (none, malformed, a key or token of another kind) with
//! UNAUTHENTICATED and its reason, and changes nothing; health and reflection answer
//! without a key; and the review lists exactly the gRPC methods and HTTP routes served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use domain::events as pb;
use domain::token::Purpose;
use order_grpc::config::GrpcConfig;
use order_grpc::proto::{self, order_service_client::OrderServiceClient};
use order_grpc::{Application, Config};
use orders::OrdersSettings;
use platform::Secret;
use platform::http::HttpConfig;
use platform::keys::AuthSettings;
use prost::Message;
use test_support::security_review;
use test_support::service::Started;
use test_support::tls::{TestCa, TlsFiles};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

const SERVICE_KEY: &str = "billing-service-key-0123456789";
const STOREFRONT_KEY: &str = "key-of-shop-a-0123456789";

/// order-grpc over TLS, the CA its certificate is from and the files.
async fn spawn(tag: &str) -> (Started, u16, TestCa, TlsFiles) {
    let kafka = test_support::kafka_config(tag);
    test_support::create_system_topics(&kafka).await;
    let postgres_url = test_support::fresh_database(tag).await;
    let ca = TestCa::new(tag);
    let tls = ca.server_files();
    let config = Config {
        grpc: GrpcConfig::on_free_port_with_tls(tls.cert(), tls.key()),
        http: HttpConfig::with_port(0),
        postgres: test_support::postgres_config(&postgres_url),
        redis: test_support::redis_config(tag),
        kafka,
        log: test_support::test_log_config(),
        auth: AuthSettings {
            // A storefront key configured too: it must not open gRPC.
            storefront_keys: BTreeMap::from([("shop-a".to_owned(), Secret::new(STOREFRONT_KEY))]),
            service_keys: BTreeMap::from([("billing".to_owned(), Secret::new(SERVICE_KEY))]),
        },
        orders: OrdersSettings {
            saved_response_key: Secret::new(test_support::SAVED_RESPONSE_KEY),
            ..OrdersSettings::default()
        },
    };
    let app = Started::start::<Application>(config).await;
    let port = app.grpc_port.expect("order-grpc serves gRPC");
    (app, port, ca, tls)
}

fn with<T>(authorization: Option<&str>, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(value) = authorization {
        request.metadata_mut().insert("authorization", value.parse().unwrap());
    }
    request
}

/// A valid order of store `shop-a`.
fn create_request(store_order_number: &str) -> proto::CreateOrderRequest {
    proto::CreateOrderRequest {
        store_id: "shop-a".into(),
        store_order_number: store_order_number.into(),
        customer: Some(pb::Customer {
            name: "Anna".into(),
            phone: "+79161234567".into(),
            email: "anna@example.com".into(),
        }),
        pickup: Some(pb::Place { address: "A".into(), point: Some(pb::GeoPoint { lat: 55.70, lon: 37.58 }) }),
        destination: Some(pb::Place { address: "B".into(), point: Some(pb::GeoPoint { lat: 55.75, lon: 37.61 }) }),
        parcels: vec![pb::Parcel { weight_grams: 500, length_cm: 10, width_cm: 10, height_cm: 10 }],
        delivery: Some(pb::Delivery { method: pb::DeliveryMethod::OwnCourier as i32, cdek_tariff_code: 0 }),
        idempotency_key: String::new(),
    }
}

/// Calls every RPC of OrderService on order `id` with `authorization`; the outcome of each.
async fn call_every_rpc(
    client: &mut OrderServiceClient<Channel>,
    authorization: Option<&str>,
    id: &str,
) -> Vec<(&'static str, Result<(), Status>)> {
    let get = || proto::GetOrderRequest { order_id: id.to_owned() };
    let create = create_request("SEC-NEW");
    let a = authorization;
    vec![
        ("CreateOrder", client.create_order(with(a, create)).await.map(drop)),
        ("GetOrder", client.get_order(with(a, get())).await.map(drop)),
        ("GetOrders", client.get_orders(with(a, proto::GetOrdersRequest::default())).await.map(drop)),
        ("GetOrderStatus", client.get_order_status(with(a, get())).await.map(drop)),
        (
            "UpdateOrderStatus",
            client
                .update_order_status(with(
                    a,
                    proto::UpdateOrderStatusRequest {
                        order_id: id.to_owned(),
                        status: pb::OrderStatus::Cancelled as i32,
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        ("TrackOrder", client.track_order(with(a, get())).await.map(drop)),
        (
            "CancelOrder",
            client
                .cancel_order(with(a, proto::CancelOrderRequest { order_id: id.to_owned(), ..Default::default() }))
                .await
                .map(drop),
        ),
        ("EstimateDelivery", client.estimate_delivery(with(a, get())).await.map(drop)),
        (
            "AssignCourier",
            client
                .assign_courier(with(
                    a,
                    proto::AssignCourierRequest {
                        order_id: id.to_owned(),
                        courier_id: "c-sec".into(),
                        expected_version: None,
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "GetCourierLocation",
            client
                .get_courier_location(with(
                    a,
                    proto::GetCourierLocationRequest { courier_id: "c-sec".into(), store_id: "shop-a".into() },
                ))
                .await
                .map(drop),
        ),
        (
            "ListCourierOrders",
            client
                .list_courier_orders(with(
                    a,
                    proto::ListCourierOrdersRequest {
                        courier_id: "c-sec".into(),
                        include_finished: true,
                        store_id: "shop-a".into(),
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "NotifyCustomer",
            client
                .notify_customer(with(
                    a,
                    proto::NotifyCustomerRequest { order_id: id.to_owned(), message: "hi".into() },
                ))
                .await
                .map(drop),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_refuses_callers_without_a_service_key_and_changes_nothing() {
    let (app, port, ca, _tls) = spawn("grpc_sec").await;
    let channel = test_support::tls::grpc_channel(port, Some(ca.client_tls())).await.unwrap();
    let mut client = OrderServiceClient::new(channel.clone());
    let key = format!("Bearer {SERVICE_KEY}");

    let mut create = Request::new(create_request("SEC-1"));
    create.metadata_mut().insert("authorization", key.parse().unwrap());
    let created = client.create_order(create).await.unwrap().into_inner();
    let order = created.order.unwrap().order.unwrap();
    let id = order.id.clone();

    let hour = Utc::now() + Duration::hours(1);
    let courier_token = domain::token::sign(b"courier-token-secret-0123456789abcdef", Purpose::Courier, "c-1", hour);
    let ticket = domain::ticket::sign(b"ticket-secret-0123456789abcdef0123456", id.parse().unwrap(), hour);
    let wrong: Vec<(Option<String>, &str)> = vec![
        (None, "missing_api_key"),
        (Some("Basic YTpi".into()), "malformed_authorization"),
        (Some(SERVICE_KEY.into()), "malformed_authorization"), // without "Bearer "
        (Some(format!("Bearer {SERVICE_KEY}x")), "invalid_api_key"),
        (Some(format!("Bearer {STOREFRONT_KEY}")), "invalid_api_key"),
        (Some(format!("Bearer {courier_token}")), "invalid_api_key"),
        (Some(format!("Bearer {ticket}")), "invalid_api_key"),
        (Some(format!("Bearer {}", created.tracking_token)), "invalid_api_key"),
    ];
    for (authorization, expected) in &wrong {
        let outcomes = call_every_rpc(&mut client, authorization.as_deref(), &id).await;
        assert_eq!(outcomes.len(), 12, "one call per RPC of order.proto");
        for (rpc, outcome) in outcomes {
            let status = outcome.expect_err(rpc);
            let reason = status.get_details_error_info().map(|info| info.reason).unwrap_or_default();
            assert_eq!(
                (status.code(), reason.as_str()),
                (Code::Unauthenticated, *expected),
                "{rpc} with {authorization:?}"
            );
        }
    }

    // Nothing changed: still one order, at version 1, not cancelled, no courier.
    let mut read = Request::new(proto::GetOrderRequest { order_id: id.clone() });
    read.metadata_mut().insert("authorization", key.parse().unwrap());
    let now = client.get_order(read).await.unwrap().into_inner().order.unwrap();
    assert_eq!((now.version, now.status, now.courier_id.clone()), (order.version, order.status, order.courier_id));
    let mut list = Request::new(proto::GetOrdersRequest::default());
    list.metadata_mut().insert("authorization", key.parse().unwrap());
    assert_eq!(client.get_orders(list).await.unwrap().into_inner().orders.len(), 1);

    // The standard health service answers without a key (probes carry none).
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let answer = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await;
    assert!(answer.is_ok(), "{answer:?}");

    app.stop().await;
}

/// `package.Service/Method` of every method in an encoded descriptor set.
fn methods(encoded: &[u8]) -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(encoded).unwrap();
    let mut methods = BTreeSet::new();
    for file in set.file {
        for service in &file.service {
            for method in &service.method {
                methods.insert(format!("{}.{}/{}", file.package(), service.name(), method.name()));
            }
        }
    }
    methods
}

#[test]
fn the_review_lists_exactly_the_rpcs_and_routes_of_order_grpc() {
    // What the server registers (grpc/mod.rs): the order service, health, reflection v1.
    let served: BTreeSet<String> = [
        methods(order_grpc::ORDER_DESCRIPTORS),
        methods(tonic_health::pb::FILE_DESCRIPTOR_SET),
        methods(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(served.len() >= 15, "{served:?}");
    let documented = security_review::documented("order-grpc");
    let rpcs: BTreeSet<String> = documented.iter().filter(|(m, _)| m == "RPC").map(|(_, p)| p.clone()).collect();
    security_review::assert_same("order-grpc (gRPC)", &served, &rpcs);

    let http: BTreeSet<String> = documented.iter().filter(|(m, _)| m != "RPC").map(|(_, p)| p.clone()).collect();
    security_review::assert_same(
        "order-grpc (HTTP)",
        &security_review::registered_paths(&["crates/services/order-grpc/src"]),
        &http,
    );
}
