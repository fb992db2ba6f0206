//! Pushing events to a plugin's backend: `POST <endpoint>/_plexica/events`, signed like every
//! platform request, one event (CloudEvents' structured mode) or, to a plugin that takes them,
//! a batch (batched mode). Both transports push through here.

use std::time::Duration;

use plexica_sdk::api::events::{
    BATCH_BUDGET_HEADER, BATCH_CONTENT_TYPE, EVENT_CONTENT_TYPE, EVENTS_PATH, MAX_RETRIES,
    RETRIES_HEADER,
};

use crate::db::delivery::Subscription;
use crate::plugins::client::{PluginClient, PluginRequest};

/// Why a push failed, and how many retries the failing handler asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushFailure {
    /// What went wrong, for the log and the dead letter.
    pub error: String,
    /// The handler's `retries` ([`RETRIES_HEADER`], capped at [`MAX_RETRIES`]), if it said.
    pub retries: Option<u32>,
}

impl PushFailure {
    fn unreachable(url: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            error: format!("cannot reach {url}: {}", innermost(error)),
            retries: None,
        }
    }

    fn answered(
        url: &str,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &str,
    ) -> Self {
        Self {
            error: format!(
                "{url} answered {status}: {}",
                body.chars().take(500).collect::<String>()
            ),
            retries: headers
                .get(RETRIES_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok())
                .map(|n| n.min(MAX_RETRIES)),
        }
    }

    /// How long to wait before the retry that follows `failed_attempts` failed attempts, or
    /// `None` when they are all used up (dead letter): the handler's retries, else as many
    /// as `delays` has; the `delays` in order, the last one repeated.
    pub fn retry_delay(&self, failed_attempts: u32, delays: &[Duration]) -> Option<Duration> {
        let allowed = self
            .retries
            .unwrap_or_else(|| u32::try_from(delays.len()).unwrap_or(MAX_RETRIES));
        if failed_attempts >= allowed {
            return None;
        }
        let index = usize::try_from(failed_attempts).unwrap_or(usize::MAX);
        delays
            .get(index)
            .or_else(|| delays.last())
            .copied()
            .or(Some(Duration::ZERO))
    }
}

/// What a batched push achieved.
#[derive(Debug)]
pub enum BatchPush {
    /// This many, from the first, were handled; and why the next one failed, if one did (when
    /// none did, the ones after them were not tried).
    Handled(usize, Option<PushFailure>),
    /// The plugin answered without saying how many it handled (it takes no batches).
    Unsupported,
}

/// `POST <endpoint>/_plexica/events` with `envelopes` as one batch (CloudEvents' batched
/// mode, [`BATCH_CONTENT_TYPE`]), signed like every platform request.
pub async fn push_batch(
    http: &PluginClient,
    sub: &Subscription,
    envelopes: &[&str],
    timeout: Duration,
) -> BatchPush {
    let body = format!("[{}]", envelopes.join(","));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static(BATCH_CONTENT_TYPE),
    );
    // Half the timeout to start events in, the other half for the last one to finish.
    headers.insert(
        BATCH_BUDGET_HEADER,
        reqwest::header::HeaderValue::from(
            u64::try_from(timeout.as_millis() / 2).unwrap_or(u64::MAX),
        ),
    );
    let url = format!("{}{EVENTS_PATH}", sub.endpoint);
    let sent = http
        .send(
            &sub.endpoint,
            sub.secret.as_bytes(),
            events_push(headers, body.into(), timeout),
        )
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => return BatchPush::Handled(0, Some(PushFailure::unreachable(&url, &e))),
    };
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let handled = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("handled").and_then(serde_json::Value::as_u64))
        .and_then(|n| usize::try_from(n).ok())
        .map(|n| n.min(envelopes.len()));
    match handled {
        // All, or the first ones when the plugin's time budget ran out (the rest go again).
        Some(n) if status.is_success() && n > 0 => BatchPush::Handled(n, None),
        Some(n) => BatchPush::Handled(
            n,
            Some(PushFailure::answered(&url, status, &headers, &text)),
        ),
        None => BatchPush::Unsupported,
    }
}

/// A push of `body` to the backend's [`EVENTS_PATH`].
fn events_push(
    headers: reqwest::header::HeaderMap,
    body: bytes::Bytes,
    timeout: Duration,
) -> PluginRequest<'static> {
    PluginRequest {
        method: reqwest::Method::POST,
        target: EVENTS_PATH,
        headers,
        body,
        timeout: Some(timeout),
    }
}

/// `POST <endpoint>/_plexica/events` with `envelope` (CloudEvents' structured mode,
/// [`EVENT_CONTENT_TYPE`]), signed with the subscription's secret;
/// `Err` says why it failed (transport error, or the plugin's non-2xx answer).
pub async fn push(
    http: &PluginClient,
    sub: &Subscription,
    envelope: &str,
    timeout: Duration,
) -> Result<(), PushFailure> {
    let url = format!("{}{EVENTS_PATH}", sub.endpoint);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static(EVENT_CONTENT_TYPE),
    );
    let push = events_push(headers, bytes::Bytes::from(envelope.to_owned()), timeout);
    let response = http
        .send(&sub.endpoint, sub.secret.as_bytes(), push)
        .await
        .map_err(|e| PushFailure::unreachable(&url, &e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Err(PushFailure::answered(&url, status, &headers, &body))
}

fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(retries: Option<u32>) -> PushFailure {
        PushFailure {
            error: "down".to_owned(),
            retries,
        }
    }

    #[test]
    fn a_handlers_retries_govern_and_the_last_delay_repeats() {
        let delays = [Duration::from_millis(100), Duration::from_millis(200)];
        let schedule = |f: &PushFailure| -> Vec<Option<Duration>> {
            (0..6).map(|n| f.retry_delay(n, &delays)).collect()
        };
        let ms = |n| Some(Duration::from_millis(n));
        // Without a word from the handler: one retry per configured delay.
        assert_eq!(
            schedule(&failure(None)),
            [ms(100), ms(200), None, None, None, None]
        );
        // More retries than delays: the last delay again.
        assert_eq!(
            schedule(&failure(Some(4))),
            [ms(100), ms(200), ms(200), ms(200), None, None]
        );
        assert_eq!(schedule(&failure(Some(0)))[0], None);
        assert_eq!(failure(Some(1)).retry_delay(0, &[]), Some(Duration::ZERO));
    }

    #[test]
    fn a_plugin_cannot_ask_for_more_than_the_cap() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            RETRIES_HEADER,
            reqwest::header::HeaderValue::from(1_000_000),
        );
        let f = PushFailure::answered(
            "http://p",
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            &headers,
            "",
        );
        assert_eq!(f.retries, Some(MAX_RETRIES));
        headers.insert(
            RETRIES_HEADER,
            reqwest::header::HeaderValue::from_static("lots"),
        );
        let f = PushFailure::answered(
            "http://p",
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            &headers,
            "",
        );
        assert_eq!(f.retries, None);
    }
}
