//! The PostgreSQL roles of deploy/postgres/roles.sql and the grants of the migrations
//! (docs/security.md, "PostgreSQL and Redis"): each service's role reaches the rows of its
//! own tables and nothing else, none may change the schema, none is a superuser, and each
//! connects to its own database only. Against the local cluster, where scripts/dev ran
//! roles.sql.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use admin::Database;
use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use platform::postgres::{self, MigrationDirection};

/// The service roles and the database whose tables each may use.
const ROLES: [(&str, Database); 4] = [
    ("ordertrack_order_api", Database::Orders),
    ("ordertrack_order_grpc", Database::Orders),
    ("ordertrack_tracker", Database::Tracker),
    ("ordertrack_logistics", Database::Logistics),
];

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

async fn tables(conn: &mut AsyncPgConnection) -> Vec<String> {
    diesel::sql_query("SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public'")
        .load::<Name>(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect()
}

/// Runs `sql` as `role` (the test connects as the cluster's administrator, who may take
/// any role) and returns the error, if any.
async fn as_role(conn: &mut AsyncPgConnection, role: &str, sql: &str) -> Result<(), String> {
    conn.batch_execute(&format!("SET ROLE {role}")).await.unwrap();
    let result = conn.batch_execute(sql).await.map_err(|e| e.to_string());
    conn.batch_execute("RESET ROLE").await.unwrap();
    result
}

#[tokio::test(flavor = "multi_thread")]
async fn each_service_role_reaches_the_rows_of_its_own_tables_only() {
    for database in Database::ALL {
        let url = test_support::fresh_database(&format!("roles_{}", database.name())).await;
        let config = test_support::postgres_config(&url);
        postgres::migrate(&config, database.migrations(), MigrationDirection::Up).await.unwrap();
        let mut conn = postgres::connect_once(&url).await.unwrap();
        let all = tables(&mut conn).await;
        assert!(all.iter().any(|t| t == "__diesel_schema_migrations"), "{all:?}");
        for (role, own) in ROLES {
            for table in &all {
                let read = as_role(&mut conn, role, &format!("SELECT 1 FROM {table} LIMIT 0")).await;
                let delete = as_role(&mut conn, role, &format!("DELETE FROM {table} WHERE false")).await;
                if own == database && table != "__diesel_schema_migrations" {
                    read.unwrap_or_else(|e| panic!("{role} cannot read its {table}: {e}"));
                    delete.unwrap_or_else(|e| panic!("{role} cannot delete from its {table}: {e}"));
                    let drop = as_role(&mut conn, role, &format!("DROP TABLE {table}")).await.unwrap_err();
                    assert!(drop.contains("must be owner"), "{role} DROP TABLE {table}: {drop}");
                    let truncate = as_role(&mut conn, role, &format!("TRUNCATE {table}")).await.unwrap_err();
                    assert!(truncate.contains("permission denied"), "{role} TRUNCATE {table}: {truncate}");
                } else {
                    let read = read.expect_err(&format!("{role} read {table} of {}", database.name()));
                    assert!(read.contains("permission denied"), "{role} {table}: {read}");
                    assert!(delete.is_err(), "{role} deleted from {table} of {}", database.name());
                }
            }
            let create = as_role(&mut conn, role, "CREATE TABLE intruder (id int)").await.unwrap_err();
            assert!(create.contains("permission denied for schema public"), "{role}: {create}");
        }
    }
}

#[derive(QueryableByName)]
struct Role {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    mighty: bool,
}

/// `user:password@` in place of the admin URL's, and `database`.
fn login(user: &str, secret: &str, database: &str) -> String {
    let url = test_support::with_database(&test_support::postgres_admin_url(), database);
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{}@{host}", test_support::stack_secret(secret))
}

#[tokio::test(flavor = "multi_thread")]
async fn no_role_of_the_stack_is_mighty_and_each_connects_to_its_own_database_only() {
    let mut conn = postgres::connect_once(&test_support::postgres_admin_url()).await.unwrap();
    let roles: Vec<Role> = diesel::sql_query(
        "SELECT rolname::text AS name, rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication AS mighty \
         FROM pg_roles WHERE rolname LIKE 'ordertrack\\_%'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "ordertrack_logistics",
            "ordertrack_migrator",
            "ordertrack_order_api",
            "ordertrack_order_grpc",
            "ordertrack_tracker"
        ],
        "run scripts/dev infra (deploy/postgres/roles.sql)"
    );
    for role in &roles {
        assert!(!role.mighty, "{} may do more than its tables' rows", role.name);
    }

    // The tracker's role logs in to its database, not to the orders'.
    let tracker = |database| login("ordertrack_tracker", "ORDERTRACK_PG_TRACKER_PASSWORD", database);
    postgres::connect_once(&tracker("ordertrack_tracker")).await.unwrap();
    let refused =
        postgres::connect_once(&tracker("ordertrack")).await.err().expect("the tracker reached the orders database");
    assert!(refused.to_string().contains("permission denied for database"), "{refused}");
    let api = |database| login("ordertrack_order_api", "ORDERTRACK_PG_ORDER_API_PASSWORD", database);
    postgres::connect_once(&api("ordertrack")).await.unwrap();
    let refused =
        postgres::connect_once(&api("ordertrack_logistics")).await.err().expect("order-api reached logistics");
    assert!(refused.to_string().contains("permission denied for database"), "{refused}");
}
