//! Retention: nothing the core API writes grows without bound. Every
//! [`Retention::interval`], in bounded batches:
//!
//! - outbox events (the core database's and every tenant's) older than
//!   [`Retention::events`] that the relay has taken (handed to the deliveries or to JetStream):
//!   an event no subscriber has taken yet stays, however old;
//! - dead letters settled (`RESOLVED`, `DISCARDED`) longer ago than
//!   [`Retention::dead_letters`]; pending ones wait for an operator;
//! - credentials unusable for longer than [`Retention::credentials`]: expired refresh tokens,
//!   sessions revoked or left without a refresh token, expired or revoked API tokens, revoked
//!   install tokens. A revoked session also outlives every access token it issued (the
//!   access-token lifetime and a minute): its row is what refuses them;
//! - login rate-limit rows whose allowance is whole again.
//!
//! Deliveries need no pruning: a delivery row is deleted when it is delivered or
//! dead-lettered.

use std::time::Duration;

use plexica_sdk::api::time::now_ms;

use crate::db::retention::prune_outbox;
use crate::db::{DbError, DbResult};
use crate::events::DeliveryEnv;

pub use crate::config::Retention;

/// What one pruning deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Outbox events, all outboxes.
    pub events: u64,
    /// Dead letters.
    pub dead_letters: u64,
    /// Credential rows.
    pub credentials: u64,
}

fn cutoff(now: i64, keep: Duration) -> i64 {
    now.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
}

/// Repeats `batch` (which deletes one bounded batch and says how many rows went) until a
/// batch comes back short; yields between batches so that writers go first.
async fn in_batches<F, Fut>(size: i64, mut batch: F) -> DbResult<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = DbResult<u64>>,
{
    let mut total = 0;
    loop {
        let deleted = batch().await?;
        total += deleted;
        if deleted < u64::try_from(size).unwrap_or(0) {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// Prunes once, as of now.
pub async fn prune(env: &DeliveryEnv) -> DbResult<Pruned> {
    let retention = &env.config.retention;
    let now = now_ms();
    let size = retention.batch.max(1);
    let mut pruned = Pruned::default();
    let before = cutoff(now, retention.events);
    for outbox in crate::events::embedded::outboxes(env).await? {
        pruned.events += in_batches(size, || {
            prune_outbox(&outbox.pool, outbox.cursor, before, size)
        })
        .await?;
    }
    let before = cutoff(now, retention.dead_letters);
    pruned.dead_letters = in_batches(size, || env.core.prune_dead_letters(before, size)).await?;
    let before = cutoff(now, retention.credentials);
    // A revoked session is what refuses its access tokens: it stays while one may be valid
    // (and while the replicas' revocation caches look back).
    let revoked_before = before.min(cutoff(
        now,
        env.config.access_token_ttl + Duration::from_secs(60),
    ));
    pruned.credentials = in_batches(size, || {
        env.core.prune_credentials(before, revoked_before, size)
    })
    .await?;
    plexica_server::ratelimit::prune_shared(env.core.pool())
        .await
        .map_err(DbError::from)?;
    metrics::counter!(crate::metrics::PRUNED_EVENTS).increment(pruned.events);
    metrics::counter!(crate::metrics::PRUNED_DEAD_LETTERS).increment(pruned.dead_letters);
    metrics::counter!(crate::metrics::PRUNED_CREDENTIALS).increment(pruned.credentials);
    Ok(pruned)
}

/// Prunes every [`Retention::interval`] until the core database closes.
pub fn spawn(env: DeliveryEnv) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(env.config.retention.interval).await;
            if env.core.pool().is_closed() {
                break;
            }
            match prune(&env).await {
                Ok(pruned) if pruned != Pruned::default() => {
                    tracing::info!(
                        events = pruned.events,
                        dead_letters = pruned.dead_letters,
                        credentials = pruned.credentials,
                        "pruned"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning failed; tried again later"),
            }
        }
    })
}
