//! A new order's first write: the order, its first timeline entry and its
//! `order_created` event (and, under an idempotency key, the saved response) in one
//! statement, prepared once per connection.

use diesel::QueryResult;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Float8, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::OrdersError;
use crate::store::rows::{OrderRow, TimelineRow};

/// A new order's three rows, written by one statement (data-modifying CTEs run
/// atomically): the order, its first timeline entry, its `order_created` event, and,
/// under an idempotency key, the saved response.
pub(crate) struct NewOrderInsert<'a> {
    pub row: &'a OrderRow,
    pub timeline: &'a TimelineRow,
    pub topic: &'a str,
    pub key: &'a str,
    pub payload: &'a [u8],
}

pub(crate) struct SavedResponse<'a> {
    pub store_id: &'a str,
    pub key: &'a str,
    pub status: i16,
    pub body: serde_json::Value,
}

impl NewOrderInsert<'_> {
    pub(crate) async fn write(
        &self,
        conn: &mut AsyncPgConnection,
        saved: Option<SavedResponse<'_>>,
    ) -> Result<(), OrdersError> {
        let result = match &saved {
            None => InsertNewOrder::<false> { insert: self, saved: None }.execute(conn).await,
            Some(saved) => InsertNewOrder::<true> { insert: self, saved: Some(saved) }.execute(conn).await,
        };
        result.map(|_| ()).map_err(|error| match &error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.constraint_name() == Some("orders_store_id_store_order_number_key") =>
            {
                OrdersError::DuplicateStoreOrderNumber(self.row.store_order_number.clone())
            }
            _ => error.into(),
        })
    }
}

/// The statement behind [`NewOrderInsert`], as a diesel query with a static id so that
/// each connection prepares it once (raw `sql_query` text would be planned every time).
/// `SAVE` adds the update of the idempotency key's saved response.
struct InsertNewOrder<'a, const SAVE: bool> {
    insert: &'a NewOrderInsert<'a>,
    saved: Option<&'a SavedResponse<'a>>,
}

impl<const SAVE: bool> diesel::query_builder::QueryId for InsertNewOrder<'_, SAVE> {
    type QueryId = InsertNewOrder<'static, SAVE>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const SAVE: bool> diesel::query_builder::QueryFragment<diesel::pg::Pg> for InsertNewOrder<'_, SAVE> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Bytea, Int2, Int4, Int8, Jsonb, Nullable, Uuid as SqlUuid};
        let (row, entry) = (self.insert.row, self.insert.timeline);
        out.push_sql(
            "WITH new_order AS (INSERT INTO orders (id, store_id, store_order_number, customer_name, \
             customer_phone, customer_email, pickup_address, pickup_lat, pickup_lon, destination_address, \
             destination_lat, destination_lon, parcels, delivery_method, cdek_tariff_code, status, courier_id, \
             carrier_reference, eta_expected_at, eta_earliest, eta_latest, eta_source, eta_computed_at, \
             tracking_token_hash, tracking_expires_at, created_at, updated_at, version) VALUES (",
        );
        out.push_bind_param::<SqlUuid, _>(&row.id)?;
        for text in [
            &row.store_id,
            &row.store_order_number,
            &row.customer_name,
            &row.customer_phone,
            &row.customer_email,
            &row.pickup_address,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(text)?;
        }
        for number in [&row.pickup_lat, &row.pickup_lon] {
            out.push_sql(", ");
            out.push_bind_param::<Float8, _>(number)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.destination_address)?;
        for number in [&row.destination_lat, &row.destination_lon] {
            out.push_sql(", ");
            out.push_bind_param::<Float8, _>(number)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&row.parcels)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.delivery_method)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Int4>, _>(&row.cdek_tariff_code)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&row.status)?;
        for text in [&row.courier_id, &row.carrier_reference] {
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(text)?;
        }
        for time in [&row.eta_expected_at, &row.eta_earliest, &row.eta_latest] {
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Timestamptz>, _>(time)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&row.eta_source)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&row.eta_computed_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Bytea, _>(&row.tracking_token_hash)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&row.tracking_expires_at)?;
        for time in [&row.created_at, &row.updated_at] {
            out.push_sql(", ");
            out.push_bind_param::<Timestamptz, _>(time)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Int8, _>(&row.version)?;
        out.push_sql(") RETURNING id), new_entry AS (INSERT INTO order_timeline (order_id, version, status, actor, at, carrier_status, note) SELECT id, ");
        out.push_bind_param::<Int8, _>(&entry.version)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&entry.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&entry.actor)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&entry.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&entry.carrier_status)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&entry.note)?;
        out.push_sql(" FROM new_order)");
        if let Some(saved) = self.saved.filter(|_| SAVE) {
            out.push_sql(", saved AS (UPDATE idempotency_keys SET response_status = ");
            out.push_bind_param::<Int2, _>(&saved.status)?;
            out.push_sql(", response_body = ");
            out.push_bind_param::<Jsonb, _>(&saved.body)?;
            out.push_sql(" WHERE store_id = ");
            out.push_bind_param::<Text, _>(saved.store_id)?;
            out.push_sql(" AND idempotency_key = ");
            out.push_bind_param::<Text, _>(saved.key)?;
            out.push_sql(")");
        }
        out.push_sql(" INSERT INTO outbox (topic, message_key, payload) SELECT ");
        out.push_bind_param::<Text, _>(self.insert.topic)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.insert.key)?;
        out.push_sql(", ");
        out.push_bind_param::<Bytea, _>(self.insert.payload)?;
        out.push_sql(" FROM new_order");
        Ok(())
    }
}
