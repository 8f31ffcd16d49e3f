//! Every RPC with its error paths, TrackOrder streaming, reflection, and the two
//! consumers (commands applied once, rejected ones recorded, garbage to the DLQ),
//! against real Postgres, Redis and Kafka and a real gRPC client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use domain::convert::timestamp;
use domain::events::{self as pb, Envelope, envelope::Payload};
use domain::topics::Topic;
use futures::StreamExt;
use order_grpc::config::GrpcConfig;
use order_grpc::proto::order_service_client::OrderServiceClient;
use order_grpc::proto::{self, track_update::Update};
use order_grpc::{Application, Config};
use orders::OrdersSettings;
use platform::Secret;
use platform::http::HttpConfig;
use platform::kafka::KafkaConfig;
use platform::keys::AuthSettings;
use prost::Message;
use test_support::service::Started;
use test_support::tls::{TestCa, TlsFiles};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

const SERVICE_KEY: &str = "courier-tracker-key-0123456789";

type Client = OrderServiceClient<InterceptedService<Channel, fn(Request<()>) -> Result<Request<()>, Status>>>;

struct TestGrpc {
    client: Client,
    port: u16,
    kafka: KafkaConfig,
    postgres_url: String,
    app: Started,
    /// The CA that signed the server's certificate; clients trust it alone.
    ca: TestCa,
    _tls: TlsFiles,
}

fn with_key(mut request: Request<()>) -> Result<Request<()>, Status> {
    request.metadata_mut().insert("authorization", format!("Bearer {SERVICE_KEY}").parse().unwrap());
    Ok(request)
}

/// A channel over TLS to order-grpc, trusting `ca` alone.
async fn channel(ca: &TestCa, port: u16) -> Channel {
    test_support::tls::grpc_channel(port, Some(ca.client_tls())).await.unwrap()
}

impl TestGrpc {
    async fn spawn(tag: &str) -> Self {
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
            kafka: kafka.clone(),
            log: test_support::test_log_config(),
            auth: AuthSettings {
                storefront_keys: BTreeMap::new(),
                service_keys: BTreeMap::from([("courier-tracker".to_owned(), Secret::new(SERVICE_KEY))]),
            },
            orders: OrdersSettings {
                saved_response_key: Secret::new(test_support::SAVED_RESPONSE_KEY),
                ..OrdersSettings::default()
            },
        };
        let app = Started::start::<Application>(config).await;
        let port = app.grpc_port.expect("order-grpc serves gRPC");
        let client = OrderServiceClient::with_interceptor(
            channel(&ca, port).await,
            with_key as fn(Request<()>) -> Result<Request<()>, Status>,
        );
        Self { client, port, kafka, postgres_url, app, ca, _tls: tls }
    }

    async fn stop(self) {
        self.app.stop().await;
    }

    async fn create(&mut self, number: &str) -> pb::Order {
        let response = self.client.create_order(create_request(number)).await.unwrap().into_inner();
        response.order.unwrap().order.unwrap()
    }

    async fn publish(&self, topic: Topic, key: &str, bytes: Vec<u8>) {
        let producer = platform::kafka::producer(&self.kafka, "test").unwrap();
        platform::kafka::publish(&producer, &self.kafka.topic(topic), key, &bytes).await.unwrap();
    }

    async fn send_command(&self, command: pb::OrderCommand) {
        let key = command.order_id.clone();
        let envelope = Envelope::new("courier-tracker", timestamp(Utc::now()), Payload::OrderCommand(command));
        self.publish(Topic::OrderCommands, &key, envelope.encode_to_vec()).await;
    }
}

