//! The logistics adapter's own tables (`migrations/logistics`), never read by another
//! service: one row per CDEK shipment (the exactly-once registration and the follow-up
//! schedule), the CDEK statuses already sent on, and the webhook inbox.

pub mod schema;

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use platform::postgres::PgPool;
use uuid::Uuid;

use self::schema::{shipment_statuses, shipments, webhook_inbox};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../../migrations/logistics");

/// Where a shipment stands. The first four are followed by the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not registered yet (a call may have been made: see `register_attempts`).
    Pending,
    /// CDEK accepted the registration; SUCCESSFUL or INVALID is still to come.
    Accepted,
    /// Registered (SUCCESSFUL): its statuses are followed until a final one.
    Registered,
    /// A cancellation (DELETE or refusal) was asked of CDEK and is being processed.
    Cancelling,
    /// CDEK rejected the registration.
    Invalid,
    /// CDEK reached a final status; nothing more to follow.
    Finished,
    /// Cancelled in ordertrack before anything reached CDEK.
    NotRegistered,
}

impl State {
    pub const FOLLOWED: [State; 4] = [State::Pending, State::Accepted, State::Registered, State::Cancelling];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Registered => "registered",
            Self::Cancelling => "cancelling",
            Self::Invalid => "invalid",
            Self::Finished => "finished",
            Self::NotRegistered => "not_registered",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Registered,
            Self::Cancelling,
            Self::Invalid,
            Self::Finished,
            Self::NotRegistered,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = shipments, check_for_backend(diesel::pg::Pg))]
pub struct Shipment {
    pub order_id: Uuid,
    pub state: String,
    pub cdek_uuid: Option<String>,
    pub cdek_number: Option<String>,
    pub request: serde_json::Value,
    pub tariff: serde_json::Value,
    pub register_attempts: i32,
    pub cancel_requested: bool,
    pub cancel_kind: Option<String>,
    pub eta_sent: bool,
    pub failures: i32,
}

impl Shipment {
    pub fn state(&self) -> Option<State> {
        State::parse(&self.state)
    }
}

/// A status of a CDEK order, as stored once sent on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeenStatus {
    pub code: String,
    pub at: DateTime<Utc>,
}

/// What is known after a follow-up, written in one update.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = shipments)]
pub struct Progress {
    pub state: Option<String>,
    pub cdek_uuid: Option<String>,
    pub cdek_number: Option<String>,
    pub cancel_kind: Option<String>,
    pub errors: Option<serde_json::Value>,
    pub eta_sent: Option<bool>,
}

#[derive(Clone)]
pub struct Shipments {
    pool: PgPool,
}

impl Shipments {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn conn(&self) -> anyhow::Result<platform::postgres::PgConn> {
        Ok(self.pool.get().await?)
    }

    /// Records a CDEK order to register. Returns false when the order is already known
    /// (a redelivered `order_created`, or a cancellation that arrived first).
    pub async fn add(
        &self,
        order_id: Uuid,
        request: serde_json::Value,
        tariff: serde_json::Value,
    ) -> anyhow::Result<bool> {
        let mut conn = self.conn().await?;
        let inserted = diesel::insert_into(shipments::table)
            .values((
                shipments::order_id.eq(order_id),
                shipments::state.eq(State::Pending.as_str()),
                shipments::request.eq(request),
                shipments::tariff.eq(tariff),
            ))
            .on_conflict(shipments::order_id)
            .do_nothing()
            .execute(&mut conn)
            .await?;
        Ok(inserted == 1)
    }

