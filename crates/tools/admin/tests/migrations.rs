//! Every set of migrations applies to an empty database, reverts completely, and
//! applies again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use admin::Database;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use platform::postgres::{self, MigrationDirection};

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    table_name: String,
}

async fn tables(url: &str) -> Vec<String> {
    let mut conn = postgres::connect_once(url).await.unwrap();
    let mut names: Vec<String> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<TableName>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|t| t.table_name)
    .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_set_applies_reverts_and_applies_again() {
    for database in Database::ALL {
        let url = test_support::fresh_database(database.name()).await;
        let config = test_support::postgres_config(&url);

        let applied = postgres::migrate(&config, database.migrations(), MigrationDirection::Up).await.unwrap();
        assert!(!applied.is_empty(), "{}: nothing applied", database.name());
        let created = tables(&url).await;
        assert!(!created.is_empty(), "{}: no tables", database.name());

        let again = postgres::migrate(&config, database.migrations(), MigrationDirection::Up).await.unwrap();
        assert!(again.is_empty(), "{}: applied twice: {again:?}", database.name());

        let reverted = postgres::migrate(&config, database.migrations(), MigrationDirection::RevertAll).await.unwrap();
        assert_eq!(reverted.len(), applied.len(), "{}", database.name());
        assert_eq!(tables(&url).await, Vec::<String>::new(), "{}: down.sql left tables", database.name());

        let reapplied = postgres::migrate(&config, database.migrations(), MigrationDirection::Up).await.unwrap();
        assert_eq!(reapplied, applied, "{}", database.name());
        assert_eq!(tables(&url).await, created, "{}", database.name());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_starting_together_apply_migrations_once() {
    let url = test_support::fresh_database("concurrent").await;
    let config = test_support::postgres_config(&url);
    let runs = (0..4).map(|_| postgres::migrate(&config, Database::Orders.migrations(), MigrationDirection::Up));
    let results: Vec<Vec<String>> = futures::future::join_all(runs).await.into_iter().map(Result::unwrap).collect();
    let applied_by: Vec<&Vec<String>> = results.iter().filter(|versions| !versions.is_empty()).collect();
    assert_eq!(applied_by.len(), 1, "applied by more than one run (or none): {results:?}");
}
