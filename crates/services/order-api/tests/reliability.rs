//! The promises around the writes: idempotency, exactly one event per change even
//! under concurrency, events surviving a relay that dies before publishing, per-order
//! event order with two relays, and a cache that is never stale, with or without Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Deps, KEY_A, TestApp, order_body};
use domain::events::envelope::Payload;
use domain::topics::Topic;
use serde_json::json;
use test_support::{PrivateBroker, TcpProxy};

#[tokio::test(flavor = "multi_thread")]
async fn the_same_idempotency_key_and_body_get_the_same_answer_and_one_order() {
    let app = TestApp::spawn("idempotency").await;
    let send = |body: serde_json::Value, key: &'static str| {
        let request = app
            .client
            .post(format!("{}/orders", app.base))
            .bearer_auth(KEY_A)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let replayed = response.headers().contains_key("idempotent-replayed");
            (response.status().as_u16(), replayed, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, replayed, first) = send(order_body("I-1"), "key-1").await;
    assert_eq!((status, replayed), (201, false), "{first}");
    // Same content, other key order: the same request.
    let mut reordered = serde_json::Map::new();
    for (k, v) in order_body("I-1").as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let (status, replayed, second) = send(serde_json::Value::Object(reordered), "key-1").await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(second, first, "the same response, tracking token included");

    let (status, _, other) = send(order_body("I-2"), "key-1").await;
    assert_eq!((status, other["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));

    // Racing retries with one key create one order.
    let racers = (0..8).map(|_| send(order_body("I-3"), "key-3"));
    let answers = futures::future::join_all(racers).await;
    let ids: BTreeSet<String> = answers
        .iter()
        .map(|(status, _, body)| {
            assert_eq!(*status, 201, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|(_, replayed, _)| !replayed).count(), 1);

    let bad = app
        .client
        .post(format!("{}/orders", app.base))
        .bearer_auth(KEY_A)
        .header("Idempotency-Key", "")
        .json(&order_body("I-4"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    common::assert_event_count(&app.config.kafka, Topic::OrderCreated, 2).await;
    app.stop().await;
}

/// Every text the orders database and the Redis cache hold (the idempotency keys'
/// saved responses, every order column as text, every cached value of this test's app).
async fn everything_at_rest(app: &TestApp) -> String {
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    let mut conn = platform::postgres::connect_once(app.config.postgres.url.expose()).await.unwrap();
    let mut all = String::new();
    for query in [
        "SELECT response_body::text AS text FROM idempotency_keys",
        "SELECT o::text AS text FROM orders o",
        "SELECT t::text AS text FROM order_timeline t",
        "SELECT payload::text AS text FROM outbox",
    ] {
        let rows: Vec<Text> = diesel::sql_query(query).load(&mut conn).await.unwrap();
        all.extend(rows.into_iter().map(|row| row.text + "\n"));
    }
    let redis = platform::redis::pool(&app.config.redis).unwrap();
    let mut redis = redis.get().await.unwrap();
    let keys: Vec<String> = deadpool_redis::redis::cmd("KEYS")
        .arg(format!("{}*", app.config.redis.key_prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the order's view is cached");
    for key in keys {
        let kind: String = deadpool_redis::redis::cmd("TYPE").arg(&key).query_async(&mut redis).await.unwrap();
        assert!(
            ["string", "hash", "set", "zset", "list"].contains(&kind.as_str()),
            "a Redis value of type {kind} at {key}: teach this scan to read it"
        );
        let read = match kind.as_str() {
            "string" => deadpool_redis::redis::cmd("GET").arg(&key).clone(),
            "hash" => deadpool_redis::redis::cmd("HGETALL").arg(&key).clone(),
            "set" => deadpool_redis::redis::cmd("SMEMBERS").arg(&key).clone(),
            "zset" => deadpool_redis::redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).clone(),
            _ => deadpool_redis::redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).clone(),
        };
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![read.query_async::<Vec<u8>>(&mut redis).await.unwrap()],
            _ => read.query_async(&mut redis).await.unwrap(),
        };
        all.extend(values.iter().map(|value| String::from_utf8_lossy(value).into_owned()));
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn no_live_tracking_link_is_kept_at_rest_and_idempotency_keys_expire() {
    let app = TestApp::spawn("at-rest").await;
    let create = |number: &str, key: &str| {
        app.client
            .post(format!("{}/orders", app.base))
            .bearer_auth(KEY_A)
            .header("Idempotency-Key", key)
            .json(&order_body(number))
            .send()
    };
    let first = create("R-1", "rest-1").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let token = first["tracking"]["token"].as_str().unwrap().to_owned();
    let id = first["id"].as_str().unwrap().to_owned();
    // Read it back, so its view is cached in Redis too.
    let read = app.get(&format!("/orders/{id}"), KEY_A).await;
    assert_eq!(read.status, 200, "{}", read.body);

    let at_rest = everything_at_rest(&app).await;
    assert!(at_rest.contains(&id), "the scan reads the order's rows");
    assert!(!at_rest.contains(&token), "a live tracking token at rest: {at_rest}");

    // The replay still answers with the working link.
    let replay = create("R-1", "rest-1").await.unwrap();
    assert!(replay.headers().contains_key("idempotent-replayed"));
    let replayed: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(replayed, first);
    let page = app.call(reqwest::Method::GET, &format!("/track/{token}"), None, None).await;
    assert_eq!(page.status, 200, "{}", page.body);

    // A day later the key is free: the same key with another request makes a new order,
    // where before it was refused as reused.
    let mut conn = platform::postgres::connect_once(app.config.postgres.url.expose()).await.unwrap();
    use diesel_async::RunQueryDsl;
    let age = diesel::sql_query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'");
    age.clone().execute(&mut conn).await.unwrap();
    let again = create("R-2", "rest-1").await.unwrap();
    assert_eq!(again.status(), 201);
    assert!(!again.headers().contains_key("idempotent-replayed"));

    // Expired keys are pruned (at start, then every few minutes) and counted.
    age.execute(&mut conn).await.unwrap();
    let other = TestApp::spawn_with(app.config.clone()).await;
    let pruned = test_support::eventually("the pruner deletes the expired key", Duration::from_secs(20), || async {
        let pruned = other.metric("ordertrack_idempotency_keys_pruned_total", &[]).await;
        (pruned >= 1.0).then_some(pruned)
    })
    .await;
    assert_eq!(pruned, 1.0);
    let left = diesel::sql_query("SELECT 1 FROM idempotency_keys").execute(&mut conn).await.unwrap();
    assert_eq!(left, 0);
    other.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn n_concurrent_creates_publish_exactly_n_order_created_events() {
    let app = TestApp::spawn("concurrent").await;
    const N: usize = 60;
    let bodies: Vec<_> = (0..N).map(|n| order_body(&format!("N-{n}"))).collect();
    let creates = bodies.iter().map(|body| app.post("/orders", KEY_A, body));
    let responses = futures::future::join_all(creates).await;
    let ids: BTreeSet<String> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), N);

    let events = common::events(&app.config.kafka, Topic::OrderCreated, N, Duration::from_secs(60)).await;
    let published: BTreeSet<String> = events
        .iter()
        .map(|e| match &e.payload {
            Some(Payload::OrderCreated(c)) => c.order.as_ref().unwrap().id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(published, ids);
    let event_ids: BTreeSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(event_ids.len(), N, "every event once");
    common::assert_event_count(&app.config.kafka, Topic::OrderCreated, N).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_committed_while_the_broker_is_down_are_published_by_the_next_relay() {
    let mut broker = PrivateBroker::start().await;
    let mut deps = Deps::fresh("relay_restart").await;
    deps.kafka = broker.configure(deps.kafka.clone());
    test_support::create_system_topics(&deps.kafka).await;
    let config = common::config(&deps);

    let first = TestApp::spawn_with(config.clone()).await;
    broker.kill();
    let mut ids = BTreeSet::new();
    for n in 0..5 {
        ids.insert(first.create(&format!("R-{n}")).await["id"].as_str().unwrap().to_owned());
    }
    // The relay could not publish; the service stops with the events only in Postgres.
    first.stop().await;

    broker.resume().await;
    let second = TestApp::spawn_with(config).await;
    let events = common::events(&deps.kafka, Topic::OrderCreated, 5, Duration::from_secs(60)).await;
    let published: BTreeSet<String> = events
        .iter()
        .map(|e| match &e.payload {
            Some(Payload::OrderCreated(c)) => c.order.as_ref().unwrap().id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(published, ids);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_relays_keep_each_orders_events_in_version_order() {
    let deps = Deps::fresh("two_relays").await;
    let one = TestApp::spawn_with(common::config(&deps)).await;
    let two = TestApp::spawn_with(common::config(&deps)).await;
    let id = one.create("O-1").await["id"].as_str().unwrap().to_owned();
    const CHANGES: usize = 30;
    for n in 0..CHANGES {
        let app = if n % 2 == 0 { &one } else { &two };
        let response =
            app.post(&format!("/orders/{id}/assign-courier"), KEY_A, &json!({ "courier_id": format!("c-{n}") })).await;
        assert_eq!(response.status, 200, "{}", response.body);
    }
    let updates = common::events(&deps.kafka, Topic::OrderUpdated, CHANGES, Duration::from_secs(60)).await;
    let versions: Vec<i64> = updates
        .iter()
        .map(|e| match &e.payload {
            Some(Payload::OrderUpdated(u)) => u.order.as_ref().unwrap().version,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(versions, (2..=(CHANGES as i64 + 1)).collect::<Vec<_>>());
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_come_from_the_cache_and_changes_invalidate_it() {
    let app = TestApp::spawn("cache").await;
    let id = app.create("CA-1").await["id"].as_str().unwrap().to_owned();
    let path = format!("/orders/{id}");
    assert_eq!(app.get(&path, KEY_A).await.body["status"], "created");
    let hits_before = app.metric("ordertrack_order_cache_events_total", &["outcome=\"hit\""]).await;
    assert_eq!(app.get(&path, KEY_A).await.body["status"], "created");
    assert_eq!(app.metric("ordertrack_order_cache_events_total", &["outcome=\"hit\""]).await, hits_before + 1.0);

    app.post(&format!("/orders/{id}/assign-courier"), KEY_A, &json!({ "courier_id": "c-1" })).await;
    let after = app.get(&path, KEY_A).await;
    assert_eq!((after.body["status"].as_str(), after.body["version"].as_i64()), (Some("courier_assigned"), Some(2)));
    // A slow reader that read version 1 cannot put it back over version 2.
    let store = app.store().await;
    let order_id = id.parse().unwrap();
    store.cache().fill(order_id, 1, "shop-a", br#"{"stale":true}"#).await;
    assert_eq!(app.get(&path, KEY_A).await.body["version"], 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_redis_stopped_reads_and_writes_still_succeed_and_nothing_stale_is_served_after() {
    let mut deps = Deps::fresh("redis_down").await;
    let upstream = test_support::address_of(&test_support::redis_url());
    let proxy = TcpProxy::start(&upstream).await;
    deps.redis.url = platform::Secret::new(test_support::with_address(&test_support::redis_url(), &proxy.address()));
    let app = TestApp::spawn_with(common::config(&deps)).await;
    let id = app.create("RD-1").await["id"].as_str().unwrap().to_owned();
    let path = format!("/orders/{id}");
    app.get(&path, KEY_A).await; // now cached at version 1

    proxy.cut().await;
    let changed = app.post(&format!("/orders/{id}/assign-courier"), KEY_A, &json!({ "courier_id": "c-1" })).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let read = app.get(&path, KEY_A).await;
    assert_eq!((read.status, read.body["version"].as_i64()), (200, Some(2)));
    let created = app.post("/orders", KEY_A, &order_body("RD-2")).await;
    assert_eq!(created.status, 201);
    assert!(app.metric("ordertrack_order_cache_events_total", &["outcome=\"error\""]).await >= 1.0);
    let ready = test_support::get_json(&format!("{}/readyz", app.base)).await;
    assert_eq!(
        (ready.0, ready.1["checks"]["postgres"].as_str()),
        (503, Some("ok")),
        "readiness names redis: {}",
        ready.1
    );

    proxy.restore();
    // Right after Redis returns, and later: never the version-1 view.
    for _ in 0..30 {
        assert_eq!(app.get(&path, KEY_A).await.body["version"], 2);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hits = app.metric("ordertrack_order_cache_events_total", &["outcome=\"hit\""]).await;
    assert_eq!(app.get(&path, KEY_A).await.body["version"], 2);
    assert!(
        app.metric("ordertrack_order_cache_events_total", &["outcome=\"hit\""]).await > hits,
        "the cache works again"
    );
    app.stop().await;
}