fn create_request(number: &str) -> proto::CreateOrderRequest {
    let place =
        |address: &str, lat, lon| Some(pb::Place { address: address.into(), point: Some(pb::GeoPoint { lat, lon }) });
    proto::CreateOrderRequest {
        store_id: "shop-a".into(),
        store_order_number: number.into(),
        customer: Some(pb::Customer {
            name: "Anna".into(),
            phone: "+79161234567".into(),
            email: "anna@example.com".into(),
        }),
        pickup: place("Warehouse", 55.70, 37.58),
        destination: place("Home", 55.7575, 37.6136),
        parcels: vec![pb::Parcel { weight_grams: 500, length_cm: 10, width_cm: 10, height_cm: 10 }],
        delivery: Some(pb::Delivery { method: pb::DeliveryMethod::OwnCourier as i32, cdek_tariff_code: 0 }),
        idempotency_key: String::new(),
    }
}

fn reason(status: &Status) -> String {
    status.get_details_error_info().map(|info| info.reason).unwrap_or_default()
}

fn change_status(command_id: &str, order_id: &str, status: pb::OrderStatus) -> pb::OrderCommand {
    pb::OrderCommand {
        command_id: command_id.into(),
        order_id: order_id.into(),
        actor: pb::Actor::System as i32,
        command: Some(pb::order_command::Command::ChangeStatus(pb::ChangeStatus {
            status: status as i32,
            carrier_status: String::new(),
            note: "geofence entered".into(),
            at: Some(timestamp(Utc::now())),
        })),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_works_and_refuses_bad_input_with_a_reason() {
    let mut grpc = TestGrpc::spawn("rpcs").await;
    let created = grpc.client.create_order(create_request("G-1")).await.unwrap().into_inner();
    assert!(!created.tracking_token.is_empty());
    let order = created.order.unwrap().order.unwrap();
    let id = order.id.clone();
    assert_eq!((order.status, order.version, order.store_id.as_str()), (pb::OrderStatus::Created as i32, 1, "shop-a"));

    let status =
        grpc.client.get_order_status(proto::GetOrderRequest { order_id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(status.status, pb::OrderStatus::Created as i32);

    let assigned = grpc
        .client
        .assign_courier(proto::AssignCourierRequest {
            order_id: id.clone(),
            courier_id: "c-1".into(),
            expected_version: Some(1),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(assigned.order.unwrap().courier_id, "c-1");
    let moved = grpc
        .client
        .update_order_status(proto::UpdateOrderStatusRequest {
            order_id: id.clone(),
            status: pb::OrderStatus::PickedUp as i32,
            note: "handed over".into(),
            expected_version: None,
            actor: pb::Actor::Courier as i32,
            carrier_status: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.timeline.last().unwrap().actor, pb::Actor::Courier as i32);

    let too_late = grpc
        .client
        .cancel_order(proto::CancelOrderRequest { order_id: id.clone(), reason: "no".into(), actor: 0 })
        .await
        .unwrap_err();
    assert_eq!((too_late.code(), reason(&too_late).as_str()), (Code::FailedPrecondition, "too_late_to_cancel"));

    let estimate =
        grpc.client.estimate_delivery(proto::GetOrderRequest { order_id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(estimate.eta.unwrap().source, pb::EtaSource::Estimate as i32);

    let listed = grpc
        .client
        .get_orders(proto::GetOrdersRequest { courier_id: "c-1".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.orders.len(), 1);
    let courier_orders = grpc
        .client
        .list_courier_orders(proto::ListCourierOrdersRequest {
            courier_id: "c-1".into(),
            include_finished: false,
            store_id: "shop-a".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(courier_orders.orders[0].id, id);
    let notified = grpc
        .client
        .notify_customer(proto::NotifyCustomerRequest { order_id: id.clone(), message: "soon".into() })
        .await
        .unwrap()
        .into_inner();
    assert!(!notified.notification_id.is_empty());

    let unknown_courier = grpc
        .client
        .get_courier_location(proto::GetCourierLocationRequest {
            courier_id: "c-404".into(),
            store_id: "shop-a".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (unknown_courier.code(), reason(&unknown_courier).as_str()),
        (Code::NotFound, "courier_location_unknown")
    );
    let missing = grpc
        .client
        .get_order(proto::GetOrderRequest { order_id: "0190a6b2-0000-7000-8000-000000000000".into() })
        .await
        .unwrap_err();
    assert_eq!((missing.code(), reason(&missing).as_str()), (Code::NotFound, "order_not_found"));
    let malformed = grpc.client.get_order(proto::GetOrderRequest { order_id: "nope".into() }).await.unwrap_err();
    assert_eq!((malformed.code(), reason(&malformed).as_str()), (Code::InvalidArgument, "invalid_order_id"));
    let conflict = grpc
        .client
        .assign_courier(proto::AssignCourierRequest {
            order_id: id.clone(),
            courier_id: "c-2".into(),
            expected_version: Some(1),
        })
        .await
        .unwrap_err();
    assert_eq!((conflict.code(), reason(&conflict).as_str()), (Code::Aborted, "version_conflict"));

    let mut bad = create_request("G-2");
    bad.destination.as_mut().unwrap().point.as_mut().unwrap().lat = 123.0;
    let invalid = grpc.client.create_order(bad).await.unwrap_err();
    assert_eq!((invalid.code(), reason(&invalid).as_str()), (Code::InvalidArgument, "validation_failed"));
    let violations = invalid.get_details_bad_request().unwrap().field_violations;
    assert_eq!(violations[0].field, "destination.point.lat");
    let mut no_customer = create_request("G-3");
    no_customer.customer = None;
    assert_eq!(
        grpc.client.create_order(no_customer).await.unwrap_err().get_details_bad_request().unwrap().field_violations[0]
            .field,
        "customer"
    );
    let duplicate = grpc.client.create_order(create_request("G-1")).await.unwrap_err();
    assert_eq!((duplicate.code(), reason(&duplicate).as_str()), (Code::AlreadyExists, "duplicate_store_order_number"));
    // A timestamp protobuf does not allow is refused, naming the field, not read as absent.
    for (seconds, nanos) in [(1_700_000_000, -1), (1_700_000_000, 1_000_000_000), (-62_135_596_801, 0)] {
        let request = proto::GetOrdersRequest {
            created_from: Some(prost_types::Timestamp { seconds, nanos }),
            ..Default::default()
        };
        let refused = grpc.client.get_orders(request).await.unwrap_err();
        assert_eq!((refused.code(), reason(&refused).as_str()), (Code::InvalidArgument, "validation_failed"));
        let violation = &refused.get_details_bad_request().unwrap().field_violations[0];
        assert_eq!(violation.field, "created_from", "{seconds} s {nanos} ns");
    }
    let bad_status = grpc
        .client
        .update_order_status(proto::UpdateOrderStatusRequest { order_id: id.clone(), status: 99, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(bad_status.code(), Code::InvalidArgument);

    // Without a key, or with a wrong one: refused.
    let mut anonymous = OrderServiceClient::new(channel(&grpc.ca, grpc.port).await);
    let refused = anonymous.get_order(proto::GetOrderRequest { order_id: id.clone() }).await.unwrap_err();
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::Unauthenticated, "missing_api_key"));
    let mut request = Request::new(proto::GetOrderRequest { order_id: id.clone() });
    request.metadata_mut().insert("authorization", "Bearer wrong-key-0123456789".parse().unwrap());
    let wrong = anonymous.get_order(request).await.unwrap_err();
    assert_eq!((wrong.code(), reason(&wrong).as_str()), (Code::Unauthenticated, "invalid_api_key"));
    grpc.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_creates_return_the_first_order() {
    let mut grpc = TestGrpc::spawn("grpc_idempotency").await;
    let mut request = create_request("GI-1");
    request.idempotency_key = "retry-1".into();
    let first = grpc.client.create_order(request.clone()).await.unwrap().into_inner();
    let second = grpc.client.create_order(request.clone()).await.unwrap().into_inner();
    assert!(!first.replayed && second.replayed);
    assert_eq!(first.order.unwrap().order.unwrap().id, second.order.unwrap().order.unwrap().id);
    assert_eq!(first.tracking_token, second.tracking_token);
    request.store_order_number = "GI-2".into();
    let reused = grpc.client.create_order(request).await.unwrap_err();
    assert_eq!(reason(&reused), "idempotency_key_reused");
    grpc.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_are_applied_once_and_refusals_are_recorded_not_fatal() {
    let mut grpc = TestGrpc::spawn("commands").await;
    let id = grpc.create("CM-1").await.id;
    grpc.client
        .assign_courier(proto::AssignCourierRequest {
            order_id: id.clone(),
            courier_id: "c-1".into(),
            expected_version: None,
        })
        .await
        .unwrap();

    // A command delivered twice (as after a tracker restart) is applied once.
    let pickup = change_status("cmd-pickup", &id, pb::OrderStatus::PickedUp);
    grpc.send_command(pickup.clone()).await;
    grpc.send_command(pickup).await;
    // Refused by the status machine: recorded, and the consumer goes on.
    grpc.send_command(change_status("cmd-back", &id, pb::OrderStatus::Created)).await;
    // Undecodable: to the dead-letter topic, and the consumer goes on.
    grpc.publish(Topic::OrderCommands, &id, b"not protobuf at all".to_vec()).await;
    grpc.send_command(change_status("cmd-arriving", &id, pb::OrderStatus::Arriving)).await;
    let mut eta_command = change_status("cmd-eta", &id, pb::OrderStatus::Arriving);
    let at = Utc::now() + chrono::Duration::minutes(7);
    eta_command.command = Some(pb::order_command::Command::SetEta(pb::SetEta {
        eta: Some(pb::Eta {
            expected_at: Some(timestamp(at)),
            earliest: Some(timestamp(at - chrono::Duration::minutes(2))),
            latest: Some(timestamp(at + chrono::Duration::minutes(3))),
            source: pb::EtaSource::Tracker as i32,
            computed_at: Some(timestamp(Utc::now())),
        }),
    }));
    grpc.send_command(eta_command).await;

    let details = test_support::eventually("the ETA command was applied", Duration::from_secs(30), || {
        let mut client = grpc.client.clone();
        let id = id.clone();
        async move {
            let details = client.get_order(proto::GetOrderRequest { order_id: id }).await.ok()?.into_inner();
            details.order.as_ref()?.eta.is_some().then_some(details)
        }
    })
    .await;
    let order = details.order.unwrap();
    assert_eq!(order.status, pb::OrderStatus::Arriving as i32);
    // created 1, assigned 2, picked up 3, arriving 4, eta 5.
    assert_eq!(order.version, 5, "the duplicate was not applied again");
    let statuses: Vec<i32> = details.timeline.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [1, 2, 4, 6]);
    assert_eq!(details.timeline[2].note, "geofence entered");

    let mut conn = platform::postgres::connect_once(&grpc.postgres_url).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Outcome {
        #[diesel(sql_type = diesel::sql_types::Text)]
        command_id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        outcome: String,
    }
    use diesel_async::RunQueryDsl;
    let outcomes: Vec<Outcome> =
        diesel::sql_query("SELECT command_id, outcome FROM processed_commands ORDER BY processed_at")
            .load(&mut conn)
            .await
            .unwrap();
    let outcomes: Vec<(String, String)> = outcomes.into_iter().map(|o| (o.command_id, o.outcome)).collect();
    assert_eq!(
        outcomes,
        [("cmd-pickup", "applied"), ("cmd-back", "rejected"), ("cmd-arriving", "applied"), ("cmd-eta", "applied")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );

    let dlq_name = Topic::OrderCommands.dlq_with_prefix(&grpc.kafka.topic_prefix);
    let dlq = platform::kafka::consumer(&grpc.kafka, &test_support::unique_name("dlq"), &[dlq_name]).unwrap();
    let dead = tokio::time::timeout(Duration::from_secs(30), dlq.recv()).await.unwrap().unwrap();
    use rdkafka::message::Message as _;
    assert_eq!(dead.payload(), Some(b"not protobuf at all".as_slice()));
    grpc.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn track_order_streams_changes_and_positions_until_the_order_is_final() {
    let mut grpc = TestGrpc::spawn("stream").await;
    let id = grpc.create("ST-1").await.id;
    grpc.client
        .assign_courier(proto::AssignCourierRequest {
            order_id: id.clone(),
            courier_id: "c-5".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    let mut stream =
        grpc.client.track_order(proto::GetOrderRequest { order_id: id.clone() }).await.unwrap().into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap().unwrap();
    let Some(Update::Snapshot(snapshot)) = first.update else { panic!("{first:?}") };
    assert_eq!(snapshot.order.unwrap().version, 2);

    // The track feed starts from the latest offset: give its consumer a moment to join.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let batch = pb::CourierLocations {
        courier_id: "c-5".into(),
        store_id: "shop-a".into(),
        positions: vec![pb::Position {
            lat: 55.71,
            lon: 37.59,
            recorded_at: Some(timestamp(Utc::now())),
            accuracy_m: 4.0,
            speed_mps: Some(7.0),
            heading_deg: Some(10.0),
        }],
    };
    let envelope = Envelope::new("courier-tracker", timestamp(Utc::now()), Payload::CourierLocations(batch));
    grpc.publish(Topic::CourierLocations, "shop-a/c-5", envelope.encode_to_vec()).await;
    let moved = tokio::time::timeout(Duration::from_secs(20), stream.next()).await.unwrap().unwrap().unwrap();
    let Some(Update::CourierPosition(position)) = moved.update else { panic!("{moved:?}") };
    assert_eq!(position.lat, 55.71);

    for status in [pb::OrderStatus::PickedUp, pb::OrderStatus::Delivered] {
        grpc.client
            .update_order_status(proto::UpdateOrderStatusRequest {
                order_id: id.clone(),
                status: status as i32,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let mut versions = Vec::new();
    while let Some(update) = tokio::time::timeout(Duration::from_secs(20), stream.next()).await.unwrap() {
        match update.unwrap().update {
            Some(Update::OrderUpdated(updated)) => versions.push(updated.order.unwrap().version),
            Some(Update::CourierPosition(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(versions, [3, 4], "then the stream ended with the final status");

    // The courier_locations consumer kept the position for GetCourierLocation.
    let location = test_support::eventually("position recorded", Duration::from_secs(20), || {
        let mut client = grpc.client.clone();
        async move {
            let request = proto::GetCourierLocationRequest { courier_id: "c-5".into(), store_id: "shop-a".into() };
            client.get_courier_location(request).await.ok()
        }
    })
    .await;
    assert_eq!(location.into_inner().position.unwrap().lon, 37.59);
    grpc.stop().await;
}

/// A batch of one position of `store`'s courier, as the tracker publishes it.
async fn publish_position(grpc: &TestGrpc, store: &str, courier: &str, lat: f64) {
    let batch = pb::CourierLocations {
        courier_id: courier.into(),
        store_id: store.into(),
        positions: vec![pb::Position {
            lat,
            lon: 37.59,
            recorded_at: Some(timestamp(Utc::now())),
            accuracy_m: 4.0,
            speed_mps: None,
            heading_deg: None,
        }],
    };
    let envelope = Envelope::new("courier-tracker", timestamp(Utc::now()), Payload::CourierLocations(batch));
    grpc.publish(Topic::CourierLocations, &format!("{store}/{courier}"), envelope.encode_to_vec()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_courier_id_names_one_courier_per_store() {
    // Couriers belong to stores: shop-a's "c-7" and shop-b's "c-7" are two couriers, each
    // seen only with its own store, each moving only its own store's order.
    let mut grpc = TestGrpc::spawn("per_store").await;
    let ours = grpc.create("PS-1").await.id;
    let mut theirs = create_request("PS-2");
    theirs.store_id = "shop-b".into();
    let theirs = grpc.client.create_order(theirs).await.unwrap().into_inner().order.unwrap().order.unwrap().id;
    for order_id in [&ours, &theirs] {
        let assign = proto::AssignCourierRequest {
            order_id: order_id.clone(),
            courier_id: "c-7".into(),
            expected_version: None,
        };
        grpc.client.assign_courier(assign).await.unwrap();
    }
    let mut stream =
        grpc.client.track_order(proto::GetOrderRequest { order_id: ours.clone() }).await.unwrap().into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap().unwrap();
    assert!(matches!(first.update, Some(Update::Snapshot(_))), "{first:?}");
    tokio::time::sleep(Duration::from_secs(3)).await; // the track feed joins at the latest offset

    publish_position(&grpc, "shop-b", "c-7", 55.60).await;
    publish_position(&grpc, "shop-a", "c-7", 55.71).await;
    let location = |store: &'static str| {
        let mut client = grpc.client.clone();
        async move {
            let request = proto::GetCourierLocationRequest { courier_id: "c-7".into(), store_id: store.into() };
            client.get_courier_location(request).await
        }
    };
    for (store, lat) in [("shop-a", 55.71), ("shop-b", 55.60)] {
        let found = test_support::eventually("each store's courier located", Duration::from_secs(20), || async {
            location(store).await.ok()
        })
        .await
        .into_inner();
        assert_eq!((found.store_id.as_str(), found.courier_id.as_str()), (store, "c-7"));
        assert_eq!(found.position.unwrap().lat, lat, "{store}'s c-7 is where it reported, not the other");
    }
    let nobody = location("shop-c").await.unwrap_err();
    assert_eq!((nobody.code(), reason(&nobody).as_str()), (Code::NotFound, "courier_location_unknown"));

    // The stream of shop-a's order shows shop-a's c-7 only.
    let mut seen = Vec::new();
    while let Ok(Some(update)) = tokio::time::timeout(Duration::from_secs(4), stream.next()).await {
        if let Some(Update::CourierPosition(position)) = update.unwrap().update {
            seen.push(position.lat);
        }
    }
    assert_eq!(seen, [55.71], "only our courier's position reached our order's stream");

    // A courier's orders are its store's.
    for (store, order) in [("shop-a", &ours), ("shop-b", &theirs)] {
        let request = proto::ListCourierOrdersRequest {
            courier_id: "c-7".into(),
            include_finished: true,
            store_id: store.into(),
        };
        let listed = grpc.client.list_courier_orders(request).await.unwrap().into_inner();
        let ids: Vec<&str> = listed.orders.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, [order.as_str()], "{store}");
    }
    // Without a store a courier id names nobody: refused, naming the field.
    let request = proto::ListCourierOrdersRequest { courier_id: "c-7".into(), ..Default::default() };
    let refused = grpc.client.list_courier_orders(request).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(refused.get_details_bad_request().unwrap().field_violations[0].field, "store_id");
    let refused = grpc
        .client
        .get_courier_location(proto::GetCourierLocationRequest { courier_id: "c-7".into(), store_id: String::new() })
        .await
        .unwrap_err();
    assert_eq!(refused.get_details_bad_request().unwrap().field_violations[0].field, "store_id");
    grpc.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_lists_the_order_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let grpc = TestGrpc::spawn("reflection").await;
    let mut client = ServerReflectionClient::new(channel(&grpc.ca, grpc.port).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client.server_reflection_info(futures::stream::iter([request])).await.unwrap().into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else { panic!() };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"ordertrack.orders.v1.OrderService".to_owned()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_owned()), "{names:?}");
    grpc.stop().await;
}
