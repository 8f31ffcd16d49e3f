//! The CDEK API v2 client. OAuth client-credentials token, cached and refreshed a few
//! minutes before it expires, and fetched again once when CDEK says it expired.
//! Timeouts, 429 and 5xx are retried with jittered exponential back-off; 4xx never
//! (they would fail the same way again). The secret goes only into the token request's
//! form body: never into a URL, never into a log line (`Secret` prints as `***`).

use std::time::{Duration, Instant};

use platform::Secret;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use slog::{Logger, warn};
use tokio::sync::Mutex;

use super::error::CdekError;
use super::model::{Accepted, NewOrder, OrderInfo, Tariff, TariffRequest, TokenAnswer, Webhook};

/// Refresh the token this long before CDEK says it expires.
const REFRESH_EARLY: Duration = Duration::from_secs(180);

#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// e.g. `https://api.cdek.ru/v2` (no trailing slash).
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub timeout: Duration,
    /// Attempts per call for retryable failures (timeouts, 429, 5xx).
    pub attempts: u32,
    pub backoff_start: Duration,
    pub backoff_max: Duration,
}

pub struct CdekClient {
    http: reqwest::Client,
    settings: ClientSettings,
    token: Mutex<Option<(String, Instant)>>,
    log: Logger,
}

impl CdekClient {
    pub fn new(settings: ClientSettings, log: Logger) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(settings.timeout).connect_timeout(settings.timeout).build()?;
        Ok(Self { http, settings, token: Mutex::new(None), log })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    /// A valid token: the cached one, or a new one when there is none, it is about to
    /// expire, or `renew` says CDEK refused it.
    async fn token(&self, renew: bool) -> Result<String, CdekError> {
        let mut cached = self.token.lock().await;
        if let Some((token, refresh_at)) = cached.as_ref() {
            if !renew && Instant::now() < *refresh_at {
                return Ok(token.clone());
            }
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
        ];
        let attempts = self.settings.attempts;
        let answer: TokenAnswer = self
            .with_retries("oauth", attempts, || self.http.post(self.url("/oauth/token")).form(&form).send())
            .await?;
        let lifetime = Duration::from_secs(answer.expires_in).saturating_sub(REFRESH_EARLY);
        let token = answer.access_token;
        *cached = Some((token.clone(), Instant::now() + lifetime.max(Duration::from_secs(1))));
        Ok(token)
    }

    /// Sends a request (built anew for each attempt) with retries, and decodes a 2xx body.
    async fn with_retries<T, F, Fut>(&self, what: &str, attempts: u32, mut send: F) -> Result<T, CdekError>
    where
        T: DeserializeOwned,
        F: FnMut() -> Fut,
        Fut: Future<Output = reqwest::Result<reqwest::Response>>,
    {
        let mut backoff = self.settings.backoff_start;
        let mut attempt = 1;
        loop {
            let error = match send().await {
                Ok(response) => {
                    let status = response.status();
                    let body = response.bytes().await.map_err(|e| CdekError::transport(what, &e))?;
                    if status.is_success() {
                        return serde_json::from_slice(&body).map_err(|e| CdekError::Decode(format!("{what}: {e}")));
                    }
                    CdekError::from_answer(status.as_u16(), &body)
                }
                Err(error) => CdekError::transport(what, &error),
            };
            if !error.is_retryable() || attempt >= attempts {
                return Err(error);
            }
            let wait = backoff.mul_f64(rand::rng().random_range(0.5..1.5));
            warn!(self.log, "CDEK call failed, will retry"; "call" => what, "attempt" => attempt,
                "error" => %error, "retry_in_ms" => wait.as_millis());
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.settings.backoff_max);
            attempt += 1;
        }
    }

    /// An authorized call; a token CDEK calls expired is renewed once.
    async fn call<T: DeserializeOwned>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
    ) -> Result<T, CdekError> {
        self.call_with(what, method, path, body, self.settings.attempts).await
    }

    async fn call_with<T: DeserializeOwned>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
        attempts: u32,
    ) -> Result<T, CdekError> {
        let mut renew = false;
        loop {
            let token = self.token(renew).await?;
            let result = self
                .with_retries(what, attempts, || {
                    let mut request = self.http.request(method.clone(), self.url(path)).bearer_auth(&token);
                    if let Some(body) = body {
                        request = request.json(body);
                    }
                    request.send()
                })
                .await;
            match result {
                Err(error) if error.is_token_refused() && !renew => renew = true,
                other => return other,
            }
        }
    }

    /// `POST /orders`: registration is asynchronous (ACCEPTED → SUCCESSFUL / INVALID).
    /// One attempt only: after a failure nobody knows whether CDEK registered the order,
    /// so the caller looks it up by its number before trying again.
    pub async fn register(&self, order: &NewOrder) -> Result<Accepted, CdekError> {
        self.call_with("register", Method::POST, "/orders", Some(order), 1).await
    }

    pub async fn order(&self, uuid: &str) -> Result<OrderInfo, CdekError> {
        self.call("read order", Method::GET, &format!("/orders/{uuid}"), None::<&()>).await
    }

    pub async fn order_by_cdek_number(&self, cdek_number: &str) -> Result<OrderInfo, CdekError> {
        let path = format!("/orders?cdek_number={}", urlencode(cdek_number));
        self.call("read order by cdek_number", Method::GET, &path, None::<&()>).await
    }

    /// By the store's own number (`im_number`).
    pub async fn order_by_number(&self, number: &str) -> Result<OrderInfo, CdekError> {
        let path = format!("/orders?im_number={}", urlencode(number));
        self.call("read order by im_number", Method::GET, &path, None::<&()>).await
    }

    /// `DELETE /orders/{uuid}`: only while CDEK shows CREATED (else INVALID later).
    pub async fn delete(&self, uuid: &str) -> Result<Accepted, CdekError> {
        self.call("delete order", Method::DELETE, &format!("/orders/{uuid}"), None::<&()>).await
    }

    /// `POST /orders/{uuid}/refusal`: the recipient refused (after CREATED).
    pub async fn refuse(&self, uuid: &str) -> Result<Accepted, CdekError> {
        self.call("refusal", Method::POST, &format!("/orders/{uuid}/refusal"), None::<&()>).await
    }

    pub async fn webhooks(&self) -> Result<Vec<Webhook>, CdekError> {
        self.call("list webhooks", Method::GET, "/webhooks", None::<&()>).await
    }

    pub async fn subscribe(&self, url: &str) -> Result<Accepted, CdekError> {
        let body = serde_json::json!({"type": "ORDER_STATUS", "url": url});
        self.call("subscribe webhook", Method::POST, "/webhooks", Some(&body)).await
    }

    pub async fn unsubscribe(&self, uuid: &str) -> Result<serde_json::Value, CdekError> {
        self.call("delete webhook", Method::DELETE, &format!("/webhooks/{uuid}"), None::<&()>).await
    }

    pub async fn tariff(&self, request: &TariffRequest) -> Result<Tariff, CdekError> {
        self.call("tariff", Method::POST, "/calculator/tariff", Some(request)).await
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Whether a status is worth another try.
pub fn retryable_status(status: u16) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS.as_u16() || status >= 500
}
