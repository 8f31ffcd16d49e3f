//! Every order operation over REST, with its error paths, against real servers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{KEY_A, KEY_B, TICKET_SECRET, TestApp, cdek_order_body, order_body};
use domain::events::envelope::Payload;
use domain::ids::CourierKey;
use domain::position::Position;
use domain::topics::Topic;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn create_then_get_returns_the_order_and_publishes_order_created() {
    let app = TestApp::spawn("create").await;
    let response = app.post("/orders", KEY_A, &order_body("A-1")).await;
    assert_eq!(response.status, 201, "{}", response.body);
    let order = &response.body;
    let id = order["id"].as_str().unwrap();
    assert_eq!(response.headers["location"], format!("/orders/{id}").as_str());
    assert_eq!(order["status"], "created");
    assert_eq!(order["version"], 1);
    assert_eq!(order["customer"]["phone"], "+79161234567", "normalised");
    assert_eq!(order["timeline"][0]["status"], "created");
    assert_eq!(order["timeline"][0]["actor"], "storefront");
    let token = order["tracking"]["token"].as_str().unwrap();
    assert_eq!(order["tracking"]["url"], format!("http://tracking.test/track/{token}").as_str());

    let fetched = app.get(&format!("/orders/{id}"), KEY_A).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["id"], id);
    assert!(fetched.body.get("tracking").is_none(), "the token is shown only once");

    let events = common::events(&app.config.kafka, Topic::OrderCreated, 1, Duration::from_secs(20)).await;
    let Some(Payload::OrderCreated(created)) = &events[0].payload else { panic!("{events:?}") };
    let event_order = created.order.as_ref().unwrap();
    assert_eq!(event_order.id, id);
    assert_eq!(event_order.store_id, "shop-a");
    assert_eq!(event_order.version, 1);
    assert_eq!(events[0].event_type, "order_created");
    assert_eq!(events[0].producer, "order-api");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_filters_and_pages() {
    let app = TestApp::spawn("list").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.create(&format!("L-{n}")).await["id"].as_str().unwrap().to_owned());
    }
    app.post("/orders", KEY_B, &order_body("B-1")).await;
    app.post(&format!("/orders/{}/assign-courier", ids[1]), KEY_A, &json!({ "courier_id": "c-7" })).await;

    let first = app.get("/orders?limit=2", KEY_A).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let page: Vec<&str> = first.body["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(page, [ids[4].as_str(), ids[3].as_str()], "newest first");
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("/orders?limit=2&cursor={cursor}"), KEY_A).await;
    let page: Vec<&str> = second.body["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(page, [ids[2].as_str(), ids[1].as_str()]);
    let third =
        app.get(&format!("/orders?limit=2&cursor={}", second.body["next_cursor"].as_str().unwrap()), KEY_A).await;
    assert_eq!(third.body["items"].as_array().unwrap().len(), 1);
    assert!(third.body["next_cursor"].is_null());

    let assigned = app.get("/orders?status=courier_assigned", KEY_A).await;
    assert_eq!(assigned.body["items"].as_array().unwrap().len(), 1);
    let by_courier = app.get("/orders?courier_id=c-7", KEY_A).await;
    assert_eq!(by_courier.body["items"][0]["id"], ids[1].as_str());
    let by_number = app.get("/orders?store_order_number=L-3", KEY_A).await;
    assert_eq!(by_number.body["items"][0]["id"], ids[3].as_str());
    let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let none = app.get(&format!("/orders?created_from={future}"), KEY_A).await;
    assert_eq!(none.body["items"].as_array().unwrap().len(), 0);
    let shop_b = app.get("/orders", KEY_B).await;
    assert_eq!(shop_b.body["items"].as_array().unwrap().len(), 1, "a store sees only its own orders");

    app.get("/orders?status=lost", KEY_A).await.expect_error(400, "validation_failed");
    app.get("/orders?limit=0", KEY_A).await.expect_error(400, "validation_failed");
    app.get("/orders?limit=abc", KEY_A).await.expect_error(400, "invalid_query");
    app.get("/orders?cursor=nope", KEY_A).await.expect_error(400, "validation_failed");
    app.get("/orders?created_from=yesterday", KEY_A).await.expect_error(400, "validation_failed");
    app.get("/orders?colour=red", KEY_A).await.expect_error(400, "invalid_query");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn status_moves_along_the_machine_and_refuses_illegal_moves() {
    let app = TestApp::spawn("status").await;
    let id = app.create("S-1").await["id"].as_str().unwrap().to_owned();
    let path = format!("/orders/{id}/status");

    let status = app.get(&path, KEY_A).await;
    assert_eq!((status.status, status.body["status"].as_str()), (200, Some("created")));

    app.patch(&path, KEY_A, &json!({ "status": "picked_up" })).await.expect_error(409, "illegal_transition");
    app.patch(&path, KEY_A, &json!({ "status": "courier_assigned" })).await.expect_error(409, "use_assign_courier");
    app.patch(&path, KEY_A, &json!({ "status": "handed_to_carrier" }))
        .await
        .expect_error(409, "not_for_delivery_method");
    app.patch(&path, KEY_A, &json!({ "status": "teleported" })).await.expect_error(400, "validation_failed");

    let assigned = app.post(&format!("/orders/{id}/assign-courier"), KEY_A, &json!({ "courier_id": "c-1" })).await;
    assert_eq!(assigned.body["status"], "courier_assigned");
    assert_eq!(assigned.body["version"], 2);
    app.patch(&path, KEY_A, &json!({ "status": "picked_up", "expected_version": 1 }))
        .await
        .expect_error(409, "version_conflict");
    let picked = app
        .patch(&path, KEY_A, &json!({ "status": "picked_up", "note": "at the warehouse", "expected_version": 2 }))
        .await;
    assert_eq!(picked.status, 200, "{}", picked.body);
    assert_eq!(picked.body["timeline"][2]["note"], "at the warehouse");
    let same = app.patch(&path, KEY_A, &json!({ "status": "picked_up" })).await;
    assert_eq!((same.status, same.body["version"].as_i64()), (200, Some(3)), "asking again changes nothing");
    app.patch(&path, KEY_A, &json!({ "status": "in_transit" })).await;
    let delivered = app.patch(&path, KEY_A, &json!({ "status": "delivered" })).await;
    assert_eq!(delivered.body["status"], "delivered");
    app.patch(&path, KEY_A, &json!({ "status": "returned" })).await.expect_error(409, "order_final");

    let now = app.get(&path, KEY_A).await;
    assert_eq!(now.body["since"]["status"], "delivered");
    assert_eq!(now.body["version"], 5);

    // created, assigned, picked up, in transit, delivered: five events after the create.
    let updates = common::events(&app.config.kafka, Topic::OrderUpdated, 4, Duration::from_secs(20)).await;
    let versions: Vec<i64> = updates
        .iter()
        .map(|e| match &e.payload {
            Some(Payload::OrderUpdated(u)) => u.order.as_ref().unwrap().version,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(versions, [2, 3, 4, 5]);
    common::assert_event_count(&app.config.kafka, Topic::OrderUpdated, 4).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_is_allowed_only_before_pickup() {
    let app = TestApp::spawn("cancel").await;
    let early = app.create("C-1").await["id"].as_str().unwrap().to_owned();
    let cancelled = app.delete(&format!("/orders/{early}?reason=customer%20changed%20their%20mind"), KEY_A).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["timeline"][1]["note"], "customer changed their mind");
    let again = app.delete(&format!("/orders/{early}"), KEY_A).await;
    assert_eq!((again.status, again.body["version"].as_i64()), (200, Some(2)), "cancelling twice changes nothing");
    app.patch(&format!("/orders/{early}/status"), KEY_A, &json!({ "status": "created" }))
        .await
        .expect_error(409, "order_final");

    let late = app.create_picked_up("C-2", "c-1").await["id"].as_str().unwrap().to_owned();
    app.delete(&format!("/orders/{late}"), KEY_A).await.expect_error(409, "too_late_to_cancel");
    assert_eq!(app.get(&format!("/orders/{late}"), KEY_A).await.body["status"], "picked_up", "nothing changed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn couriers_are_assigned_to_own_courier_orders_only() {
    let app = TestApp::spawn("assign").await;
    let id = app.create("A-1").await["id"].as_str().unwrap().to_owned();
    let path = format!("/orders/{id}/assign-courier");
    let first = app.post(&path, KEY_A, &json!({ "courier_id": "c-1" })).await;
    assert_eq!(
        (first.body["status"].as_str(), first.body["courier_id"].as_str()),
        (Some("courier_assigned"), Some("c-1"))
    );
    let second = app.post(&path, KEY_A, &json!({ "courier_id": "c-2" })).await;
    assert_eq!((second.body["courier_id"].as_str(), second.body["version"].as_i64()), (Some("c-2"), Some(3)));
    app.post(&path, KEY_A, &json!({ "courier_id": "no spaces" })).await.expect_error(400, "validation_failed");
    let missing = app.post(&path, KEY_A, &json!({})).await;
    assert_eq!(missing.expect_error(400, "validation_failed")["field"], "courier_id");

    let cdek = app.post("/orders", KEY_A, &cdek_order_body("A-2")).await.body["id"].as_str().unwrap().to_owned();
    app.post(&format!("/orders/{cdek}/assign-courier"), KEY_A, &json!({ "courier_id": "c-1" }))
        .await
        .expect_error(409, "not_for_delivery_method");

    let updates = common::events(&app.config.kafka, Topic::OrderUpdated, 2, Duration::from_secs(20)).await;
    let Some(Payload::OrderUpdated(reassigned)) = &updates[1].payload else { panic!() };
    assert_eq!(reassigned.previous_courier_id, "c-1");
    assert!(reassigned.changed.contains(&"courier_id".to_owned()));
    assert!(reassigned.transition.is_none(), "a reassignment is not a status change");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delivery_time_is_estimated_until_a_live_eta_exists() {
    let app = TestApp::spawn("eta").await;
    let id = app.create("E-1").await["id"].as_str().unwrap().to_owned();
    let estimate = app.get(&format!("/orders/{id}/delivery-time"), KEY_A).await;
    assert_eq!(estimate.status, 200);
    let eta = &estimate.body["eta"];
    assert_eq!(eta["source"], "estimate");
    let expected = chrono::DateTime::parse_from_rfc3339(eta["expected_at"].as_str().unwrap()).unwrap();
    let minutes = (expected.with_timezone(&Utc) - Utc::now()).num_minutes();
    // 6.6 km great-circle * 1.35 at 20 km/h + 10 min handling ≈ 37 minutes.
    assert!((30..=45).contains(&minutes), "{minutes}");
    assert!(
        eta["earliest"].as_str() < eta["expected_at"].as_str() && eta["expected_at"].as_str() < eta["latest"].as_str()
    );

    let cdek = app.post("/orders", KEY_A, &cdek_order_body("E-2")).await.body["id"].as_str().unwrap().to_owned();
    assert!(app.get(&format!("/orders/{cdek}/delivery-time"), KEY_A).await.body["eta"].is_null());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_publishes_a_customer_notification() {
    let app = TestApp::spawn("notify").await;
    let id = app.create("N-1").await["id"].as_str().unwrap().to_owned();
    let sent = app.post(&format!("/orders/{id}/notify"), KEY_A, &json!({ "message": "Ring twice, please" })).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let events = common::events(&app.config.kafka, Topic::CustomerNotifications, 1, Duration::from_secs(20)).await;
    let Some(Payload::CustomerNotification(notification)) = &events[0].payload else { panic!() };
    assert_eq!(notification.order_id, id);
    assert_eq!(notification.message, "Ring twice, please");
    assert_eq!(notification.notification_id, sent.body["notification_id"].as_str().unwrap());

    let empty = app.post(&format!("/orders/{id}/notify"), KEY_A, &json!({ "message": "  " })).await;
    assert_eq!(empty.expect_error(400, "validation_failed")["field"], "message");
    let long = app.post(&format!("/orders/{id}/notify"), KEY_A, &json!({ "message": "x".repeat(1001) })).await;
    assert_eq!(long.expect_error(400, "validation_failed")["reason"], "too_long");
    app.post(&format!("/orders/{id}/notify"), KEY_B, &json!({ "message": "hi" }))
        .await
        .expect_error(404, "order_not_found");
    common::assert_event_count(&app.config.kafka, Topic::CustomerNotifications, 1).await;
    app.stop().await;
}

fn position(lat: f64, lon: f64, seconds_ago: i64) -> Position {
    Position {
        point: domain::geo::Coordinates::parse(lat, lon).unwrap(),
        recorded_at: Utc::now() - chrono::Duration::seconds(seconds_ago),
        accuracy_m: 5.0,
        speed_mps: Some(8.0),
        heading_deg: Some(45.0),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn track_shows_the_couriers_position_and_downsampled_path() {
    let app = TestApp::spawn("track").await;
    let id = app.create_picked_up("T-1", "c-9").await["id"].as_str().unwrap().to_owned();
    let store = app.store().await;
    let courier = CourierKey::parse("shop-a/c-9").unwrap();
    // 0.0001° of latitude is about 11 m: the second point is kept by time, the third
    // (1 s after the second, 1 m away) is dropped, the fourth is kept by distance.
    let batch = [
        position(55.7000, 37.58, 60),
        position(55.7000, 37.58, 50),
        position(55.70001, 37.58, 49),
        position(55.7010, 37.58, 40),
    ];
    store.record_positions(&courier, &batch).await.unwrap();
    store.record_positions(&courier, &batch).await.unwrap(); // a redelivered batch changes nothing

    let track = app.get(&format!("/orders/{id}/track"), KEY_A).await;
    assert_eq!(track.status, 200, "{}", track.body);
    assert_eq!(track.body["courier_id"], "c-9");
    assert_eq!(track.body["courier_position"]["lat"], 55.7010);
    assert_eq!(track.body["path"].as_array().unwrap().len(), 3, "{}", track.body["path"]);
    assert_eq!(track.body["timeline"].as_array().unwrap().len(), 3);

    let location = app.get("/couriers/c-9/location", KEY_A).await;
    assert_eq!((location.status, location.body["lat"].as_f64()), (200, Some(55.7010)));
    app.get("/couriers/c-9/location", KEY_B).await.expect_error(404, "courier_location_unknown");
    app.get("/couriers/c-unknown/location", KEY_A).await.expect_error(404, "courier_location_unknown");
    app.get("/couriers/bad%20id/location", KEY_A).await.expect_error(400, "invalid_courier_id");

    let orders = app.get("/couriers/c-9/orders", KEY_A).await;
    assert_eq!(orders.body["items"][0]["id"], id.as_str());
    assert_eq!(app.get("/couriers/c-9/orders", KEY_B).await.body["items"].as_array().unwrap().len(), 0);
    app.patch(&format!("/orders/{id}/status"), KEY_A, &json!({ "status": "delivered" })).await;
    assert_eq!(app.get("/couriers/c-9/orders", KEY_A).await.body["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.get("/couriers/c-9/orders?active_only=false", KEY_A).await.body["items"].as_array().unwrap().len(),
        1
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_sees_its_own_courier_of_an_id_never_another_stores() {
    // The attack of issue 22: shop B assigns shop A's courier id to an order of its own
    // and asks where that courier is. Couriers belong to stores, so shop B names its own
    // "c-7", and shop A's c-7 stays out of everything shop B (and its tracking link) sees.
    let app = TestApp::spawn("per-store").await;
    let ours = app.create_picked_up("PS-1", "c-7").await["id"].as_str().unwrap().to_owned();
    let created_b = app.post("/orders", KEY_B, &order_body("PS-1")).await;
    assert_eq!(created_b.status, 201, "{}", created_b.body);
    let theirs = created_b.body["id"].as_str().unwrap().to_owned();
    let link_b = created_b.body["tracking"]["token"].as_str().unwrap().to_owned();
    let assigned = app.post(&format!("/orders/{theirs}/assign-courier"), KEY_B, &json!({ "courier_id": "c-7" })).await;
    assert_eq!(assigned.status, 200, "{}", assigned.body);

    // Before shop B's c-7 reports anything, shop B learns nothing of shop A's c-7.
    let store = app.store().await;
    store.record_positions(&CourierKey::parse("shop-a/c-7").unwrap(), &[position(55.7100, 37.58, 30)]).await.unwrap();
    app.get("/couriers/c-7/location", KEY_B).await.expect_error(404, "courier_location_unknown");
    let track_b = app.get(&format!("/orders/{theirs}/track"), KEY_B).await;
    assert!(track_b.body["courier_position"].is_null(), "{}", track_b.body);
    assert_eq!(track_b.body["path"].as_array().unwrap().len(), 0, "{}", track_b.body);
    let public = app.call(reqwest::Method::GET, &format!("/track/{link_b}"), None, None).await;
    assert_eq!(public.status, 200, "{}", public.body);
    assert!(public.body["order"].is_object(), "{}", public.body);
    assert!(public.body["order"]["courier_position"].is_null(), "the tracking link shows no other store's courier");
    assert_eq!(public.body["order"]["path"].as_array().map(Vec::len), Some(0), "{}", public.body);

    // Each store's c-7 reports; each store sees its own, in location, track and link.
    store.record_positions(&CourierKey::parse("shop-b/c-7").unwrap(), &[position(55.6000, 37.58, 20)]).await.unwrap();
    store.record_positions(&CourierKey::parse("shop-a/c-7").unwrap(), &[position(55.7200, 37.58, 10)]).await.unwrap();
    for (key, order, lat) in [(KEY_A, &ours, 55.7200), (KEY_B, &theirs, 55.6000)] {
        let location = app.get("/couriers/c-7/location", key).await;
        assert_eq!((location.status, location.body["lat"].as_f64()), (200, Some(lat)), "{}", location.body);
        let track = app.get(&format!("/orders/{order}/track"), key).await;
        assert_eq!(track.body["courier_position"]["lat"].as_f64(), Some(lat), "{}", track.body);
        let path: Vec<f64> =
            track.body["path"].as_array().unwrap().iter().map(|p| p["lat"].as_f64().unwrap()).collect();
        assert!(path.iter().all(|p| (p - lat).abs() < 0.02), "only its own courier's points: {path:?}");
        let listed = app.get("/couriers/c-7/orders?active_only=false", key).await;
        let ids: Vec<&str> =
            listed.body["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [order.as_str()]);
    }
    let public = app.call(reqwest::Method::GET, &format!("/track/{link_b}"), None, None).await;
    assert_eq!(public.body["order"]["courier_position"]["lat"].as_f64(), Some(55.6000), "{}", public.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn many_couriers_batches_recorded_at_once_give_the_same_paths_as_one_by_one() {
    let app = TestApp::spawn("track-many").await;
    let one = app.create_picked_up("M-1", "c-one").await["id"].as_str().unwrap().to_owned();
    let two = app.create_picked_up("M-2", "c-two").await["id"].as_str().unwrap().to_owned();
    let store = app.store().await;
    let (c_one, c_two, idle) = (
        CourierKey::parse("shop-a/c-one").unwrap(),
        CourierKey::parse("shop-a/c-two").unwrap(),
        CourierKey::parse("shop-a/c-idle").unwrap(),
    );
    // c-one's two batches in one call: the second is thinned against the first's last
    // point (kept, dropped by 1 m and 1 s, kept by distance); c-two's older point comes
    // after its newer one and neither moves its position back nor enters its path twice.
    let batches = vec![
        (c_one.clone(), vec![position(55.7000, 37.58, 60), position(55.7000, 37.58, 50)]),
        (c_two.clone(), vec![position(55.8000, 37.60, 30)]),
        (idle.clone(), vec![position(55.9000, 37.70, 10)]),
        (c_one.clone(), vec![position(55.70001, 37.58, 49), position(55.7010, 37.58, 40)]),
        (c_two.clone(), vec![position(55.8100, 37.60, 45)]),
    ];
    store.record_many_positions(&batches).await.unwrap();
    store.record_many_positions(&batches).await.unwrap(); // a redelivered batch changes nothing

    let track = app.get(&format!("/orders/{one}/track"), KEY_A).await;
    assert_eq!(track.body["courier_position"]["lat"], 55.7010, "{}", track.body);
    assert_eq!(track.body["path"].as_array().unwrap().len(), 3, "{}", track.body["path"]);
    let track = app.get(&format!("/orders/{two}/track"), KEY_A).await;
    assert_eq!(track.body["courier_position"]["lat"], 55.8000, "{}", track.body);
    assert_eq!(track.body["path"].as_array().unwrap().len(), 1, "{}", track.body["path"]);
    // A courier with no active order gets a position and no path.
    let location = app.get("/couriers/c-idle/location", KEY_A).await;
    assert_eq!(location.status, 404, "no order of this store: {}", location.body);
    store.record_many_positions(&[]).await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tracking_link_shows_no_personal_data_and_hands_out_a_ticket() {
    let app = TestApp::spawn("public").await;
    let created = app.create_picked_up("P-1", "c-3").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let order = app.create("P-2").await;
    let token = order["tracking"]["token"].as_str().unwrap();

    let public = app.call(reqwest::Method::GET, &format!("/track/{token}"), None, None).await;
    assert_eq!(public.status, 200, "{}", public.body);
    assert_eq!(public.headers["cache-control"], "no-store");
    let text = public.body.to_string();
    for personal in ["Anna", "Petrova", "9161234567", "anna@", "Tverskaya", "Warehouse", "P-2"] {
        assert!(!text.contains(personal), "{personal} leaked: {text}");
    }
    assert_eq!(public.body["order"]["status"], "created");
    assert_eq!(public.body["order"]["destination"]["lat"], 55.7575);
    assert_eq!(public.body["live"]["url"], "ws://live.test/ws");
    let ticket = public.body["live"]["ticket"].as_str().unwrap();
    let (opened, _) = domain::ticket::verify(TICKET_SECRET.as_bytes(), ticket, Utc::now()).unwrap();
    assert_eq!(opened.to_string(), order["id"].as_str().unwrap());
    assert_ne!(opened.to_string(), id);

    let missing = app.call(reqwest::Method::GET, &format!("/track/{}", "A".repeat(43)), None, None).await;
    missing.expect_error(404, "tracking_link_not_found");
    app.call(reqwest::Method::GET, "/track/short", None, None).await.expect_error(404, "tracking_link_not_found");

    // A final order's link expires after the retention period.
    let delivered_token = app.create("P-3").await["tracking"]["token"].as_str().unwrap().to_owned();
    let mut conn = platform::postgres::connect_once(app.config.postgres.url.expose()).await.unwrap();
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "UPDATE orders SET tracking_expires_at = now() - interval '1 minute' WHERE store_order_number = 'P-3'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    app.call(reqwest::Method::GET, &format!("/track/{delivered_token}"), None, None)
        .await
        .expect_error(410, "tracking_link_expired");
    app.stop().await;
}

/// The pages' security headers: they load only their own files, the tile server's
/// images and the notifier's socket (the browser tests show the pages work under it); no
/// other site may frame them (the ops map asks for a key), and the tracking page's path
/// (with its token) is never sent on as a referrer.
fn assert_page_is_not_framed_and_keeps_its_path_to_itself(page: &reqwest::Response) {
    let header = |name: &str| page.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(
        header("content-security-policy"),
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https://tile.openstreetmap.org; \
         connect-src 'self' ws://live.test; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "strict-origin");
    assert_eq!(header("x-content-type-options"), "nosniff");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_opening_the_link_gets_the_page_and_its_files_come_from_order_api() {
    let app = TestApp::spawn("page").await;
    let token = app.create("W-1").await["tracking"]["token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let get = |path: String, accept: &'static str| {
        let client = client.clone();
        let url = format!("{}{path}", app.base);
        async move { client.get(url).header("Accept", accept).send().await.unwrap() }
    };
    let page = get(format!("/track/{token}"), "text/html,application/xhtml+xml,*/*;q=0.8").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(page.headers()["vary"], "Accept");
    assert_page_is_not_framed_and_keeps_its_path_to_itself(&page);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<meta name="ordertrack-tiles" content="https://tile.openstreetmap.org/{z}/{x}/{y}.png">"#)
    );
    assert!(html.contains("/web/vendor/leaflet/leaflet.js") && html.contains("/web/track.js"), "{html}");
    assert!(!html.contains("{{"), "every placeholder filled: {html}");
    // The same URL still answers API clients with JSON.
    let json = get(format!("/track/{token}"), "application/json").await;
    assert_eq!(json.status(), 200);
    assert!(json.json::<Value>().await.unwrap()["live"]["ticket"].is_string());
    // Leaflet (from npm, pinned) and the page's own files, served here: no CDN.
    for (path, kind) in [
        ("/web/vendor/leaflet/leaflet.js", "javascript"),
        ("/web/vendor/leaflet/leaflet.css", "text/css"),
        ("/web/track.js", "javascript"),
        ("/web/common.js", "javascript"),
        ("/web/ops.js", "javascript"),
        ("/web/style.css", "text/css"),
    ] {
        let file = get(path.to_owned(), "*/*").await;
        assert_eq!(file.status(), 200, "{path}");
        assert!(file.headers()["content-type"].to_str().unwrap().contains(kind), "{path}");
    }
    assert_eq!(get("/web/../Cargo.toml".to_owned(), "*/*").await.status(), 404);
    // Every other answer carries the headers too: the API's JSON loads nothing, the API
    // docs (Swagger UI) load only files of this origin.
    for (path, policy) in [
        (format!("/track/{token}"), "default-src 'none'; frame-ancestors 'none'"),
        ("/docs/".to_owned(), "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'"),
        ("/docs/swagger-ui.css".to_owned(), "default-src 'none'; frame-ancestors 'none'"),
    ] {
        let answer = get(path.clone(), "*/*").await;
        assert_eq!(answer.status(), 200, "{path}");
        let header = |name: &str| answer.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        assert!(
            header("content-security-policy").is_some_and(|csp| csp.starts_with(policy)),
            "{path}: {:?}",
            answer.headers()
        );
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"), "{path}");
    }
    // The ops map: a page without data, pointed at the notifier's ops socket.
    let ops = get("/ops".to_owned(), "text/html").await;
    assert_eq!(ops.status(), 200);
    assert_page_is_not_framed_and_keeps_its_path_to_itself(&ops);
    let html = ops.text().await.unwrap();
    assert!(html.contains(r#"<meta name="ordertrack-ops-socket" content="ws://live.test/ws/ops">"#), "{html}");
    assert!(html.contains("/web/ops.js") && !html.contains("{{"), "{html}");
    app.stop().await;
}
