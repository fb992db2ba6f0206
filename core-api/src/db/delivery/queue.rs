//! The embedded transport's queue: deliveries enqueued by the relay, claimed in streams by the
//! dispatcher, settled in one transaction.

use super::cursors::advance_cursor;
use super::dead_letters::DEAD_COLUMNS;
use crate::db::DbResult;
use crate::db::core::CoreStore;
use crate::secrets;
use sqlx::Row;

/// Deliveries inserted per statement (seven parameters each).
const ENQUEUE_CHUNK: usize = 100;

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

impl CoreStore {
    /// Queues each `(plugin_id, event, envelope)` (an event already queued for that plugin is
    /// ignored) and moves each `(outbox, seq)` relay cursor forward, in one transaction.
    pub async fn enqueue_all(
        &self,
        queued: &[(&str, &EventHead<'_>, &str)],
        cursors: &[(String, i64)],
        now: i64,
    ) -> DbResult<()> {
        let mut tx = crate::db::begin_write(self.pool()).await?;
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
        let mut tx = crate::db::begin_write(self.pool()).await?;
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
        let mut tx = crate::db::begin_write(self.pool()).await?;
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
            crate::db::count(deliveries),
            crate::db::count(subscriptions),
            crate::db::count(tenants),
        ))
    }
}
