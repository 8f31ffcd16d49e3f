//! The commands: create, change (a storefront's or internal service's request, or a
//! command from `order_commands`), notify the customer.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::convert;
use domain::events::{self as pb, envelope::Payload};
use domain::ids::OrderId;
use domain::order::{Change, Command, CommandError, NewOrder, Order, Outcome};
use domain::status::Actor;
use domain::topics::Topic;
use prost::Message as _;
use uuid::Uuid;

use super::{CommandOutcome, Created, Executed, IdempotencyKey, OrderDetails, Orders, Scope};
use crate::error::OrdersError;
use crate::saved_responses::ResponseSeal;
use crate::store::rows::{OrderRow, TimelineRow};
use crate::store::{self, NewOrderInsert, SavedResponse, outbox};
use crate::tracking_token;

impl Orders {
    /// Creates an order (at most once per idempotency key). `respond` builds the
    /// response the caller will send, which is saved with the key.
    pub async fn create<F>(
        &self,
        new: NewOrder,
        actor: Actor,
        idempotency: Option<IdempotencyKey>,
        respond: F,
    ) -> Result<Created, OrdersError>
    where
        F: FnOnce(&OrderDetails, &str) -> (u16, serde_json::Value) + Send,
    {
        let store_id = new.store_id.to_string();
        let (order, entry) = new.into_order(OrderId::new(), actor, Utc::now());
        let token = tracking_token::new_token();
        let row = OrderRow::from_domain(&order, tracking_token::hash(&token), None);
        let timeline = TimelineRow::from_domain(order.id, &entry);
        let event = self.envelope(convert::order_created(&order));
        let topic = self.topic(Topic::OrderCreated);
        let details = OrderDetails { order, timeline: vec![entry] };
        let key = row.id.to_string();
        let payload = event.encode_to_vec();
        let insert = NewOrderInsert { row: &row, timeline: &timeline, topic: &topic, key: &key, payload: &payload };
        let mut conn = self.pool.get().await?;
        let created = match idempotency {
            // The common case: one statement, atomic by itself, one round trip.
            None => {
                insert.write(&mut conn, None).await?;
                Created::New { details: Box::new(details), tracking_token: token }
            }
            Some(key) => {
                let config = &self.config;
                conn.transaction::<Created, OrdersError, _>(async move |conn| {
                    // Taken first: a concurrent request with the same key waits here
                    // until this one commits, then replays its response. A key older
                    // than its lifetime is taken over as if it were new.
                    let claimed = store::claim_idempotency_key(
                        conn,
                        &store_id,
                        &key.key,
                        &key.request_hash,
                        config.idempotency_key_ttl,
                    )
                    .await?;
                    if !claimed {
                        return replay(conn, &config.saved_responses, &store_id, &key).await;
                    }
                    // The response carries the live tracking link: it is saved sealed
                    // (crate::saved_responses), never in the clear.
                    let (status, body) = respond(&details, &token);
                    let saved = SavedResponse {
                        store_id: &store_id,
                        key: &key.key,
                        status: i16::try_from(status).unwrap_or(201),
                        body: config.saved_responses.seal(&store_id, &key.key, &body)?,
                    };
                    insert.write(conn, Some(saved)).await?;
                    Ok(Created::New { details: Box::new(details), tracking_token: token })
                })
                .await?
            }
        };
        if matches!(created, Created::New { .. }) {
            self.wakeup.wake();
        }
        Ok(created)
    }

    /// Applies a storefront's or internal service's request. With `expected_version`,
    /// the request is refused unless the order is still at that version.
    pub async fn execute(
        &self,
        scope: &Scope,
        id: OrderId,
        command: Command,
        actor: Actor,
        expected_version: Option<i64>,
    ) -> Result<Executed, OrdersError> {
        let mut conn = self.pool.get().await?;
        let this = self;
        let scope = scope.clone();
        let (order, changed) = conn
            .transaction::<(Order, bool), OrdersError, _>(async move |conn| {
                let row = store::load(conn, id, true).await?;
                scope.check(id, &row.store_id)?;
                if let Some(expected) = expected_version {
                    if expected != row.version {
                        return Err(OrdersError::VersionConflict { expected, current: row.version });
                    }
                }
                let current = row.to_domain()?;
                match current.apply(command, actor, Utc::now())? {
                    Outcome::Unchanged => Ok((current, false)),
                    Outcome::Changed(change) => {
                        this.write_change(conn, &row, &change).await?;
                        Ok((change.order, true))
                    }
                }
            })
            .await?;
        if changed {
            self.after_commit(&order).await;
        }
        let timeline = store::load_timeline(&mut conn, id).await?;
        Ok(Executed { details: OrderDetails { order, timeline }, changed })
    }