    /// The order was cancelled in ordertrack: the worker deletes or refuses it at CDEK.
    /// A cancellation of an order not seen yet leaves a row that stops its registration.
    pub async fn request_cancel(&self, order_id: Uuid) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        diesel::insert_into(shipments::table)
            .values((
                shipments::order_id.eq(order_id),
                shipments::state.eq(State::NotRegistered.as_str()),
                shipments::request.eq(serde_json::Value::Null),
                shipments::tariff.eq(serde_json::Value::Null),
                shipments::cancel_requested.eq(true),
            ))
            .on_conflict(shipments::order_id)
            .do_update()
            .set((
                shipments::cancel_requested.eq(true),
                shipments::next_check_at.eq(diesel::dsl::now),
                shipments::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// Takes up to `limit` shipments whose time has come and moves their next check
    /// `lease` ahead, so another instance (or the next round) does not take them too.
    pub async fn take_due(&self, limit: i64, lease: Duration) -> anyhow::Result<Vec<Shipment>> {
        let mut conn = self.conn().await?;
        let lease_until = Utc::now() + chrono::Duration::from_std(lease)?;
        let followed: Vec<&str> = State::FOLLOWED.iter().map(|s| s.as_str()).collect();
        let taken = conn
            .transaction::<_, diesel::result::Error, _>(async move |conn| {
                let ids: Vec<Uuid> = shipments::table
                    .filter(shipments::state.eq_any(&followed))
                    .filter(shipments::next_check_at.le(diesel::dsl::now))
                    .order(shipments::next_check_at.asc())
                    .limit(limit)
                    .select(shipments::order_id)
                    .for_update()
                    .skip_locked()
                    .load(conn)
                    .await?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                diesel::update(shipments::table.filter(shipments::order_id.eq_any(&ids)))
                    .set(shipments::next_check_at.eq(lease_until))
                    .returning(Shipment::as_returning())
                    .get_results(conn)
                    .await
            })
            .await?;
        Ok(taken)
    }

    /// Counts a registration call before it is made.
    pub async fn count_attempt(&self, order_id: Uuid) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        diesel::update(shipments::table.find(order_id))
            .set(shipments::register_attempts.eq(shipments::register_attempts + 1))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// Writes what a follow-up learnt and when to look again; clears the failure count.
    pub async fn progress(&self, order_id: Uuid, progress: Progress, next_check: Duration) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        let next = Utc::now() + chrono::Duration::from_std(next_check)?;
        diesel::update(shipments::table.find(order_id))
            .set((
                progress,
                shipments::next_check_at.eq(next),
                shipments::failures.eq(0),
                shipments::last_error.eq(None::<String>),
                shipments::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// A follow-up failed (CDEK away, Kafka away): try again after `retry_in`.
    pub async fn failed(&self, order_id: Uuid, error: &str, retry_in: Duration) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        let next = Utc::now() + chrono::Duration::from_std(retry_in)?;
        diesel::update(shipments::table.find(order_id))
            .set((
                shipments::next_check_at.eq(next),
                shipments::failures.eq(shipments::failures + 1),
                shipments::last_error.eq(error),
                shipments::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// The statuses of an order already sent on.
    pub async fn seen_statuses(&self, order_id: Uuid) -> anyhow::Result<Vec<SeenStatus>> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, DateTime<Utc>)> = shipment_statuses::table
            .filter(shipment_statuses::order_id.eq(order_id))
            .select((shipment_statuses::code, shipment_statuses::status_at))
            .load(&mut conn)
            .await?;
        Ok(rows.into_iter().map(|(code, at)| SeenStatus { code, at }).collect())
    }

    /// Records statuses as sent on.
    pub async fn record_statuses(&self, order_id: Uuid, statuses: &[SeenStatus]) -> anyhow::Result<()> {
        if statuses.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = statuses
            .iter()
            .map(|s| {
                (
                    shipment_statuses::order_id.eq(order_id),
                    shipment_statuses::code.eq(&s.code),
                    shipment_statuses::status_at.eq(s.at),
                )
            })
            .collect();
        let mut conn = self.conn().await?;
        diesel::insert_into(shipment_statuses::table).values(&rows).on_conflict_do_nothing().execute(&mut conn).await?;
        Ok(())
    }

    /// Records a webhook and makes the shipment it names due now, in one transaction.
    /// Returns whether a followed shipment was found.
    pub async fn record_webhook(&self, cdek_uuid: &str, code: &str, body: serde_json::Value) -> anyhow::Result<bool> {
        let (cdek_uuid, code) = (cdek_uuid.to_owned(), code.to_owned());
        let followed: Vec<&str> = State::FOLLOWED.iter().map(|s| s.as_str()).collect();
        let mut conn = self.conn().await?;
        let woken = conn
            .transaction::<_, diesel::result::Error, _>(async move |conn| {
                diesel::insert_into(webhook_inbox::table)
                    .values((
                        webhook_inbox::cdek_uuid.eq(&cdek_uuid),
                        webhook_inbox::code.eq(&code),
                        webhook_inbox::body.eq(body),
                    ))
                    .execute(conn)
                    .await?;
                diesel::update(shipments::table)
                    .filter(shipments::cdek_uuid.eq(&cdek_uuid))
                    .filter(shipments::state.eq_any(&followed))
                    .set(shipments::next_check_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await
            })
            .await?;
        Ok(woken > 0)
    }

    /// Marks the webhooks of a CDEK order received before `before` as handled (the order
    /// was read back from CDEK after they arrived). One that came in later, while the
    /// order was being read, makes the shipment due again at once.
    pub async fn webhooks_handled(&self, order_id: Uuid, cdek_uuid: &str, before: DateTime<Utc>) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        diesel::update(webhook_inbox::table)
            .filter(webhook_inbox::cdek_uuid.eq(cdek_uuid))
            .filter(webhook_inbox::processed_at.is_null())
            .filter(webhook_inbox::received_at.le(before))
            .set(webhook_inbox::processed_at.eq(diesel::dsl::now))
            .execute(&mut conn)
            .await?;
        let newer = webhook_inbox::table
            .filter(webhook_inbox::cdek_uuid.eq(cdek_uuid))
            .filter(webhook_inbox::processed_at.is_null());
        diesel::update(shipments::table.find(order_id))
            .filter(diesel::dsl::exists(newer))
            .set(shipments::next_check_at.eq(diesel::dsl::now))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// Deletes the webhooks received before `cutoff`, handled or not, `batch` rows per
    /// statement (so no statement holds many row locks). Returns how many were deleted.
    /// Deleting an unhandled one loses nothing: a webhook is only a hint, the order it
    /// names is read back from CDEK, and an order still followed is polled anyway.
    pub async fn prune_webhooks(&self, cutoff: DateTime<Utc>, batch: i64) -> anyhow::Result<usize> {
        let mut conn = self.conn().await?;
        let mut deleted = 0;
        loop {
            let old: Vec<i64> = webhook_inbox::table
                .select(webhook_inbox::id)
                .filter(webhook_inbox::received_at.lt(cutoff))
                .limit(batch)
                .load(&mut conn)
                .await?;
            // Another instance pruning at the same time may have deleted some: fine.
            deleted +=
                diesel::delete(webhook_inbox::table.filter(webhook_inbox::id.eq_any(&old))).execute(&mut conn).await?;
            if (old.len() as i64) < batch {
                return Ok(deleted);
            }
        }
    }
}
