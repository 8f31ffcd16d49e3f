//! A customer watching an order, as docs/websocket.md asks a client to behave: fetch
//! `GET /track/{token}` (the snapshot and a ticket), open the socket, follow `seq` and
//! `version`; on a gap refetch the snapshot, on a closed socket reconnect with a fresh
//! ticket and refetch. It stops once it has been shown the order's final status (or the
//! run's drain ends). What it was shown goes to the run's record for invariant 3.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::Load;
use super::metrics::{Count, Measure};
use super::record::SocketRecord;

const FINAL: [&str; 4] = ["delivered", "cancelled", "returned", "delivery_failed"];

/// Runs one socket of order `order_id` (tracking `token`); answers what it was shown.
pub async fn watch(load: Arc<Load>, order_id: String, token: String) -> SocketRecord {
    let mut record = SocketRecord { order_id: order_id.clone(), ..SocketRecord::default() };
    let mut seen_final = false;
    let mut backoff = Duration::from_millis(200);
    let mut first = true;
    while !seen_final && !load.past_deadline() {
        if !first {
            record.reconnects += 1;
            load.metrics.add(Count::Reconnects, 1);
            load.sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        first = false;
        // The snapshot (and a fresh ticket) before each connection.
        let Some((ticket, mut version)) = refetch(&load, &token, &mut record, &mut seen_final).await else { continue };
        if seen_final {
            break;
        }
        let url = format!("{}/ws?ticket={ticket}", load.settings.notifier);
        let connect = tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(url)).await;
        let mut socket = match connect {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(error)) => {
                load.metrics.error_kind(format!("socket connect: {}", short(&error.to_string())));
                continue;
            }
            Err(_) => {
                load.metrics.error_kind("socket connect: timed out".into());
                continue;
            }
        };
        load.metrics.add(Count::SocketsOpened, 1);
        load.metrics.open_sockets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut seq = 0u64;
        let mut timed: HashSet<String> = HashSet::new();
        loop {
            let next = tokio::select! {
                next = socket.next() => next,
                () = load.wait_deadline() => break,
            };
            let text = match next {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    let reason =
                        frame.map_or("no reason".to_owned(), |f| format!("{} {}", u16::from(f.code), f.reason));
                    load.metrics.error_kind(format!("socket closed by the server: {reason}"));
                    break;
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => {
                    load.metrics.error_kind(format!("socket: {}", short(&error.to_string())));
                    break;
                }
                None => {
                    load.metrics.error_kind("socket: closed without a close frame".into());
                    break;
                }
            };
            let arrived = Instant::now();
            let Ok(message) = serde_json::from_str::<Value>(&text) else {
                load.metrics.error_kind("socket: a message that is not JSON".into());
                continue;
            };
            let got_seq = message.get("seq").and_then(Value::as_u64).unwrap_or(0);
            let got_version = message.get("version").and_then(Value::as_i64);
            let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
            let seq_gap = seq > 0 && got_seq != seq + 1;
            seq = got_seq;
            match kind {
                "hello" => {
                    if let Some(status) = message.get("status").and_then(Value::as_str) {
                        shown(&mut record.received, status, &mut seen_final);
                    }
                }
                "update" => {
                    let status = message.get("status").and_then(Value::as_str).unwrap_or("");
                    let changed_status = message
                        .get("changed")
                        .and_then(Value::as_array)
                        .is_some_and(|c| c.iter().any(|x| x.as_str() == Some("status")));
                    if changed_status {
                        if let Some((sent, path)) = load.status_sent(&order_id, status) {
                            if timed.insert(status.to_owned()) {
                                load.metrics.latency_at(path, sent, arrived, 1);
                            }
                        }
                    }
                    shown(&mut record.received, status, &mut seen_final);
                }
                "position" => {
                    let points = message.get("trail").and_then(Value::as_array).map_or(1, |t| t.len().max(1)) as u64;
                    let recorded = message
                        .get("recorded_at")
                        .and_then(Value::as_str)
                        .and_then(|t| t.parse::<DateTime<Utc>>().ok());
                    match (load.courier_of(&order_id), recorded) {
                        (Some(courier), Some(at)) => match load.sent.find(courier, at) {
                            Some(sent) => load.metrics.latency_at(Measure::Position, sent, arrived, points),
                            None => load.metrics.error_kind("position at a socket: no matching batch sent".into()),
                        },
                        _ => load.metrics.error_kind("position at a socket: of an order without a courier".into()),
                    }
                }
                "error" => {
                    let code = message.get("code").and_then(Value::as_str).unwrap_or("-");
                    load.metrics.error_kind(format!("socket error message: {code}"));
                }
                _ => {}
            }
            // A missed message (seq) or change (version): refetch the snapshot.
            let version_gap = kind == "update" && got_version.is_some_and(|v| v > version + 1);
            if let Some(v) = got_version {
                version = version.max(v);
            }
            if seq_gap || version_gap {
                record.gaps += 1;
                load.metrics.add(Count::Gaps, 1);
                if let Some((_, v)) = refetch(&load, &token, &mut record, &mut seen_final).await {
                    version = version.max(v);
                }
            }
            if seen_final {
                break;
            }
        }
        load.metrics.open_sockets.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let _ = socket.close(None).await;
        if !seen_final {
            // A closed socket is a gap marker: the next round refetches.
            record.gaps += 1;
            load.metrics.add(Count::Gaps, 1);
        }
    }
    record
}

fn shown(statuses: &mut Vec<String>, status: &str, seen_final: &mut bool) {
    if status.is_empty() {
        return;
    }
    if statuses.last().map(String::as_str) != Some(status) {
        statuses.push(status.to_owned());
    }
    *seen_final |= FINAL.contains(&status);
}

/// `GET /track/{token}`: records the statuses its timeline shows; answers a fresh ticket
/// and the snapshot's version (None when it could not be read).
async fn refetch(load: &Load, token: &str, record: &mut SocketRecord, seen_final: &mut bool) -> Option<(String, i64)> {
    record.refetches += 1;
    load.metrics.add(Count::Refetches, 1);
    let view = match load.stack.track(token).await {
        Ok(view) => view,
        Err(error) => {
            load.metrics.error("GET /track", &error);
            return None;
        }
    };
    let order = view.get("order")?;
    for entry in order.get("timeline").and_then(Value::as_array).into_iter().flatten() {
        if let Some(status) = entry.get("status").and_then(Value::as_str) {
            shown(&mut record.refetched, status, seen_final);
        }
    }
    if let Some(status) = order.get("status").and_then(Value::as_str) {
        shown(&mut record.refetched, status, seen_final);
    }
    let ticket = view.get("live")?.get("ticket")?.as_str()?.to_owned();
    Some((ticket, order.get("version").and_then(Value::as_i64).unwrap_or(0)))
}

fn short(text: &str) -> String {
    text.chars().take(80).collect()
}
