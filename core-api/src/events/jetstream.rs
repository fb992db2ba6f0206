//! Distributed event delivery through NATS JetStream (events-sdk.md, "Distributed transport").
//! The relay publishes each committed event to the stream `PLEXICA_EVENTS` on the subject
//! `plexica.<tenant>.<type>`, with the event id as `Nats-Msg-Id` (JetStream drops duplicates
//! within its window, so a relay repeated after a crash publishes once). Each active
//! subscription has a durable consumer filtered to its tenant and patterns; every replica pulls
//! from it, so replicas share the work and JetStream hands each event to one of them. A message
//! is acknowledged only once the plugin took it; a failure is redelivered after the configured
//! delays, and after the last attempt it goes to the dead letter store.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, Context as JetStream, stream};
use futures_util::StreamExt;
use plexica_sdk::api::events::{Event, MAX_RETRIES};
use plexica_sdk::api::time::now_ms;
use rand::Rng;

use super::push::{BatchPush, PushFailure};
use crate::db::delivery::{EventHead, Subscription};
use crate::events::DeliveryEnv;
use crate::plugins::client::PluginClient;

/// The stream all events go to.
pub const STREAM: &str = "PLEXICA_EVENTS";

/// The subject of `event`.
pub fn subject(event: &EventHead<'_>) -> String {
    format!("plexica.{}.{}", event.tenant, event.event_type)
}

/// The subject filter of a subscription pattern in `tenant` (`a.b.*` → `plexica.t.a.b.>`).
pub fn filter(tenant: &str, pattern: &str) -> String {
    match pattern.strip_suffix(".*") {
        Some(prefix) => format!("plexica.{tenant}.{prefix}.>"),
        None => format!("plexica.{tenant}.{pattern}"),
    }
}

/// The one subject filter of `sub`'s consumer: its pattern's, or, for several patterns, its
/// tenant's (the patterns are then matched here). One filter, because servers before NATS 2.10
/// ignore a list of them (`filter_subjects`) and would hand the consumer every event.
pub fn consumer_filter(sub: &Subscription) -> String {
    match sub.patterns.as_slice() {
        [pattern] => filter(&sub.tenant, pattern),
        _ => format!("plexica.{}.>", sub.tenant),
    }
}

/// The durable consumer of a subscription made at `created_at`.
pub fn consumer_name(sub: &Subscription, created_at: i64) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    format!(
        "sub_{}_{}_{created_at}",
        clean(&sub.tenant),
        clean(&sub.plugin_id)
    )
}

