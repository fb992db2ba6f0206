//! The access-token signing keys, their private halves sealed.

use super::CoreStore;
use crate::db::{DbResult, inserted};
use sqlx::Row;

impl CoreStore {
    /// Every signing key: `(kid, private PKCS#8 base64, public base64url)`, newest first.
    pub async fn signing_keys(&self) -> DbResult<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT kid, private_key, public_key FROM signing_keys ORDER BY created_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kid")?,
                    r.try_get("private_key")?,
                    r.try_get("public_key")?,
                ))
            })
            .collect()
    }

    /// Stores a signing key; `false` if another replica stored one first.
    pub async fn insert_signing_key(
        &self,
        kid: &str,
        private_key: &str,
        public_key: &str,
        now: i64,
    ) -> DbResult<bool> {
        let result = sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(kid)
        .bind(private_key)
        .bind(public_key)
        .bind(now)
        .execute(&self.pool)
        .await;
        inserted(result)
    }

    /// Replaces the private half of signing key `kid`, stored as `before`, with `sealed`
    /// (a replica that sealed it first wins; the value is the same key either way).
    pub async fn reseal_signing_key(&self, kid: &str, before: &str, sealed: &str) -> DbResult<()> {
        sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2 AND private_key = $3")
            .bind(sealed)
            .bind(kid)
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
