//! PostgreSQL and Redis over TLS against the local servers (scripts/dev infra): the
//! servers refuse a client without TLS or without a password, and the client refuses a
//! server whose certificate its CA did not sign (docs/security.md, "PostgreSQL and Redis").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use deadpool_redis::redis;
use platform::Secret;
use platform::postgres::{self, PostgresConfig};

/// A CA certificate that signed nothing the local servers present.
const UNRELATED_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/unrelated-ca.crt");

/// The test cluster's admin URL with its query replaced by `query`.
fn postgres_url_with(query: &str) -> String {
    let url = test_support::postgres_admin_url();
    let base = url.split_once('?').map_or(url.as_str(), |(base, _)| base);
    format!("{base}?{query}")
}

#[tokio::test]
async fn postgres_answers_over_tls_checked_against_the_ca() {
    let mut conn = postgres::connect_once(&test_support::postgres_admin_url()).await.unwrap();
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let rows: Vec<Ssl> =
        diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").load(&mut conn).await.unwrap();
    assert!(rows.iter().all(|row| row.ssl) && rows.len() == 1, "the test connection is not encrypted");
}

#[tokio::test]
async fn postgres_refuses_a_connection_without_tls() {
    let error = postgres::connect_once(&postgres_url_with("sslmode=disable")).await.err().expect("a plain connection");
    let text = error.to_string();
    assert!(text.contains("no encryption"), "refused for another reason: {text}");
}

#[tokio::test]
async fn the_client_refuses_a_postgres_whose_certificate_its_ca_did_not_sign() {
    let url = postgres_url_with(&format!("sslmode=verify-full&sslrootcert={UNRELATED_CA}"));
    let error = postgres::connect_once(&url).await.err().expect("a server the CA did not sign");
    let text = error.to_string();
    assert!(text.contains("invalid peer certificate") && text.contains("UnknownIssuer"), "{text}");
    // The pool says so at start-up, naming the URL without its password.
    let config = PostgresConfig { url: Secret::new(url), ..test_support::postgres_config("x") };
    let error = postgres::connect(&config).await.err().expect("a pool to a server the CA did not sign").to_string();
    assert!(error.contains("UnknownIssuer") && !error.contains(":ordertrack@"), "{error}");
}

#[tokio::test]
async fn postgres_settings_that_would_fall_back_to_plaintext_fail_validation() {
    let config =
        PostgresConfig { url: Secret::new(postgres_url_with("sslmode=prefer")), ..test_support::postgres_config("x") };
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("postgres.url") && error.contains("sslmode=prefer"), "{error}");
}

async fn redis_ping(config: &platform::redis::RedisConfig) -> Result<(), String> {
    let pool = platform::redis::pool(config).map_err(|e| e.to_string())?;
    platform::redis::ping(&pool, config.timeout()).await
}

#[tokio::test]
async fn redis_answers_over_tls_and_refuses_plaintext() {
    let config = test_support::redis_config("tls");
    assert!(config.url.expose().starts_with("rediss://"), "the tests' Redis URL is not a TLS one");
    redis_ping(&config).await.unwrap();

    let mut plain = config.clone();
    plain.url = Secret::new(config.url.expose().replacen("rediss://", "redis://", 1));
    plain.ca_file = String::new();
    assert!(redis_ping(&plain).await.is_err(), "Redis answered a plaintext client");
}

#[tokio::test]
async fn the_client_refuses_a_redis_whose_certificate_its_ca_did_not_sign() {
    let mut config = test_support::redis_config("wrong_ca");
    config.ca_file = UNRELATED_CA.to_owned();
    let error = redis_ping(&config).await.unwrap_err();
    assert!(error.contains("UnknownIssuer") || error.contains("invalid peer certificate"), "{error}");
}

#[tokio::test]
async fn redis_refuses_a_client_without_the_password() {
    let mut config = test_support::redis_config("no_password");
    let address = test_support::address_of(config.url.expose());
    config.url = Secret::new(format!("rediss://{address}/1"));
    let error = redis_ping(&config).await.unwrap_err();
    assert!(error.contains("Authentication required"), "{error}");
    config.url = Secret::new(format!("rediss://default:wrong@{address}/1"));
    let error = redis_ping(&config).await.unwrap_err();
    assert!(error.contains("AuthenticationFailed"), "{error}");
}

/// The service users of the local Redis (scripts/dev redis_acl): each reaches its own
/// keys and the commands it sends, nothing else.
#[tokio::test]
async fn a_service_redis_user_reaches_only_its_own_keys_and_commands() {
    let address = test_support::address_of(&test_support::redis_url());
    let connect = |user: &str, secret: &str| {
        let mut config = test_support::redis_config("acl");
        config.url = Secret::new(format!("rediss://{user}:{}@{address}/1", test_support::stack_secret(secret)));
        platform::redis::pool(&config).unwrap()
    };
    let tracker = connect("courier-tracker", "ORDERTRACK_REDIS_TRACKER_PASSWORD");
    let orders = connect("order-api", "ORDERTRACK_REDIS_ORDER_API_PASSWORD");
    let mut tracker = tracker.get().await.unwrap();
    let mut orders = orders.get().await.unwrap();

    let own: Option<String> =
        redis::cmd("HGET").arg("tracker:courier:t_acl").arg("t").query_async(&mut tracker).await.unwrap();
    assert_eq!(own, None);
    let other = redis::cmd("HGET").arg("order:t_acl").arg("b").query_async::<Option<String>>(&mut tracker).await;
    let error = other.unwrap_err().to_string();
    assert!(error.contains("NoPerm"), "the tracker read an order's cached view: {error}");

    let own: Option<String> = redis::cmd("HGET").arg("order:t_acl").arg("b").query_async(&mut orders).await.unwrap();
    assert_eq!(own, None);
    let other = redis::cmd("GEOSEARCH")
        .arg("tracker:geo")
        .arg("FROMLONLAT")
        .arg(37.6)
        .arg(55.7)
        .arg("BYRADIUS")
        .arg(1)
        .arg("km")
        .query_async::<Vec<String>>(&mut orders)
        .await;
    assert!(other.unwrap_err().to_string().contains("NoPerm"), "order-api searched the couriers' positions");
    for command in [&["KEYS", "*"][..], &["FLUSHDB"], &["CONFIG", "GET", "dir"]] {
        let mut cmd = redis::cmd(command[0]);
        for arg in &command[1..] {
            cmd.arg(*arg);
        }
        let refused = cmd.query_async::<redis::Value>(&mut orders).await;
        assert!(refused.unwrap_err().to_string().contains("NoPerm"), "order-api may run {command:?}");
    }
}
