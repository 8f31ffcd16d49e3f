//! At start-up (with `cdek.subscribe`): makes sure CDEK posts ORDER_STATUS webhooks to
//! this service, reusing a subscription to the same URL if one exists (CDEK allows two
//! per account). Runs in the background and retries while CDEK is away; the poller
//! keeps orders moving meanwhile. The URL holds the webhook secret and is never logged.

use std::sync::Arc;
use std::time::Duration;

use slog::{Logger, error, info, warn};
use tokio_util::sync::CancellationToken;

use crate::cdek::CdekClient;

const ORDER_STATUS: &str = "ORDER_STATUS";

/// What start-up found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribed {
    Reused(String),
    Created(String),
    /// CDEK refused (e.g. two subscriptions exist already); ops must act.
    Refused(String),
}

/// Subscribes once CDEK answers; gives up only on a refusal (or shutdown).
pub async fn ensure(
    cdek: Arc<CdekClient>,
    url: String,
    shown_url: String,
    retry_max: Duration,
    shutdown: CancellationToken,
    log: Logger,
) -> anyhow::Result<()> {
    let mut wait = Duration::from_secs(1);
    loop {
        match subscribe(&cdek, &url).await {
            Ok(Subscribed::Reused(uuid)) => {
                info!(log, "CDEK webhook subscription reused"; "uuid" => uuid, "public_url" => &shown_url);
                return Ok(());
            }
            Ok(Subscribed::Created(uuid)) => {
                info!(log, "CDEK webhook subscription created"; "uuid" => uuid, "public_url" => &shown_url);
                return Ok(());
            }
            Ok(Subscribed::Refused(reason)) => {
                error!(log, "CDEK refused the webhook subscription; statuses arrive by polling only until it is fixed \
                    (CDEK allows two subscriptions per account: GET /v2/webhooks lists them)"; "reason" => reason);
                return Ok(());
            }
            Err(reason) => {
                warn!(log, "could not reach CDEK to subscribe to webhooks, will retry";
                    "error" => reason, "retry_in_ms" => wait.as_millis());
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(retry_max);
    }
}

/// One try: reuse, or create. `Err` when CDEK could not be asked (worth retrying).
pub async fn subscribe(cdek: &CdekClient, url: &str) -> Result<Subscribed, String> {
    let existing = cdek.webhooks().await.map_err(|e| e.to_string())?;
    if let Some(hook) = existing.iter().find(|w| w.kind == ORDER_STATUS && w.url == url) {
        return Ok(Subscribed::Reused(hook.uuid.clone()));
    }
    match cdek.subscribe(url).await {
        Ok(accepted) => Ok(Subscribed::Created(accepted.entity.map(|e| e.uuid).unwrap_or_default())),
        Err(error) if error.is_retryable() => Err(error.to_string()),
        Err(error) => Ok(Subscribed::Refused(error.to_string())),
    }
}
