//! The OrderService: each RPC is a thin translation onto the same operations the REST
//! API uses (`orders::Orders`), with every order in scope (callers are internal
//! services).

use std::pin::Pin;

use chrono::Utc;
use domain::convert::timestamp;
use domain::events as pb;
use domain::ids::{CourierId, CourierKey};
use domain::order::Command;
use domain::position::Position;
use domain::validation::FieldError;
use futures::Stream;
use orders::{Created, IdempotencyKey, ListFilter, OrderDetails};
use orders::{Orders, OrdersError, Scope};
use platform::errors::Answerable;
use prost::Message;
use sha2::{Digest, Sha256};
use slog::{Logger, error};
use tokio::sync::{broadcast, mpsc};
use tonic::{Code, Request, Response, Status};

use super::convert;
use super::error::{self, invalid};
use super::track::TrackHub;
use crate::proto::order_service_server::OrderService;
use crate::proto::{self, track_update::Update};

pub struct OrderGrpc {
    orders: Orders,
    hub: TrackHub,
    log: Logger,
}

impl OrderGrpc {
    pub fn new(orders: Orders, hub: TrackHub, log: Logger) -> Self {
        Self { orders, hub, log }
    }

    /// Answers an error of the orders context through its table, logging the causes the
    /// caller does not see.
    fn fail(&self, rpc: &str, failure: OrdersError) -> Status {
        let answer = failure.answer();
        if let Some(cause) = &answer.cause {
            error!(self.log, "rpc failed"; "rpc" => rpc, "code" => answer.code, "error" => %format!("{cause:#}"));
        }
        error::from_answer(answer)
    }
}

type TrackStream = Pin<Box<dyn Stream<Item = Result<proto::TrackUpdate, Status>> + Send>>;

