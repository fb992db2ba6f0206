//! Embedded event delivery (events-sdk.md, "Delivery"): the relay moves committed events from
//! the outboxes (core and every tenant) to per-subscriber deliveries; the dispatcher pushes
//! each to its plugin (`POST <endpoint>/_plexica/events`, signed with the install's secret),
//! retries failures after the configured delays (jittered), and moves what still fails to the
//! dead letter store. Per (tenant, subscriber) deliveries are sent one after the other in commit
//! order, a stream of up to [`STREAM`] at a time held by one dispatcher; a failed one stops its
//! stream until its retry, so events arrive in commit order unless a retry is pending. The relay
//! wakes when a request changed something, the dispatcher when the relay queued something, and
//! both every 200 ms anyway (other replicas' commits, restarts).

use std::time::Duration;

use plexica_sdk::api::time::now_ms;
use rand::Rng;
use tokio::task::JoinSet;

use super::push::{BatchPush, PushFailure, push, push_batch};
use crate::db::DbResult;
use crate::db::delivery::{Delivery, EventHead, Retry, Settlement, Subscription};
use crate::events::DeliveryEnv;
use crate::plugins::client::PluginClient;
use crate::slug::TenantSlug;
use crate::transport::EventTransport;
use async_nats::jetstream::Context as JetStream;

/// How long a claimed delivery stays with its dispatcher beyond the delivery timeout, before
/// another (or a restarted) dispatcher may take it, ms.
const LEASE_MARGIN_MS: i64 = 5_000;
/// Deliveries of one subscriber claimed and sent in one go.
const STREAM: i64 = 64;
/// Serializes this process's delivery writes to the core database (relay and dispatcher), so
/// that they queue in order instead of polling SQLite's lock.
type Writes = std::sync::Arc<tokio::sync::Mutex<()>>;

/// How long the loops wait after a failed step (typically a busy database) before trying again.
const RETRY_AFTER_ERROR: Duration = Duration::from_millis(10);
/// How long the dispatcher sleeps when nothing woke it (one query on the core database).
const IDLE: Duration = Duration::from_millis(200);
/// How long the relay sleeps when nothing woke it. This process's own writes wake it at once
/// (`delivery_wake`); the sweep is for the outboxes other replicas wrote to and did not relay
/// (one crashed after its commit), and for writes made outside a request. It reads every
/// tenant's outbox at once, which under load on PostgreSQL showed as the p99 of unrelated
/// requests when it ran five times a second (docs/benchmarks.md).
const SWEEP: Duration = Duration::from_secs(1);

