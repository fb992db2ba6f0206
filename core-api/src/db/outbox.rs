//! The outbox of a database: the events its committed transactions emitted, in commit order.
//! Every database (the core one and each tenant's) has one; the relay reads it from a cursor.

use plexica_sdk::api::events::Event;
use plexica_sdk::api::time::now_ms;
use sqlx::{Any, AnyPool, Row, Transaction};

use super::DbResult;

/// Writes `event` into the outbox of the database `tx` belongs to.
///
/// The relay reads an outbox in `seq` order and remembers how far it got, so `seq` must be the
/// commit order. SQLite has one writer at a time; on PostgreSQL a sequence number is drawn at
/// insert time, and a transaction that drew a lower one could commit after the relay passed
/// it. The outbox is therefore locked against other writers until this transaction ends
/// (readers are not blocked); appending is the last write of every transaction that emits,
/// which [`super::tx::WriteTx::commit`], the only caller, guarantees.
pub(super) async fn append(tx: &mut Transaction<'static, Any>, event: &Event) -> DbResult<()> {
    let envelope = serde_json::to_string(event)?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("LOCK TABLE outbox IN EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("INSERT INTO outbox (id, type, envelope, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&event.id)
        .bind(&event.r#type)
        .bind(envelope)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Up to `limit` committed events of the outbox behind `pool` after sequence number `after`,
/// oldest first, as `(seq, envelope)`.
pub async fn after(pool: &AnyPool, after: i64, limit: i64) -> DbResult<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT seq, envelope FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("seq")?, r.try_get("envelope")?)))
        .collect()
}

/// How many events the outbox behind `pool` holds after relay cursor `cursor`.
pub async fn depth(pool: &AnyPool, cursor: i64) -> DbResult<u64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE seq > $1")
        .bind(cursor)
        .fetch_one(pool)
        .await?;
    Ok(super::count(n))
}

/// The sequence number of the last event in the outbox behind `pool` (0 when empty).
pub async fn end(pool: &AnyPool) -> DbResult<i64> {
    let end: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM outbox")
        .fetch_one(pool)
        .await?;
    Ok(end.unwrap_or(0))
}
