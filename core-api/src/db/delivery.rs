//! Event delivery storage in the core database: subscriptions, pending deliveries and the dead
//! letter store (migration `0003_delivery.sql`).

use plexica_sdk::api::events::Event;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::DbResult;

/// Deliveries inserted per statement (seven parameters each).
const ENQUEUE_CHUNK: usize = 100;
use super::core::CoreStore;
use crate::secrets;

/// A plugin install's subscription in one tenant.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Tenant slug.
    pub tenant: String,
    /// Plugin id.
    pub plugin_id: String,
    /// Base URL of the plugin's backend (events go to `<endpoint>/_plexica/events`).
    pub endpoint: String,
    /// The secret pushes are signed with.
    pub secret: String,
    /// Event types or `prefix.*` patterns.
    pub patterns: Vec<String>,
    /// Only events with a workspace are delivered.
    pub workspace_aware: bool,
    /// Deliveries happen only while active.
    pub active: bool,
    /// The plugin asked for batched pushes (its manifest's `[events] batches`).
    pub batches: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("tenant", &self.tenant)
            .field("plugin_id", &self.plugin_id)
            .field("endpoint", &self.endpoint)
            .field("secret", &"<redacted>")
            .field("patterns", &self.patterns)
            .field("workspace_aware", &self.workspace_aware)
            .field("batches", &self.batches)
            .field("active", &self.active)
            .finish()
    }
}

impl Subscription {
    /// Does this subscription want the event with this head?
    pub fn wants(&self, event: &EventHead<'_>) -> bool {
        self.active
            && event.tenant == self.tenant
            && (!self.workspace_aware || event.workspace.is_some())
            && self
                .patterns
                .iter()
                .any(|p| plexica_sdk::event_name::pattern_matches(p, &event.event_type))
    }
}

/// What routes an event — id, tenant, type, workspace — read from its envelope without decoding
/// its `data` (the relay and the consumers handle thousands a second).
#[derive(Debug, serde::Deserialize)]
pub struct EventHead<'a> {
    /// Event id.
    #[serde(borrow)]
    pub id: std::borrow::Cow<'a, str>,
    /// Tenant slug.
    #[serde(borrow)]
    pub tenant: std::borrow::Cow<'a, str>,
    /// Event type.
    #[serde(rename = "type", borrow)]
    pub event_type: std::borrow::Cow<'a, str>,
    /// Workspace slug, if any.
    #[serde(default, borrow)]
    pub workspace: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> EventHead<'a> {
    /// The head of `envelope`, if it is an event.
    pub fn of(envelope: &'a str) -> Option<Self> {
        serde_json::from_str(envelope).ok()
    }
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// Tenant slug.
    pub tenant: String,
    /// Subscriber.
    pub plugin_id: String,
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The envelope as stored (and sent).
    pub envelope: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// The dead letter this delivery retries, if any.
    pub dead_letter_id: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// What became of one dispatch round's claimed deliveries ([`CoreStore::settle`]).
#[derive(Debug, Default)]
pub struct Settlement {
    /// Pushed successfully.
    pub delivered: Vec<Delivery>,
    /// Failed, to be tried again later.
    pub retries: Vec<Retry>,
    /// Failed for the last time, with why: to the dead letter store.
    pub dead: Vec<(Delivery, String)>,
    /// Not tried (after a failure in their stream, or out of time): given back.
    pub untried: Vec<Delivery>,
}

impl Settlement {
    /// Nothing to record.
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty()
            && self.retries.is_empty()
            && self.dead.is_empty()
            && self.untried.is_empty()
    }
}

/// A failed delivery's next attempt.
#[derive(Debug)]
pub struct Retry {
    /// The delivery, as claimed.
    pub delivery: Delivery,
    /// When to try again, Unix ms.
    pub at: i64,
    /// Why it failed.
    pub error: String,
}

/// A dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Id.
    pub id: String,
    /// The event id.
    pub event_id: String,
    /// Tenant slug.
    pub tenant: String,
    /// Subscriber.
    pub plugin_id: String,
    /// Event type.
    pub event_type: String,
    /// The envelope.
    pub envelope: String,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: i64,
    /// `PENDING`, `RETRYING`, `RESOLVED` or `DISCARDED`.
    pub state: String,
    /// Unix ms.
    pub first_attempt_at: i64,
    /// Unix ms.
    pub failed_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