#[tonic::async_trait]
impl OrderService for OrderGrpc {
    async fn create_order(
        &self,
        request: Request<proto::CreateOrderRequest>,
    ) -> Result<Response<proto::CreateOrderResponse>, Status> {
        let mut request = request.into_inner();
        let key = std::mem::take(&mut request.idempotency_key);
        let idempotency = if key.is_empty() {
            None
        } else {
            if key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(&FieldError::new(
                    "idempotency_key",
                    "invalid_format",
                    "1 to 200 printable ASCII characters",
                )));
            }
            Some(IdempotencyKey { key, request_hash: Sha256::digest(request.encode_to_vec()).to_vec() })
        };
        let new = convert::new_order(&request).map_err(|e| invalid(&e))?;
        let respond = |details: &OrderDetails, token: &str| {
            (201, serde_json::json!({ "order_id": details.order.id.to_string(), "tracking_token": token }))
        };
        let created = self
            .orders
            .create(new, domain::status::Actor::System, idempotency, respond)
            .await
            .map_err(|e| self.fail("CreateOrder", e))?;
        let (details, tracking_token, replayed) = match created {
            Created::New { details, tracking_token } => (*details, tracking_token, false),
            Created::Replayed { body, .. } => {
                // The saved answer names the order (and its token); the order is read as it is now.
                let id =
                    body.get("order_id").and_then(|id| id.as_str()).map(convert::order_id).transpose()?.ok_or_else(
                        || {
                            error::status(
                                Code::FailedPrecondition,
                                "idempotency_key_reused",
                                "this idempotency key belongs to another kind of request",
                            )
                        },
                    )?;
                let token = body.get("tracking_token").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
                let details = self.orders.get(&Scope::Internal, id).await.map_err(|e| self.fail("CreateOrder", e))?;
                (details, token, true)
            }
        };
        Ok(Response::new(proto::CreateOrderResponse {
            order: Some(convert::details(&details)),
            tracking_token,
            replayed,
        }))
    }

    async fn get_order(
        &self,
        request: Request<proto::GetOrderRequest>,
    ) -> Result<Response<proto::OrderDetails>, Status> {
        let id = convert::order_id(&request.get_ref().order_id)?;
        let details = self.orders.get(&Scope::Internal, id).await.map_err(|e| self.fail("GetOrder", e))?;
        Ok(Response::new(convert::details(&details)))
    }

    async fn get_orders(
        &self,
        request: Request<proto::GetOrdersRequest>,
    ) -> Result<Response<proto::GetOrdersResponse>, Status> {
        let request = request.into_inner();
        let scope = if request.store_id.is_empty() {
            Scope::Internal
        } else {
            Scope::Store(domain::ids::StoreId::parse(&request.store_id).map_err(|e| invalid(&e))?)
        };
        let limit = match request.limit {
            0 => 20,
            limit @ 1..=100 => i64::from(limit),
            _ => {
                return Err(invalid(&FieldError::new("limit", "out_of_range", "must be between 1 and 100")));
            }
        };
        let filter = ListFilter {
            status: if request.status == 0 { None } else { Some(convert::status(request.status)?) },
            courier_id: (!request.courier_id.is_empty())
                .then(|| convert::courier_id(&request.courier_id))
                .transpose()?,
            created_from: convert::time("created_from", request.created_from.as_ref())?,
            created_to: convert::time("created_to", request.created_to.as_ref())?,
            store_order_number: (!request.store_order_number.is_empty()).then_some(request.store_order_number),
            after: (!request.cursor.is_empty())
                .then(|| {
                    request.cursor.parse().map_err(|_| {
                        invalid(&FieldError::new("cursor", "invalid_format", "not a cursor from a previous page"))
                    })
                })
                .transpose()?,
            limit,
        };
        let page = self.orders.list(&scope, &filter).await.map_err(|e| self.fail("GetOrders", e))?;
        Ok(Response::new(proto::GetOrdersResponse {
            orders: page.orders.iter().map(pb::Order::from).collect(),
            next_cursor: page.next.map(|id| id.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_order_status(
        &self,
        request: Request<proto::GetOrderRequest>,
    ) -> Result<Response<proto::OrderStatusResponse>, Status> {
        let id = convert::order_id(&request.get_ref().order_id)?;
        let details = self.orders.get(&Scope::Internal, id).await.map_err(|e| self.fail("GetOrderStatus", e))?;
        let order = &details.order;
        Ok(Response::new(proto::OrderStatusResponse {
            order_id: order.id.to_string(),
            status: pb::OrderStatus::from(order.status) as i32,
            version: order.version,
            updated_at: Some(timestamp(order.updated_at)),
            since: details.timeline.last().map(pb::TimelineEntry::from),
        }))
    }

    async fn update_order_status(
        &self,
        request: Request<proto::UpdateOrderStatusRequest>,
    ) -> Result<Response<proto::OrderDetails>, Status> {
        let request = request.into_inner();
        let id = convert::order_id(&request.order_id)?;
        let command = Command::ChangeStatus {
            to: convert::status(request.status)?,
            carrier_status: Some(request.carrier_status),
            note: Some(request.note),
        };
        let executed = self
            .orders
            .execute(&Scope::Internal, id, command, convert::actor(request.actor), request.expected_version)
            .await
            .map_err(|e| self.fail("UpdateOrderStatus", e))?;
        Ok(Response::new(convert::details(&executed.details)))
    }

    type TrackOrderStream = TrackStream;

    async fn track_order(&self, request: Request<proto::GetOrderRequest>) -> Result<Response<TrackStream>, Status> {
        let id = convert::order_id(&request.get_ref().order_id)?;
        // Subscribe first, then read the snapshot: nothing falls between the two.
        let mut updates = self.hub.subscribe_order(id);
        let details = self.orders.get(&Scope::Internal, id).await.map_err(|e| self.fail("TrackOrder", e))?;
        let (sender, receiver) = mpsc::channel::<Result<proto::TrackUpdate, Status>>(64);
        let (hub, orders) = (self.hub.clone(), self.orders.clone());
        tokio::spawn(async move {
            let mut version = details.order.version;
            // The order's courier is the courier of the order's store.
            let store = details.order.store_id.clone();
            let mut courier = details.order.courier_id.clone().map(|c| CourierKey::new(store.clone(), c));
            let mut positions = courier.as_ref().map(|c| hub.subscribe_courier(c));
            let finished = details.order.status.is_final();
            if sender.send(Ok(snapshot(&details))).await.is_err() || finished {
                return;
            }
            if let Some(position) = last_position(&orders, courier.as_ref()).await {
                let update = proto::TrackUpdate { update: Some(Update::CourierPosition(position.to_event())) };
                if sender.send(Ok(update)).await.is_err() {
                    return;
                }
            }
            loop {
                tokio::select! {
                    () = sender.closed() => return,
                    update = updates.recv() => match update {
                        Ok(update) => {
                            let Some(order) = update.order.as_ref() else { continue };
                            if order.version <= version {
                                continue;
                            }
                            version = order.version;
                            let now_courier = CourierId::parse(&order.courier_id).ok().map(|c| CourierKey::new(store.clone(), c));
                            if now_courier != courier {
                                courier = now_courier;
                                positions = courier.as_ref().map(|c| hub.subscribe_courier(c));
                            }
                            let finished = pb::OrderStatus::try_from(order.status).ok().and_then(pb::OrderStatus::to_domain).is_some_and(|s| s.is_final());
                            let update = proto::TrackUpdate { update: Some(Update::OrderUpdated(update.as_ref().clone())) };
                            if sender.send(Ok(update)).await.is_err() || finished {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            // Too slow to follow every change: send the order as it is now.
                            match orders.get(&Scope::Internal, id).await {
                                Ok(details) => {
                                    version = details.order.version;
                                    let now_courier = details.order.courier_id.clone().map(|c| CourierKey::new(store.clone(), c));
                                    if now_courier != courier {
                                        courier = now_courier;
                                        positions = courier.as_ref().map(|c| hub.subscribe_courier(c));
                                    }
                                    if sender.send(Ok(snapshot(&details))).await.is_err() || details.order.status.is_final() {
                                        return;
                                    }
                                }
                                Err(failure) => {
                                    let _ = sender.send(Err(error::from_answer(failure.answer()))).await;
                                    return;
                                }
                            }
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    position = next_position(&mut positions) => {
                        if let Some(position) = position {
                            let update = proto::TrackUpdate { update: Some(Update::CourierPosition(position)) };
                            if sender.send(Ok(update)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        let stream = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn cancel_order(
        &self,
        request: Request<proto::CancelOrderRequest>,
    ) -> Result<Response<proto::OrderDetails>, Status> {
        let request = request.into_inner();
        let id = convert::order_id(&request.order_id)?;
        let command = Command::Cancel { reason: Some(request.reason) };
        let executed = self
            .orders
            .execute(&Scope::Internal, id, command, convert::actor(request.actor), None)
            .await
            .map_err(|e| self.fail("CancelOrder", e))?;
        Ok(Response::new(convert::details(&executed.details)))
    }

    async fn estimate_delivery(
        &self,
        request: Request<proto::GetOrderRequest>,
    ) -> Result<Response<proto::EstimateDeliveryResponse>, Status> {
        let id = convert::order_id(&request.get_ref().order_id)?;
        let details = self.orders.get(&Scope::Internal, id).await.map_err(|e| self.fail("EstimateDelivery", e))?;
        let order = &details.order;
        let eta = order.eta.filter(|_| !order.status.is_final()).or_else(|| self.orders.estimate(order, Utc::now()));
        Ok(Response::new(proto::EstimateDeliveryResponse {
            order_id: order.id.to_string(),
            status: pb::OrderStatus::from(order.status) as i32,
            eta: eta.as_ref().map(pb::Eta::from),
        }))
    }

    async fn assign_courier(
        &self,
        request: Request<proto::AssignCourierRequest>,
    ) -> Result<Response<proto::OrderDetails>, Status> {
        let request = request.into_inner();
        let id = convert::order_id(&request.order_id)?;
        let command = Command::AssignCourier { courier_id: convert::courier_id(&request.courier_id)? };
        let executed = self
            .orders
            .execute(&Scope::Internal, id, command, domain::status::Actor::System, request.expected_version)
            .await
            .map_err(|e| self.fail("AssignCourier", e))?;
        Ok(Response::new(convert::details(&executed.details)))
    }

    async fn get_courier_location(
        &self,
        request: Request<proto::GetCourierLocationRequest>,
    ) -> Result<Response<proto::CourierLocation>, Status> {
        let request = request.get_ref();
        let courier = convert::courier_key(&request.store_id, &request.courier_id)?;
        let position =
            self.orders.courier_location(&courier).await.map_err(|e| self.fail("GetCourierLocation", e))?.ok_or_else(
                || {
                    error::status(
                        Code::NotFound,
                        "courier_location_unknown",
                        format!("no known position of courier {} of store {}", courier.courier, courier.store),
                    )
                },
            )?;
        Ok(Response::new(proto::CourierLocation {
            courier_id: courier.courier.to_string(),
            position: Some(position.to_event()),
            store_id: courier.store.to_string(),
        }))
    }

    async fn list_courier_orders(
        &self,
        request: Request<proto::ListCourierOrdersRequest>,
    ) -> Result<Response<proto::GetOrdersResponse>, Status> {
        let request = request.into_inner();
        let courier = convert::courier_key(&request.store_id, &request.courier_id)?;
        let orders = self
            .orders
            .courier_orders(&Scope::Internal, &courier, !request.include_finished)
            .await
            .map_err(|e| self.fail("ListCourierOrders", e))?;
        Ok(Response::new(proto::GetOrdersResponse {
            orders: orders.iter().map(pb::Order::from).collect(),
            next_cursor: String::new(),
        }))
    }

    async fn notify_customer(
        &self,
        request: Request<proto::NotifyCustomerRequest>,
    ) -> Result<Response<proto::NotifyCustomerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::order_id(&request.order_id)?;
        let notification_id = self
            .orders
            .notify(&Scope::Internal, id, &request.message, domain::status::Actor::System)
            .await
            .map_err(|e| self.fail("NotifyCustomer", e))?;
        Ok(Response::new(proto::NotifyCustomerResponse { notification_id: notification_id.to_string() }))
    }
}

fn snapshot(details: &OrderDetails) -> proto::TrackUpdate {
    proto::TrackUpdate { update: Some(Update::Snapshot(convert::details(details))) }
}

async fn last_position(orders: &Orders, courier: Option<&CourierKey>) -> Option<Position> {
    orders.courier_location(courier?).await.ok().flatten()
}

/// The next position from the courier's channel; pending forever without a courier.
async fn next_position(positions: &mut Option<broadcast::Receiver<pb::Position>>) -> Option<pb::Position> {
    match positions {
        Some(receiver) => match receiver.recv().await {
            Ok(position) => Some(position),
            Err(broadcast::error::RecvError::Lagged(_)) => None,
            Err(broadcast::error::RecvError::Closed) => {
                *positions = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}
