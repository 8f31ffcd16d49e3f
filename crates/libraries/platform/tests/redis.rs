//! Redis plumbing against the real server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use deadpool_redis::redis::AsyncCommands;
use platform::redis;
use test_support::TcpProxy;

#[tokio::test(flavor = "multi_thread")]
async fn values_round_trip_under_the_key_prefix() {
    let config = test_support::redis_config("roundtrip");
    let pool = redis::pool(&config).unwrap();
    let mut conn = pool.get().await.unwrap();
    let key = config.key("order:1");
    assert!(key.starts_with(&config.key_prefix));
    let () = conn.set_ex(&key, "snapshot", 60).await.unwrap();
    let value: Option<String> = conn.get(&key).await.unwrap();
    assert_eq!(value.as_deref(), Some("snapshot"));
    let ttl: i64 = conn.ttl(&key).await.unwrap();
    assert!((1..=60).contains(&ttl));
    let () = conn.del(&key).await.unwrap();
    let value: Option<String> = conn.get(&key).await.unwrap();
    assert_eq!(value, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_fails_while_redis_is_unreachable_and_recovers() {
    let upstream = test_support::address_of(&test_support::redis_url());
    let proxy = TcpProxy::start(&upstream).await;
    let mut config = test_support::redis_config("ping");
    config.url = platform::Secret::new(test_support::with_address(&test_support::redis_url(), &proxy.address()));
    let pool = redis::pool(&config).unwrap();
    redis::ping(&pool, config.timeout()).await.unwrap();

    proxy.cut().await;
    assert!(redis::ping(&pool, config.timeout()).await.is_err());

    proxy.restore();
    test_support::eventually("redis answers again", std::time::Duration::from_secs(10), || async {
        redis::ping(&pool, config.timeout()).await.ok()
    })
    .await;
}