/// Runs the relay and the dispatcher until the process ends: with NATS, the relay publishes to
/// JetStream and [`super::jetstream::supervise`] consumes, while this dispatcher still sends
/// the retries of dead letters.
pub fn spawn(env: DeliveryEnv) -> tokio::task::JoinHandle<()> {
    let js = match &env.transport {
        EventTransport::Embedded => None,
        EventTransport::Nats(client) => Some(async_nats::jetstream::new(client.clone())),
    };
    if let Some(js) = &js {
        super::jetstream::supervise(env.clone(), js.clone());
    }
    let gauges = env.clone();
    tokio::spawn(async move {
        while !gauges.core.pool().is_closed() {
            if let Err(e) = record_gauges(&gauges).await {
                tracing::warn!(error = %e, "cannot read the event gauges");
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    let queued = std::sync::Arc::new(tokio::sync::Notify::new());
    let writes = Writes::default();
    let dispatcher = {
        let (env, queued, writes) = (env.clone(), queued.clone(), writes.clone());
        tokio::spawn(async move {
            let http = env.http.clone();
            while !env.core.pool().is_closed() {
                let sent = match dispatch(&env, &http, &writes).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "event dispatch failed; retrying");
                        tokio::time::sleep(RETRY_AFTER_ERROR).await;
                        continue;
                    }
                };
                if sent == 0 {
                    tokio::select! {
                        () = queued.notified() => {}
                        () = tokio::time::sleep(IDLE) => {}
                    }
                }
            }
        })
    };
    tokio::spawn(async move {
        let mut stream_ready = js.is_none();
        // Until the core API closed its databases (shut down).
        while !env.core.pool().is_closed() {
            if let (false, Some(js)) = (stream_ready, &js) {
                // Events are relayed only once the stream exists to keep them.
                match super::jetstream::stream(js).await {
                    Ok(_) => stream_ready = true,
                    Err(e) => {
                        tracing::warn!(error = %e, "JetStream is not ready; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            let relayed = match relay(&env, js.as_ref(), &writes).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "event relay failed; retrying");
                    tokio::time::sleep(RETRY_AFTER_ERROR).await;
                    continue;
                }
            };
            if relayed > 0 {
                queued.notify_one();
            } else {
                tokio::select! {
                    () = env.wake.notified() => {}
                    () = tokio::time::sleep(SWEEP) => {}
                }
            }
        }
    });
    dispatcher
}

/// An outbox and how far the relay has moved it.
pub(crate) struct Outbox {
    /// Its relay cursor key: `core`, or `tenant:<tenant id>` (so that a tenant created again
    /// under the same slug starts afresh).
    pub(crate) key: String,
    /// The database holding it.
    pub(crate) pool: sqlx::AnyPool,
    /// The last sequence number relayed.
    pub(crate) cursor: i64,
}

/// Every outbox — the core database's and each live tenant's — with its relay cursor (read in
/// one query).
pub(crate) async fn outboxes(env: &DeliveryEnv) -> DbResult<Vec<Outbox>> {
    let mut all = vec![("core".to_owned(), env.core.pool().clone())];
    for tenant in env.core.all_tenants().await? {
        let Ok(slug) = TenantSlug::parse(&tenant.slug) else {
            continue;
        };
        if matches!(
            tenant.status,
            plexica_sdk::api::core::TenantStatus::Provisioning
                | plexica_sdk::api::core::TenantStatus::Deleted
        ) {
            continue;
        }
        let db = env.tenant_dbs.get(&slug).await?;
        all.push((format!("tenant:{}", tenant.id), db.pool().clone()));
    }
    let known = env.core.relay_cursors().await?;
    let mut outboxes = Vec::with_capacity(all.len());
    for (key, pool) in all {
        let cursor = match known.get(&key) {
            Some(seq) => *seq,
            None => env.core.relay_cursor(&key, &pool).await?,
        };
        outboxes.push(Outbox { key, pool, cursor });
    }
    Ok(outboxes)
}

/// Sets the event gauges of `/metrics`: outbox depth (all outboxes), pending deliveries,
/// active subscriptions, tenants.
async fn record_gauges(env: &DeliveryEnv) -> DbResult<()> {
    let mut depth = 0;
    for outbox in outboxes(env).await? {
        depth += crate::db::outbox::depth(&outbox.pool, outbox.cursor).await?;
    }
    let (deliveries, subscriptions, tenants) = env.core.delivery_gauges().await?;
    metrics::gauge!(crate::metrics::OUTBOX_DEPTH).set(depth as f64);
    metrics::gauge!(crate::metrics::PENDING_DELIVERIES).set(deliveries as f64);
    metrics::gauge!(crate::metrics::SUBSCRIPTIONS).set(subscriptions as f64);
    metrics::gauge!(crate::metrics::TENANTS).set(tenants as f64);
    Ok(())
}

/// Relays the events after the relay cursor of every outbox (at most 500 per outbox): fanned
/// out to their subscribers' deliveries, or published to JetStream (stopping, per outbox, at
/// the first event JetStream does not take: relayed next time, in order). The deliveries and
/// the moved cursors are written in one transaction; outboxes' databases are only read.
/// Returns how many events it relayed.
async fn relay(env: &DeliveryEnv, js: Option<&JetStream>, writes: &Writes) -> DbResult<usize> {
    // Each outbox is its own database (SQLite file or schema): read them all at once.
    let reads = outboxes(env).await?.into_iter().map(|outbox| async move {
        let rows = crate::db::outbox::after(&outbox.pool, outbox.cursor, 500).await?;
        Ok::<_, crate::db::DbError>((outbox.key, rows))
    });
    let mut batches = Vec::new();
    for read in futures_util::future::join_all(reads).await {
        let (key, rows) = read?;
        if !rows.is_empty() {
            batches.push((key, rows));
        }
    }
    if batches.is_empty() {
        return Ok(0);
    }
    let mut cursors = Vec::with_capacity(batches.len());
    let mut relayed = 0;
    if let Some(js) = js {
        // Every outbox's batch is sent before any acknowledgement is awaited.
        let mut sent = Vec::with_capacity(batches.len());
        for (key, rows) in &batches {
            sent.push((key, super::jetstream::send_all(js, rows).await));
        }
        for (key, sent) in sent {
            let (stored, last) = super::jetstream::stored(sent).await;
            relayed += stored;
            cursors.extend(last.map(|last| (key.clone(), last)));
        }
        let _serialized = writes.lock().await;
        env.core.advance_relay_cursors(&cursors).await?;
        metrics::counter!(crate::metrics::EVENTS_PUBLISHED).increment(relayed as u64);
        return Ok(relayed);
    }
    let mut subscribers: std::collections::HashMap<String, Vec<Subscription>> = Default::default();
    for (sub, _) in env.core.all_subscriptions().await? {
        subscribers.entry(sub.tenant.clone()).or_default().push(sub);
    }
    let mut events = Vec::new();
    for (key, rows) in &batches {
        for (_, envelope) in rows {
            let Some(event) = EventHead::of(envelope) else {
                tracing::error!("an outbox row is not an event; skipped");
                continue;
            };
            events.push((event, envelope.as_str()));
        }
        relayed += rows.len();
        cursors.extend(rows.last().map(|(seq, _)| (key.clone(), *seq)));
    }
    let mut queued = Vec::new();
    for (event, envelope) in &events {
        for sub in subscribers.get(event.tenant.as_ref()).into_iter().flatten() {
            if sub.wants(event) {
                queued.push((sub.plugin_id.as_str(), event, *envelope));
            }
        }
    }
    let _serialized = writes.lock().await;
    env.core.enqueue_all(&queued, &cursors, now_ms()).await?;
    metrics::counter!(crate::metrics::EVENTS_PUBLISHED).increment(relayed as u64);
    Ok(relayed)
}

/// Sends the due deliveries, each subscriber's stream concurrently with the others, then
/// records every outcome in one transaction: the delivered removed, the failed retried later or
/// dead-lettered, the untried given back. Returns how many it claimed.
async fn dispatch(env: &DeliveryEnv, http: &PluginClient, writes: &Writes) -> DbResult<usize> {
    let lease = i64::try_from(env.config.delivery_timeout.as_millis())
        .unwrap_or(i64::MAX)
        .saturating_mul(2)
        .saturating_add(LEASE_MARGIN_MS);
    let streams = {
        let _serialized = writes.lock().await;
        env.core.claim_streams(now_ms(), lease, STREAM).await?
    };
    let count = streams.iter().map(Vec::len).sum();
    if count == 0 {
        return Ok(0);
    }
    let subscriptions = match active_subscriptions(env).await {
        Ok(subscriptions) => subscriptions,
        Err(e) => {
            // Claimed but not sent: given back now rather than held until their lease ends.
            let round = Settlement {
                untried: streams.into_iter().flatten().collect(),
                ..Settlement::default()
            };
            settle(env, writes, &round, now_ms()).await;
            return Err(e);
        }
    };
    let mut sends = JoinSet::new();
    for stream in streams {
        let subscription = stream.first().and_then(|first| {
            subscriptions
                .iter()
                .find(|s| s.tenant == first.tenant && s.plugin_id == first.plugin_id)
                .map(|s| env.targets.route(s.clone()))
        });
        let (timeout, http) = (env.config.delivery_timeout, http.clone());
        sends.spawn(async move { send_stream(&http, subscription, timeout, stream).await });
    }
    let mut round = Settlement::default();
    let mut failures = Vec::new();
    while let Some(done) = sends.join_next().await {
        if let Ok(outcome) = done {
            round.delivered.extend(outcome.delivered);
            failures.extend(outcome.failure);
            round.untried.extend(outcome.untried);
        }
    }
    let now = now_ms();
    for (delivery, failure) in failures {
        metrics::counter!(crate::metrics::EVENTS_FAILED).increment(1);
        match retry_at(env, &delivery, &failure, now) {
            Some(at) => round.retries.push(Retry {
                delivery,
                at,
                error: failure.error,
            }),
            None => round.dead.push((delivery, failure.error)),
        }
    }
    settle(env, writes, &round, now).await;
    Ok(count)
}

/// Records `round` ([`CoreStore::settle`]), trying again while the database refuses (what was
/// pushed is not pushed again after its lease because of a busy moment), until the core API
/// shuts down.
async fn settle(env: &DeliveryEnv, writes: &Writes, round: &Settlement, now: i64) {
    let mut wait = RETRY_AFTER_ERROR;
    while !env.core.pool().is_closed() {
        let settled = {
            let _serialized = writes.lock().await;
            env.core.settle(round, now).await
        };
        match settled {
            Ok(dead_lettered) => {
                metrics::counter!(crate::metrics::EVENTS_DELIVERED)
                    .increment(round.delivered.len() as u64);
                for (id, (delivery, error)) in dead_lettered {
                    metrics::counter!(crate::metrics::EVENTS_DEAD_LETTERED).increment(1);
                    tracing::warn!(dead_letter = %id, tenant = %delivery.tenant,
                        plugin = %delivery.plugin_id, event = %delivery.event_id,
                        error = %error, "event dead-lettered");
                }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot record the delivery outcomes; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// When a failed `delivery` is tried again: after the next delay (jittered), or never
/// (`None`: dead-lettered) once its retries are used up ([`PushFailure::retry_delay`]).
fn retry_at(
    env: &DeliveryEnv,
    delivery: &Delivery,
    failure: &PushFailure,
    now: i64,
) -> Option<i64> {
    let failed_attempts = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
    let delay = failure.retry_delay(failed_attempts, &env.config.retry_delays)?;
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    let wait = i64::try_from(delay.mul_f64(jitter).as_millis()).unwrap_or(i64::MAX);
    Some(now.saturating_add(wait))
}

/// The active subscriptions.
async fn active_subscriptions(env: &DeliveryEnv) -> DbResult<Vec<Subscription>> {
    Ok(env
        .core
        .all_subscriptions()
        .await?
        .into_iter()
        .map(|(sub, _)| sub)
        .filter(|sub| sub.active)
        .collect())
}

/// What became of one subscriber's stream.
struct StreamOutcome {
    /// Pushed successfully, in order.
    delivered: Vec<Delivery>,
    /// The push that failed, with why.
    failure: Option<(Delivery, PushFailure)>,
    /// Not tried: after a failure, or past the delivery timeout.
    untried: Vec<Delivery>,
}

/// Pushes one subscriber's claimed deliveries in order to its active `subscription` (none: the
/// subscriber is not active), in one batched request when there are several, stopping at the
/// first failure (or once the delivery `timeout` has passed, so that the claim's lease is never
/// outlived).
async fn send_stream(
    http: &PluginClient,
    subscription: Option<Subscription>,
    timeout: Duration,
    stream: Vec<Delivery>,
) -> StreamOutcome {
    let mut outcome = StreamOutcome {
        delivered: Vec::with_capacity(stream.len()),
        failure: None,
        untried: Vec::new(),
    };
    let Some(sub) = subscription else {
        let mut pending = stream.into_iter();
        outcome.failure = pending.next().map(|d| {
            (
                d,
                PushFailure {
                    error: "the subscriber is not active".to_owned(),
                    retries: None,
                },
            )
        });
        outcome.untried = pending.collect();
        return outcome;
    };
    let mut pending = stream.into_iter();
    // Batched mode only to a plugin that asked for it (CloudEvents: it must be solicited).
    if sub.batches && pending.len() > 1 {
        let envelopes: Vec<&str> = pending
            .as_slice()
            .iter()
            .map(|d| d.envelope.as_str())
            .collect();
        match push_batch(http, &sub, &envelopes, timeout).await {
            BatchPush::Handled(handled, failure) => {
                outcome.delivered.extend(pending.by_ref().take(handled));
                if let Some(error) = failure {
                    outcome.failure = pending.next().map(|d| (d, error));
                }
                outcome.untried = pending.collect();
                return outcome;
            }
            // The plugin takes one event a request: push them one by one.
            BatchPush::Unsupported => {}
        }
    }
    let started = tokio::time::Instant::now();
    // The lease covers twice the delivery timeout: start no push after the first one is over.
    while started.elapsed() < timeout {
        let Some(delivery) = pending.next() else {
            break;
        };
        match push(http, &sub, &delivery.envelope, timeout).await {
            Ok(()) => outcome.delivered.push(delivery),
            Err(error) => {
                outcome.failure = Some((delivery, error));
                break;
            }
        }
    }
    outcome.untried = pending.collect();
    outcome
}