    /// Applies a command from `order_commands` once per command id. Refusals are
    /// recorded and returned, never raised: a bad command must not stop the consumer.
    pub async fn apply_command(
        &self,
        command_id: &str,
        id: OrderId,
        command: Command,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<CommandOutcome, OrdersError> {
        let mut conn = self.pool.get().await?;
        let this = self;
        let command_id = command_id.to_owned();
        let (outcome, changed) = conn
            .transaction::<(CommandOutcome, Option<Order>), OrdersError, _>(async move |conn| {
                if !store::claim_command(conn, &command_id, id).await? {
                    return Ok((CommandOutcome::Duplicate, None));
                }
                let (outcome, changed) = match store::load(conn, id, true).await {
                    Err(OrdersError::NotFound(_)) => (
                        CommandOutcome::Rejected {
                            code: "order_not_found".into(),
                            reason: format!("order {id} not found"),
                        },
                        None,
                    ),
                    Err(other) => return Err(other),
                    Ok(row) => {
                        let current = row.to_domain()?;
                        match current.apply(command, actor, at) {
                            Err(error) => (rejected(&error), None),
                            Ok(Outcome::Unchanged) => (CommandOutcome::Unchanged, None),
                            Ok(Outcome::Changed(change)) => {
                                this.write_change(conn, &row, &change).await?;
                                (CommandOutcome::Applied, Some(change.order))
                            }
                        }
                    }
                };
                let (label, reason) = match &outcome {
                    CommandOutcome::Applied => ("applied", None),
                    CommandOutcome::Unchanged => ("unchanged", None),
                    CommandOutcome::Rejected { code, reason } => ("rejected", Some(format!("{code}: {reason}"))),
                    CommandOutcome::Duplicate => ("applied", None),
                };
                store::record_command_outcome(conn, &command_id, label, reason).await?;
                Ok((outcome, changed))
            })
            .await?;
        if let Some(order) = changed {
            self.after_commit(&order).await;
        }
        Ok(outcome)
    }

    /// Writes an accepted change: the row (guarded by its version), the timeline entry,
    /// the `order_updated` event.
    async fn write_change(
        &self,
        conn: &mut AsyncPgConnection,
        before: &OrderRow,
        change: &Change,
    ) -> Result<(), OrdersError> {
        let expires = if change.order.status.is_final() && before.tracking_expires_at.is_none() {
            Some(change.order.updated_at + self.config.tracking_retention)
        } else {
            before.tracking_expires_at
        };
        let row = OrderRow::from_domain(&change.order, before.tracking_token_hash.clone(), expires);
        if !store::update_order(conn, before, &row).await? {
            return Err(OrdersError::VersionConflict { expected: before.version, current: before.version + 1 });
        }
        if let Some(entry) = &change.transition {
            store::insert_timeline_entry(conn, change.order.id, entry).await?;
        }
        let event = self.envelope(convert::order_updated(change));
        outbox::enqueue(conn, &self.topic(Topic::OrderUpdated), &before.id.to_string(), &event).await?;
        Ok(())
    }

    /// After a change committed: the relay publishes its event, the cached view goes.
    async fn after_commit(&self, order: &Order) {
        self.wakeup.wake();
        self.cache.invalidate(order.id, order.version).await;
    }

    /// Sends a message to the order's customer (through `customer_notifications`).
    /// Returns the notification id.
    pub async fn notify(&self, scope: &Scope, id: OrderId, message: &str, actor: Actor) -> Result<Uuid, OrdersError> {
        let message = domain::validation::text("message", message, 1000).map_err(CommandError::from)?;
        let mut conn = self.pool.get().await?;
        let row = store::load(&mut conn, id, false).await?;
        scope.check(id, &row.store_id)?;
        let notification_id = Uuid::now_v7();
        let event = self.envelope(Payload::CustomerNotification(pb::CustomerNotification {
            notification_id: notification_id.to_string(),
            order_id: id.to_string(),
            message,
            actor: pb::Actor::from(actor) as i32,
        }));
        outbox::enqueue(&mut conn, &self.topic(Topic::CustomerNotifications), &id.to_string(), &event).await?;
        self.wakeup.wake();
        Ok(notification_id)
    }
}

fn rejected(error: &CommandError) -> CommandOutcome {
    CommandOutcome::Rejected { code: error.code().to_owned(), reason: error.to_string() }
}

/// The saved response of a request made before under the same key, unless this request
/// is another one (the key is then refused).
async fn replay(
    conn: &mut AsyncPgConnection,
    seal: &ResponseSeal,
    store_id: &str,
    key: &IdempotencyKey,
) -> Result<Created, OrdersError> {
    let (hash, status, body) = store::saved_response(conn, store_id, &key.key).await?;
    if hash != key.request_hash {
        return Err(OrdersError::IdempotencyKeyReused);
    }
    let body = seal.open(store_id, &key.key, body)?;
    Ok(Created::Replayed { status: u16::try_from(status).unwrap_or(201), body })
}