/// The stream, created if missing.
pub async fn stream(js: &JetStream) -> Result<stream::Stream, String> {
    js.get_or_create_stream(stream::Config {
        name: STREAM.to_owned(),
        subjects: vec!["plexica.>".to_owned()],
        duplicate_window: Duration::from_secs(120),
        max_age: Duration::from_secs(7 * 24 * 3600),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("cannot open the JetStream stream {STREAM}: {e}"))
}

/// Outbox rows handed to JetStream, `(seq, acknowledgement)` in order; `None` for a row that
/// is not an event (skipped).
pub type Sent = Vec<(i64, Option<jetstream::context::PublishAckFuture>)>;

/// Sends outbox rows `(seq, envelope)` to JetStream in order without awaiting their
/// acknowledgements (see [`stored`]); stops at the first row JetStream did not take.
pub async fn send_all(js: &JetStream, rows: &[(i64, String)]) -> Sent {
    let mut sent = Vec::with_capacity(rows.len());
    for (seq, envelope) in rows {
        let Some(event) = EventHead::of(envelope) else {
            tracing::error!("an outbox row is not an event; skipped");
            sent.push((*seq, None));
            continue;
        };
        let message = jetstream::message::PublishMessage::build()
            .message_id(&event.id)
            .payload(envelope.clone().into());
        match js.send_publish(subject(&event), message).await {
            Ok(ack) => sent.push((*seq, Some(ack))),
            Err(e) => {
                tracing::warn!(error = %e, "JetStream did not take an event; retried shortly");
                break;
            }
        }
    }
    sent
}

/// Awaits the acknowledgements of [`send_all`]; returns how many JetStream stored and the
/// sequence number up to which every row is stored (or skipped). Stops at the first row not
/// stored: it and those after it are published again next time (the event id, as
/// `Nats-Msg-Id`, deduplicates them).
pub async fn stored(sent: Sent) -> (usize, Option<i64>) {
    let (mut stored, mut last) = (0, None);
    for (seq, ack) in sent {
        if let Some(ack) = ack {
            if let Err(e) = ack.await {
                tracing::warn!(error = %e, "JetStream did not store an event; retried shortly");
                break;
            }
            stored += 1;
        }
        last = Some(seq);
    }
    (stored, last)
}

/// Keeps one consumer task per active subscription, checking every second for new, changed
/// and removed ones.
pub fn supervise(env: DeliveryEnv, js: JetStream) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = env.http.clone();
        let mut running: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
        while !env.core.pool().is_closed() {
            match env.core.all_subscriptions().await {
                Ok(subscriptions) => {
                    let mut wanted = HashMap::new();
                    for (sub, created_at) in subscriptions.into_iter().filter(|(s, _)| s.active) {
                        wanted.insert(consumer_name(&sub, created_at), (sub, created_at));
                    }
                    running.retain(|name, task| {
                        let keep = wanted.contains_key(name) && !task.is_finished();
                        if !keep {
                            task.abort();
                        }
                        keep
                    });
                    for (name, (sub, created_at)) in wanted {
                        if let std::collections::hash_map::Entry::Vacant(slot) =
                            running.entry(name.clone())
                        {
                            slot.insert(tokio::spawn(consume(
                                env.clone(),
                                js.clone(),
                                http.clone(),
                                name,
                                sub,
                                created_at,
                            )));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the subscriptions"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        for task in running.values() {
            task.abort();
        }
    })
}

/// Events a replica holds unacknowledged per subscription: it pushes them in stream order, so
/// that the next ones are already there when a push is acknowledged.
const IN_FLIGHT: i64 = 256;

/// How long before its subscription a consumer starts: clocks of the core API and the NATS
/// server may differ a little, and an event relayed just before the subscription is one the
/// embedded transport would deliver too.
const START_MARGIN_MS: i64 = 2_000;

/// Where `sub`'s consumer starts: at the events stored since the subscription was made
/// (`created_at`, Unix ms), however long the supervisor took to open the consumer.
fn start_policy(created_at: i64) -> DeliverPolicy {
    let nanos = i128::from(created_at.saturating_sub(START_MARGIN_MS)) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(start_time) => DeliverPolicy::ByStartTime { start_time },
        Err(_) => DeliverPolicy::New,
    }
}

/// Pulls `sub`'s events from its durable consumer and pushes them to the plugin in stream
/// (commit) order, in batches; a failed one is redelivered after its retry delay, behind the
/// ones that followed it. Replicas share a consumer, so with several replicas one subscriber's
/// events may be pushed by two of them at once.
async fn consume(
    env: DeliveryEnv,
    js: JetStream,
    http: PluginClient,
    name: String,
    sub: Subscription,
    created_at: i64,
) {
    let config = pull::Config {
        durable_name: Some(name.clone()),
        filter_subject: consumer_filter(&sub),
        deliver_policy: start_policy(created_at),
        // Each failure decides itself when it is dead-lettered (a handler's `retries` may ask
        // for more than the configured delays); this only bounds a message no answer settles.
        max_deliver: i64::from(MAX_RETRIES) + 2,
        max_ack_pending: IN_FLIGHT,
        ack_wait: env.config.delivery_timeout + Duration::from_secs(20),
        inactive_threshold: Duration::from_secs(24 * 3600),
        ..Default::default()
    };
    let messages = async {
        let stream = stream(&js).await?;
        let consumer = stream
            .get_or_create_consumer(&name, config)
            .await
            .map_err(|e| format!("cannot open consumer {name}: {e}"))?;
        consumer.messages().await.map_err(|e| e.to_string())
    };
    let messages = match messages.await {
        Ok(messages) => messages,
        Err(e) => {
            tracing::warn!(error = %e, consumer = %name, "consumer not started; retried in a second");
            return;
        }
    };
    let mut chunks = messages.ready_chunks(BATCH);
    while let Some(chunk) = chunks.next().await {
        let mut wanted = Vec::with_capacity(chunk.len());
        for message in chunk.into_iter().flatten() {
            let envelope = String::from_utf8_lossy(&message.payload).into_owned();
            let wanted_here = match EventHead::of(&envelope) {
                Some(head) => sub.wants(&head),
                None => {
                    let _ = message.ack_with(AckKind::Term).await;
                    continue;
                }
            };
            if !wanted_here {
                let _ = message.ack().await;
                continue;
            }
            wanted.push(Pulled { message, envelope });
        }
        deliver(&env, &http, &sub, wanted).await;
    }
}

/// The most events one push carries (whatever the consumer has ready, up to this).
const BATCH: usize = 64;

/// A message pulled for a subscriber, and its envelope.
struct Pulled {
    message: jetstream::Message,
    envelope: String,
}

/// Pushes `pulled` to the plugin in order, as batches if it asked for them (else one a push):
/// each handled message is acknowledged; a
/// failed one is retried or dead-lettered on its own ([`failed`]) and the ones after it are
/// pushed again at once.
async fn deliver(env: &DeliveryEnv, http: &PluginClient, sub: &Subscription, pulled: Vec<Pulled>) {
    let sub = &env.targets.route(sub.clone());
    let (mut start, mut batches) = (0, sub.batches);
    while start < pulled.len() {
        // A plugin that takes no batches gets one event a push.
        let end = if batches { pulled.len() } else { start + 1 };
        let batch = &pulled[start..end];
        let outcome = if let [one] = batch {
            match super::push::push(http, sub, &one.envelope, env.config.delivery_timeout).await {
                Ok(()) => BatchPush::Handled(1, None),
                Err(failure) => BatchPush::Handled(0, Some(failure)),
            }
        } else {
            let envelopes: Vec<&str> = batch.iter().map(|p| p.envelope.as_str()).collect();
            super::push::push_batch(http, sub, &envelopes, env.config.delivery_timeout).await
        };
        let BatchPush::Handled(handled, failure) = outcome else {
            batches = false;
            continue;
        };
        for one in &batch[..handled] {
            acknowledge(&one.message).await;
        }
        start += handled;
        if let (Some(failure), Some(one)) = (failure, batch.get(handled)) {
            failed(env, sub, one, &failure).await;
            start += 1;
        }
    }
}

async fn acknowledge(message: &jetstream::Message) {
    if message.ack().await.is_ok() {
        metrics::counter!(crate::metrics::EVENTS_DELIVERED).increment(1);
    }
}

/// A push of `one` failed: redelivered after its next retry delay (jittered), or, once its
/// retries are used up ([`PushFailure::retry_delay`]), dead-lettered.
async fn failed(env: &DeliveryEnv, sub: &Subscription, one: &Pulled, failure: &PushFailure) {
    metrics::counter!(crate::metrics::EVENTS_FAILED).increment(1);
    let attempt = one.message.info().map_or(1, |i| i.delivered);
    let failed_attempts = u32::try_from(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
    match failure.retry_delay(failed_attempts, &env.config.retry_delays) {
        Some(delay) => {
            let jitter = rand::thread_rng().gen_range(0.8..1.2);
            let _ = one
                .message
                .ack_with(AckKind::Nak(Some(delay.mul_f64(jitter))))
                .await;
        }
        None => {
            let Ok(event) = serde_json::from_str::<Event>(&one.envelope) else {
                let _ = one.message.ack_with(AckKind::Term).await;
                return;
            };
            let stored = env
                .core
                .insert_dead_letter(
                    &event,
                    &sub.plugin_id,
                    &one.envelope,
                    &failure.error,
                    attempt,
                    now_ms(),
                )
                .await;
            match stored {
                Ok(id) => {
                    let _ = one.message.ack_with(AckKind::Term).await;
                    metrics::counter!(crate::metrics::EVENTS_DEAD_LETTERED).increment(1);
                    tracing::warn!(dead_letter = %id, plugin = %sub.plugin_id, event = %event.id, "event dead-lettered");
                }
                // Not stored: let JetStream redeliver it later rather than lose it.
                Err(e) => {
                    tracing::error!(error = %e, "cannot store a dead letter");
                    let _ = one
                        .message
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(5))))
                        .await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_filters() {
        assert_eq!(
            filter("acme", "core.workspace.*"),
            "plexica.acme.core.workspace.>"
        );
        assert_eq!(
            filter("acme", "core.user.created"),
            "plexica.acme.core.user.created"
        );
        let sub = Subscription {
            tenant: "acme-eu".into(),
            plugin_id: "crm".into(),
            endpoint: String::new(),
            secret: String::new(),
            patterns: vec![],
            workspace_aware: false,
            active: true,
            batches: false,
        };
        assert_eq!(consumer_name(&sub, 17), "sub_acme_eu_crm_17");
        assert_eq!(consumer_filter(&sub), "plexica.acme-eu.>");
        let one = Subscription {
            patterns: vec!["core.workspace.*".into()],
            ..sub
        };
        assert_eq!(consumer_filter(&one), "plexica.acme-eu.core.workspace.>");
    }
}