fn subscription(row: &AnyRow) -> DbResult<Subscription> {
    let patterns: String = row.try_get("patterns")?;
    Ok(Subscription {
        tenant: row.try_get("tenant")?,
        plugin_id: row.try_get("plugin_id")?,
        endpoint: row.try_get("endpoint")?,
        secret: row.try_get("secret")?,
        patterns: patterns
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        workspace_aware: row.try_get::<i64, _>("workspace_aware")? != 0,
        active: row.try_get::<i64, _>("active")? != 0,
        batches: row.try_get::<i64, _>("batches")? != 0,
    })
}

fn dead_letter(row: &AnyRow) -> DbResult<DeadLetter> {
    Ok(DeadLetter {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        tenant: row.try_get("tenant")?,
        plugin_id: row.try_get("plugin_id")?,
        event_type: row.try_get("event_type")?,
        envelope: row.try_get("envelope")?,
        error: row.try_get("error")?,
        attempts: row.try_get("attempts")?,
        state: row.try_get("state")?,
        first_attempt_at: row.try_get("first_attempt_at")?,
        failed_at: row.try_get("failed_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const DEAD_COLUMNS: &str = "id, event_id, tenant, plugin_id, event_type, envelope, error, attempts, \
                            state, first_attempt_at, failed_at, updated_at";

impl CoreStore {
    /// Creates or replaces a subscription.
    pub async fn put_subscription(&self, s: &Subscription, now: i64) -> DbResult<()> {
        let mut tx = super::begin_write(self.pool()).await?;
        sqlx::query("DELETE FROM subscriptions WHERE tenant = $1 AND plugin_id = $2")
            .bind(&s.tenant)
            .bind(&s.plugin_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO subscriptions (tenant, plugin_id, endpoint, secret, patterns, \
             workspace_aware, active, batches, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.tenant)
        .bind(&s.plugin_id)
        .bind(&s.endpoint)
        .bind(&s.secret)
        .bind(s.patterns.join(" "))
        .bind(i64::from(s.workspace_aware))
        .bind(i64::from(s.active))
        .bind(i64::from(s.batches))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The subscriptions of `tenant`.
    pub async fn subscriptions(&self, tenant: &str) -> DbResult<Vec<Subscription>> {
        sqlx::query(
            "SELECT tenant, plugin_id, endpoint, secret, patterns, workspace_aware, active, \
             batches FROM subscriptions WHERE tenant = $1 ORDER BY plugin_id",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(subscription)
        .collect()
    }

    /// Every subscription of every tenant, with when it was made (Unix ms).
    pub async fn all_subscriptions(&self) -> DbResult<Vec<(Subscription, i64)>> {
        let rows = sqlx::query(
            "SELECT tenant, plugin_id, endpoint, secret, patterns, workspace_aware, active, \
             batches, created_at FROM subscriptions ORDER BY tenant, plugin_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((subscription(r)?, r.try_get("created_at")?)))
            .collect()
    }

    /// Records an event that `plugin_id` could not take after `attempts` attempts, pushed to
    /// it through the distributed transport.
    pub async fn insert_dead_letter(
        &self,
        event: &Event,
        plugin_id: &str,
        envelope: &str,
        error: &str,
        attempts: i64,
        now: i64,
    ) -> DbResult<String> {
        let id = secrets::new_id("dl_");
        sqlx::query(&format!(
            "INSERT INTO dead_letters ({DEAD_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', $9, $10, $11)"
        ))
        .bind(&id)
        .bind(&event.id)
        .bind(&event.tenant)
        .bind(plugin_id)
        .bind(&event.r#type)
        .bind(envelope)
        .bind(error)
        .bind(attempts)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// Stores the install token of `plugin_id` in `tenant` whose secret hashes to `hash`.
    pub async fn put_install_token(
        &self,
        hash: &str,
        tenant: &str,
        plugin_id: &str,
        now: i64,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO install_tokens (hash, tenant, plugin_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(hash)
        .bind(tenant)
        .bind(plugin_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Revokes the install token whose secret hashes to `hash`.
    pub async fn revoke_install_token(&self, hash: &str) -> DbResult<()> {
        sqlx::query("UPDATE install_tokens SET revoked_at = $1 WHERE hash = $2")
            .bind(plexica_sdk::api::time::now_ms())
            .bind(hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes the subscription of `plugin_id` in `tenant` (the plugin was uninstalled).
    pub async fn delete_subscription(&self, tenant: &str, plugin_id: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM subscriptions WHERE tenant = $1 AND plugin_id = $2")
            .bind(tenant)
            .bind(plugin_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The live install a token secret hashing to `hash` belongs to: `(tenant, plugin id)`.
    pub async fn install_by_token_hash(&self, hash: &str) -> DbResult<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT tenant, plugin_id FROM install_tokens WHERE hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((r.try_get("tenant")?, r.try_get("plugin_id")?)))
            .transpose()
    }

    /// Queues each `(plugin_id, event, envelope)` (an event already queued for that plugin is
    /// ignored) and moves each `(outbox, seq)` relay cursor forward, in one transaction.
    pub async fn enqueue_all(
        &self,
        queued: &[(&str, &EventHead<'_>, &str)],
        cursors: &[(String, i64)],
        now: i64,
    ) -> DbResult<()> {
        let mut tx = super::begin_write(self.pool()).await?;
        for (outbox, seq) in cursors {
            advance_cursor(&mut tx, outbox, *seq).await?;
        }
        // Many rows per statement: a statement costs far more than a row.
        for chunk in queued.chunks(ENQUEUE_CHUNK) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 7;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, 0, ${}, 0, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5,
                        p + 6,
                        p + 7
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO deliveries (event_id, tenant, plugin_id, event_type, envelope, \
                 attempts, next_attempt_at, lease_until, created_at) VALUES {} \
                 ON CONFLICT (tenant, plugin_id, event_id) DO NOTHING",
                rows.join(", ")
            );
            let mut insert = sqlx::query(&sql);
            for (plugin_id, event, envelope) in chunk {
                insert = insert
                    .bind(event.id.as_ref())
                    .bind(event.tenant.as_ref())
                    .bind(*plugin_id)
                    .bind(event.event_type.as_ref())
                    .bind(*envelope)
                    .bind(now)
                    .bind(now);
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims, for `lease_ms`, the due deliveries of every subscriber whose oldest delivery is
    /// due and not claimed: that oldest one and up to `per_subscriber - 1` after it, in order.
    /// Whoever holds the oldest delivery of a subscriber holds its stream, so that several
    /// dispatchers (replicas) never deliver one subscriber's events out of order. One
    /// transaction.
    pub async fn claim_streams(
        &self,
        now: i64,
        lease_ms: i64,
        per_subscriber: i64,
    ) -> DbResult<Vec<Vec<Delivery>>> {
        let mut tx = super::begin_write(self.pool()).await?;
        let heads = sqlx::query(
            "SELECT id, tenant, plugin_id FROM deliveries WHERE id IN (SELECT MIN(id) FROM \
             deliveries GROUP BY tenant, plugin_id) AND next_attempt_at <= $1 AND lease_until < $2 \
             ORDER BY id",
        )
        .bind(now)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut streams = Vec::with_capacity(heads.len());
        for head in heads {
            let id: i64 = head.try_get("id")?;
            let tenant: String = head.try_get("tenant")?;
            let plugin_id: String = head.try_get("plugin_id")?;
            let claimed = sqlx::query(
                "UPDATE deliveries SET lease_until = $1 WHERE id = $2 AND lease_until < $3",
            )
            .bind(now + lease_ms)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                continue;
            }
            sqlx::query(
                "UPDATE deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM deliveries \
                 WHERE tenant = $2 AND plugin_id = $3 AND id > $4 ORDER BY id LIMIT $5) \
                 AND next_attempt_at <= $6 AND lease_until < $7",
            )
            .bind(now + lease_ms)
            .bind(&tenant)
            .bind(&plugin_id)
            .bind(id)
            .bind(per_subscriber - 1)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let rows = sqlx::query(
                "SELECT id, tenant, plugin_id, event_id, event_type, envelope, attempts, \
                 dead_letter_id, created_at, lease_until FROM deliveries WHERE tenant = $1 AND \
                 plugin_id = $2 AND id >= $3 ORDER BY id LIMIT $4",
            )
            .bind(&tenant)
            .bind(&plugin_id)
            .bind(id)
            .bind(per_subscriber)
            .fetch_all(&mut *tx)
            .await?;
            let mut stream = Vec::with_capacity(rows.len());
            for row in rows {
                // Stop at the first row this claim did not lease (not due, or another's).
                if row.try_get::<i64, _>("lease_until")? != now + lease_ms {
                    break;
                }
                stream.push(Delivery {
                    id: row.try_get("id")?,
                    tenant: row.try_get("tenant")?,
                    plugin_id: row.try_get("plugin_id")?,
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    envelope: row.try_get("envelope")?,
                    attempts: row.try_get("attempts")?,
                    dead_letter_id: row.try_get("dead_letter_id")?,
                    created_at: row.try_get("created_at")?,
                });
            }
            streams.push(stream);
        }
        tx.commit().await?;
        Ok(streams)
    }

    /// Records what a dispatch round did with its claimed deliveries, in one transaction:
    /// the delivered removed (resolving the dead letters they retried), the failed retried
    /// later or dead-lettered, the untried given back. Written so that running it again after
    /// a commit whose answer was lost changes nothing more. Returns the dead letters written,
    /// each with its entry of `round.dead`.
    pub async fn settle<'r>(
        &self,
        round: &'r Settlement,
        now: i64,
    ) -> DbResult<Vec<(String, &'r (Delivery, String))>> {
        if round.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = super::begin_write(self.pool()).await?;
        // Dead letters first: each is written only while its delivery still exists.
        let mut dead_lettered = Vec::with_capacity(round.dead.len());
        for dead in &round.dead {
            let (delivery, error) = dead;
            let (id, written) = match &delivery.dead_letter_id {
                Some(id) => {
                    let written = sqlx::query(
                        "UPDATE dead_letters SET state = 'PENDING', error = $1, \
                         attempts = attempts + $2, failed_at = $3, updated_at = $4 WHERE id = $5 \
                         AND EXISTS (SELECT 1 FROM deliveries WHERE id = $6)",
                    )
                    .bind(error)
                    .bind(delivery.attempts + 1)
                    .bind(now)
                    .bind(now)
                    .bind(id)
                    .bind(delivery.id)
                    .execute(&mut *tx)
                    .await?;
                    (id.clone(), written)
                }
                None => {
                    let id = secrets::new_id("dl_");
                    let written = sqlx::query(&format!(
                        "INSERT INTO dead_letters ({DEAD_COLUMNS}) SELECT \
                         $1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', $9, $10, $11 \
                         WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = $12)"
                    ))
                    .bind(&id)
                    .bind(&delivery.event_id)
                    .bind(&delivery.tenant)
                    .bind(&delivery.plugin_id)
                    .bind(&delivery.event_type)
                    .bind(&delivery.envelope)
                    .bind(error)
                    .bind(delivery.attempts + 1)
                    .bind(delivery.created_at)
                    .bind(now)
                    .bind(now)
                    .bind(delivery.id)
                    .execute(&mut *tx)
                    .await?;
                    (id, written)
                }
            };
            if written.rows_affected() == 1 {
                dead_lettered.push((id, dead));
            }
        }
        let removed: Vec<i64> = round
            .delivered
            .iter()
            .chain(round.dead.iter().map(|(d, _)| d))
            .map(|d| d.id)
            .collect();
        for chunk in removed.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "DELETE FROM deliveries WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut delete = sqlx::query(&sql);
            for id in chunk {
                delete = delete.bind(*id);
            }
            delete.execute(&mut *tx).await?;
        }
        for dead in round
            .delivered
            .iter()
            .filter_map(|d| d.dead_letter_id.as_ref())
        {
            sqlx::query(
                "UPDATE dead_letters SET state = 'RESOLVED', updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(dead)
            .execute(&mut *tx)
            .await?;
        }
        for retry in &round.retries {
            // Counted once: the attempts it was claimed with are the condition.
            sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
                 lease_until = 0, last_error = $2 WHERE id = $3 AND attempts = $4",
            )
            .bind(retry.at)
            .bind(&retry.error)
            .bind(retry.delivery.id)
            .bind(retry.delivery.attempts)
            .execute(&mut *tx)
            .await?;
        }
        for delivery in &round.untried {
            sqlx::query("UPDATE deliveries SET lease_until = 0 WHERE id = $1")
                .bind(delivery.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(dead_lettered)
    }

    /// Dead letters, newest first, optionally only in `state`.
    pub async fn dead_letters(
        &self,
        state: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> DbResult<(Vec<DeadLetter>, u64)> {
        let state = state.unwrap_or("");
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters WHERE $1 = '' OR state = $2")
                .bind(state)
                .bind(state)
                .fetch_one(self.pool())
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT {DEAD_COLUMNS} FROM dead_letters WHERE $1 = '' OR state = $2 \
             ORDER BY failed_at DESC, id LIMIT $3 OFFSET $4"
        ))
        .bind(state)
        .bind(state)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        Ok((
            rows.iter().map(dead_letter).collect::<DbResult<_>>()?,
            super::count(total),
        ))
    }

    /// One dead letter.
    pub async fn dead_letter_by_id(&self, id: &str) -> DbResult<Option<DeadLetter>> {
        sqlx::query(&format!(
            "SELECT {DEAD_COLUMNS} FROM dead_letters WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(dead_letter)
        .transpose()
    }

    /// Queues a pending dead letter for delivery again (to its subscriber only); `false` when
    /// it is not pending.
    pub async fn retry_dead_letter(&self, id: &str, now: i64) -> DbResult<bool> {
        let mut tx = super::begin_write(self.pool()).await?;
        let done = sqlx::query(
            "UPDATE dead_letters SET state = 'RETRYING', updated_at = $1 WHERE id = $2 AND state = 'PENDING'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO deliveries (event_id, tenant, plugin_id, event_type, envelope, attempts, \
             next_attempt_at, lease_until, dead_letter_id, created_at) SELECT event_id, tenant, \
             plugin_id, event_type, envelope, 0, $1, 0, id, $2 FROM dead_letters WHERE id = $3 \
             ON CONFLICT (tenant, plugin_id, event_id) DO NOTHING",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Discards a dead letter that is not being retried; `false` when there is none such.
    pub async fn discard_dead_letter(&self, id: &str, now: i64) -> DbResult<bool> {
        let done = sqlx::query(
            "UPDATE dead_letters SET state = 'DISCARDED', updated_at = $1 WHERE id = $2 \
             AND state IN ('PENDING', 'RESOLVED')",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// `(pending deliveries, active subscriptions, tenants)`, for the metrics.
    pub async fn delivery_gauges(&self) -> DbResult<(u64, u64, u64)> {
        let deliveries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries")
            .fetch_one(self.pool())
            .await?;
        let subscriptions: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions WHERE active = 1")
                .fetch_one(self.pool())
                .await?;
        let tenants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
            .fetch_one(self.pool())
            .await?;
        Ok((
            super::count(deliveries),
            super::count(subscriptions),
            super::count(tenants),
        ))
    }

    /// Every relay cursor, by outbox.
    pub async fn relay_cursors(&self) -> DbResult<std::collections::HashMap<String, i64>> {
        let rows = sqlx::query("SELECT outbox, seq FROM relay_cursors")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("outbox")?, r.try_get("seq")?)))
            .collect()
    }

    /// How far the relay has moved `outbox`, whose events are behind `pool`. An outbox without
    /// a cursor yet starts after the last event an older version marked relayed (0 if none).
    pub async fn relay_cursor(&self, outbox: &str, pool: &sqlx::AnyPool) -> DbResult<i64> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM relay_cursors WHERE outbox = $1")
                .bind(outbox)
                .fetch_optional(self.pool())
                .await?;
        if let Some(seq) = seq {
            return Ok(seq);
        }
        let relayed: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM outbox WHERE relayed_at IS NOT NULL")
                .fetch_one(pool)
                .await?;
        Ok(relayed.unwrap_or(0))
    }

    /// Moves each `(outbox, seq)` relay cursor forward, in one transaction.
    pub async fn advance_relay_cursors(&self, cursors: &[(String, i64)]) -> DbResult<()> {
        let mut tx = super::begin_write(self.pool()).await?;
        for (outbox, seq) in cursors {
            advance_cursor(&mut tx, outbox, *seq).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Moves the relay cursor of `outbox` forward to `seq` (never back) in `tx`.
async fn advance_cursor(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    outbox: &str,
    seq: i64,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO relay_cursors (outbox, seq) VALUES ($1, $2) ON CONFLICT (outbox) \
         DO UPDATE SET seq = excluded.seq WHERE relay_cursors.seq < excluded.seq",
    )
    .bind(outbox)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
