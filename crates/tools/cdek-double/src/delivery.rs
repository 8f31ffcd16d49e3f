//! Posts ORDER_STATUS webhooks from the background: each delivery is its own task, so a
//! slow or failing receiver never blocks the API or other deliveries. Only a 200 answer
//! counts as delivered; anything else (another status, a timeout, a refused connection)
//! is retried after `DoubleConfig::webhook_backoff`, up to `webhook_attempts` tries.
//! When the last try failed on a timeout or a connection error, the subscriptions to that
//! URL are switched off (as CDEK does after 12 tries in 75 minutes).

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use crate::store::{Delivery, Shared};

pub async fn run(shared: Arc<Shared>, mut deliveries: UnboundedReceiver<Delivery>, cancel: CancellationToken) {
    let log = shared.config.log.clone();
    let client = match reqwest::Client::builder()
        .connect_timeout(shared.config.webhook_timeout)
        .timeout(shared.config.webhook_timeout)
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            slog::error!(log, "cannot build the webhook client: webhooks will not be delivered"; "error" => %error);
            return;
        }
    };
    loop {
        let delivery = tokio::select! {
            () = cancel.cancelled() => return,
            delivery = deliveries.recv() => match delivery {
                Some(delivery) => delivery,
                None => return,
            },
        };
        let task = deliver(shared.clone(), client.clone(), delivery);
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = task => {}
            }
        });
    }
}

/// The receiver's scheme, host and port: its path may hold a secret, so it is not logged.
fn origin(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|url| {
            format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or("?"), url.port_or_known_default().unwrap_or(0))
        })
        .unwrap_or_else(|_| "<unparsable url>".to_owned())
}

async fn deliver(shared: Arc<Shared>, client: reqwest::Client, delivery: Delivery) {
    let log = shared.config.log.clone();
    let attempts = shared.config.webhook_attempts.max(1);
    let order = delivery.payload.get("uuid").map(ToString::to_string).unwrap_or_default();
    for attempt in 1..=attempts {
        let outcome = client.post(&delivery.url).json(&delivery.payload).send().await;
        let (unreachable, problem) = match outcome {
            Ok(response) if response.status() == StatusCode::OK => {
                shared.webhook_delivered();
                slog::debug!(log, "webhook delivered"; "to" => origin(&delivery.url), "order" => &order, "attempt" => attempt);
                return;
            }
            Ok(response) => (false, format!("answered {}", response.status().as_u16())),
            Err(error) => (error.is_timeout() || error.is_connect(), error.without_url().to_string()),
        };
        shared.webhook_attempt_failed();
        slog::info!(log, "webhook delivery failed";
            "to" => origin(&delivery.url), "order" => &order, "attempt" => attempt, "problem" => problem);
        if attempt == attempts {
            shared.webhook_given_up(&delivery.url, unreachable);
            return;
        }
        tokio::time::sleep(shared.config.webhook_backoff(attempt)).await;
    }
}
