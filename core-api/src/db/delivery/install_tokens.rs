//! Install tokens, stored as the hashes authn gives.

use crate::db::DbResult;
use crate::db::core::CoreStore;
use sqlx::Row;

impl CoreStore {
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
}
