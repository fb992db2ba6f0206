//! The boundary around a plugin's SQL (security.md, "Plugin SQL"): what a plugin's migrations
//! and the data API run on its behalf is held by the database, not by a parser.
//!
//! - **SQLite**: the connection carries an authorizer (`sqlite_authorizer`) and, while the
//!   plugin's statements are compiled, a [`Grant`] of the plugin's own tables; SQLite refuses
//!   anything else at prepare time.
//! - **PostgreSQL**: each (tenant, plugin) has a role and a schema of the same name
//!   (`plx_<tenant hash>_<plugin hash>`): the role may use and create in that schema and
//!   nothing else of the database. The plugin's SQL runs inside `SECURITY DEFINER` functions
//!   owned by the role in schema `plexica_sandbox`, where the role has no privilege (so it
//!   cannot alter them); PostgreSQL forbids `SET ROLE` and `SET SESSION AUTHORIZATION` inside
//!   such a function and any transaction control inside `EXECUTE`, so nothing the plugin
//!   writes — in a migration, a column default, a trigger — runs with the platform's rights.
//!   Afterwards the session is reset (`RESET ALL`, cursors, listeners, advisory locks,
//!   temporary tables) and bound to the tenant's schema again, so nothing leaks into the pool.
//!   Platform tables live in the tenant's schema, which the role cannot even look into.

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use sqlx::Arguments;
use sqlx::any::AnyArguments;

use super::tx::TenantTx;

use super::sqlite_authorizer::{self, Grant};
use super::{DbError, DbResult};

/// One plugin in one tenant's data space: where its tables are and as whom its SQL runs.
#[derive(Debug, Clone)]
pub struct PluginSpace {
    plugin_id: String,
    /// PostgreSQL: the tenant's schema and the plugin's role/schema name.
    postgres: Option<PostgresNames>,
}

#[derive(Debug, Clone)]
struct PostgresNames {
    tenant_schema: String,
    name: String,
}

impl PluginSpace {
    /// The space of `plugin_id` on SQLite.
    pub fn sqlite(plugin_id: &str) -> Self {
        Self {
            plugin_id: plugin_id.to_owned(),
            postgres: None,
        }
    }

    /// The space of `plugin_id` in the tenant schema `tenant_schema` of database `database`.
    pub fn postgres(database: &str, tenant_schema: &str, plugin_id: &str) -> Self {
        let tenant = hex12(&format!("{database}\0{tenant_schema}"));
        let plugin = hex12(plugin_id);
        Self {
            plugin_id: plugin_id.to_owned(),
            postgres: Some(PostgresNames {
                tenant_schema: tenant_schema.to_owned(),
                name: format!("plx_{tenant}_{plugin}"),
            }),
        }
    }

    /// The plugin's id.
    pub fn plugin_id(&self) -> &str {
        &self.plugin_id
    }

    /// The prefix every table of the plugin carries (`crm-tools` → `crm_tools_`).
    pub fn prefix(&self) -> String {
        format!("{}_", self.plugin_id.replace('-', "_"))
    }

    /// PostgreSQL: the schema holding the plugin's tables (also its role's name).
    pub fn schema(&self) -> Option<&str> {
        self.postgres.as_ref().map(|p| p.name.as_str())
    }

    /// `table` of this plugin as SQL names it from the platform's side.
    pub fn qualified(&self, table: &str) -> String {
        match &self.postgres {
            Some(pg) => format!("{}.{}", quote(&pg.name), quote(table)),
            None => quote(table),
        }
    }

    /// Runs a migration of the plugin in `tx`, held by the database to the plugin's own
    /// tables; answers the tables it created.
    pub async fn run_migration(&self, tx: &mut TenantTx, sql: &str) -> DbResult<Vec<String>> {
        let before = self.tables(tx).await?;
        match &self.postgres {
            None => {
                let owned = self.recorded_tables(tx).await?;
                let existing: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name IS NOT NULL")
                        .fetch_all(&mut **tx)
                        .await?;
                let grant = Arc::new(Grant::new(&self.prefix(), owned, existing));
                let placed = sqlite_authorizer::place(tx, Arc::clone(&grant)).await?;
                // Unprepared, so that a file of several statements runs as written: SQLite
                // compiles each statement in turn, and the authorizer sees every one.
                let ran = sqlx::Executor::execute(&mut **tx, sql).await;
                drop(placed);
                refused_as(ran, grant.refusal())?;
            }
            Some(pg) => {
                self.ensure_postgres(tx).await?;
                // A savepoint, so that the session can be reset even when the plugin's SQL
                // failed: prepared statements and advisory locks outlive a rollback.
                sqlx::query("SAVEPOINT plexica_plugin_sql")
                    .execute(&mut **tx)
                    .await?;
                let ran = sqlx::query(&format!(
                    "SELECT plexica_sandbox.{}($1)",
                    quote(&format!("exec_{}", pg.name))
                ))
                .bind(sql)
                .execute(&mut **tx)
                .await;
                let ran = postgres_refusal(ran);
                if ran.is_err() {
                    sqlx::query("ROLLBACK TO SAVEPOINT plexica_plugin_sql")
                        .execute(&mut **tx)
                        .await?;
                }
                self.reset_session(tx).await?;
                ran?;
            }
        }
        let after = self.tables(tx).await?;
        Ok(after.into_iter().filter(|t| !before.contains(t)).collect())
    }

    /// Runs `sql` — a statement the data API built over one of the plugin's tables, answering
    /// one text column — with `args` bound, as the plugin: on SQLite under a grant of its
    /// `owned` tables, on PostgreSQL inside the plugin's `run` function, where `$1[n]` is the
    /// n-th argument (as text).
    pub async fn query_texts(
        &self,
        conn: &mut AnyConnection,
        owned: &[String],
        sql: &str,
        args: &[&Value],
    ) -> DbResult<Vec<Option<String>>> {
        match &self.postgres {
            None => {
                let grant = Arc::new(Grant::tables(owned.iter().cloned()));
                let placed = sqlite_authorizer::place(&mut *conn, Arc::clone(&grant)).await?;
                let rows = sqlx::query_scalar_with(sql, sqlite_args(args)?)
                    .fetch_all(&mut *conn)
                    .await;
                drop(placed);
                refused_as(rows, grant.refusal())
            }
            Some(pg) => {
                let call = format!(
                    "SELECT v FROM plexica_sandbox.{}($1, $2) AS v",
                    quote(&format!("run_{}", pg.name))
                );
                let texts: Vec<Option<String>> = args
                    .iter()
                    .map(|v| match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    })
                    .collect();
                let texts = serde_json::to_string(&texts)?;
                let rows = match call_texts(&mut *conn, &call, sql, &texts).await {
                    Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42883") => {
                        // Installed before plugins had their own role: set it up, then again.
                        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                        self.ensure_postgres(&mut tx).await?;
                        tx.commit().await?;
                        call_texts(&mut *conn, &call, sql, &texts).await
                    }
                    other => other,
                };
                let rows = postgres_refusal(rows);
                self.reset_session(&mut *conn).await?;
                rows
            }
        }
    }

    /// Runs `sql` — an `UPDATE` or `DELETE` the data API built over one of the plugin's
    /// tables — as [`Self::query_texts`] does; answers how many rows it changed.
    pub async fn execute(
        &self,
        conn: &mut AnyConnection,
        owned: &[String],
        sql: &str,
        args: &[&Value],
    ) -> DbResult<u64> {
        if self.postgres.is_some() {
            let counted =
                format!("WITH changed AS ({sql} RETURNING 1) SELECT count(*)::text FROM changed");
            let rows = self.query_texts(conn, owned, &counted, args).await?;
            return Ok(rows
                .first()
                .and_then(|n| n.as_deref())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0));
        }
        let grant = Arc::new(Grant::tables(owned.iter().cloned()));
        let placed = sqlite_authorizer::place(&mut *conn, Arc::clone(&grant)).await?;
        let done = sqlx::query_with(sql, sqlite_args(args)?)
            .execute(&mut *conn)
            .await;
        drop(placed);
        Ok(refused_as(done, grant.refusal())?.rows_affected())
    }

    /// Removes the plugin's tables (those it created that carry its prefix) and, on
    /// PostgreSQL, its schema, functions and role.
    pub async fn purge(&self, tx: &mut TenantTx, tables: &[String]) -> DbResult<()> {
        let prefix = self.prefix();
        for table in tables.iter().rev().filter(|t| t.starts_with(&prefix)) {
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", self.qualified(table)))
                .execute(&mut **tx)
                .await?;
        }
        if let Some(pg) = &self.postgres {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                    .bind(&pg.name)
                    .fetch_one(&mut **tx)
                    .await?;
            if exists {
                drop_postgres_role(tx, &pg.name).await?;
            }
        }
        Ok(())
    }

    /// The plugin's tables recorded by earlier migrations.
    async fn recorded_tables(&self, tx: &mut TenantTx) -> DbResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT table_name FROM plugin_tables WHERE plugin_id = $1")
                .bind(&self.plugin_id)
                .fetch_all(&mut **tx)
                .await?,
        )
    }

    /// The tables where the plugin's tables live (the SQLite file; the plugin's schema).
    async fn tables(&self, tx: &mut TenantTx) -> DbResult<Vec<String>> {
        Ok(match &self.postgres {
            None => {
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(&mut **tx)
                    .await?
            }
            Some(pg) => {
                sqlx::query_scalar(
                    "SELECT c.relname::text FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')",
                )
                .bind(&pg.name)
                .fetch_all(&mut **tx)
                .await?
            }
        })
    }

    /// Creates, when missing, the plugin's role, schema and functions, and moves into its
    /// schema (owned by its role) any table of the plugin still in the tenant's schema.
    async fn ensure_postgres(&self, conn: &mut AnyConnection) -> DbResult<()> {
        let Some(pg) = &self.postgres else {
            return Ok(());
        };
        // One setup at a time for this name (two first calls may race).
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(&pg.name)
            .execute(&mut *conn)
            .await?;
        let name = quote(&pg.name);
        let role_exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                .bind(&pg.name)
                .fetch_one(&mut *conn)
                .await?;
        if !role_exists {
            let comment = format!(
                "plexica: plugin {} in schema {}",
                self.plugin_id, pg.tenant_schema
            );
            for statement in [
                format!("CREATE ROLE {name} NOLOGIN NOINHERIT"),
                format!("COMMENT ON ROLE {name} IS {}", literal(&comment)),
                // The platform may need to act as the owner of the plugin's objects (drop
                // them, replace its functions) when it is not a superuser.
                format!("GRANT {name} TO CURRENT_USER"),
                format!("CREATE SCHEMA IF NOT EXISTS {name}"),
                format!("COMMENT ON SCHEMA {name} IS {}", literal(&comment)),
                format!("REVOKE ALL ON SCHEMA {name} FROM PUBLIC"),
                format!("GRANT USAGE, CREATE ON SCHEMA {name} TO {name}"),
            ] {
                sqlx::query(&statement).execute(&mut *conn).await?;
            }
        }
        let has_functions: bool = sqlx::query_scalar(
            "SELECT to_regprocedure($1) IS NOT NULL AND to_regprocedure($2) IS NOT NULL",
        )
        .bind(format!("plexica_sandbox.exec_{}(text)", pg.name))
        .bind(format!("plexica_sandbox.run_{}(text,text)", pg.name))
        .fetch_one(&mut *conn)
        .await?;
        if !has_functions {
            let exec = format!("plexica_sandbox.{}", quote(&format!("exec_{}", pg.name)));
            let run = format!("plexica_sandbox.{}", quote(&format!("run_{}", pg.name)));
            for statement in [
                format!(
                    "CREATE OR REPLACE FUNCTION {exec}(sql text) RETURNS void LANGUAGE plpgsql \
                     SECURITY DEFINER SET search_path = {name}, pg_temp \
                     AS $plexica$ BEGIN EXECUTE sql; END $plexica$"
                ),
                format!(
                    "CREATE OR REPLACE FUNCTION {run}(sql text, args text) RETURNS SETOF text \
                     LANGUAGE plpgsql SECURITY DEFINER SET search_path = {name}, pg_temp \
                     AS $plexica$ BEGIN RETURN QUERY EXECUTE sql USING \
                     ARRAY(SELECT json_array_elements_text(args::json)); END $plexica$"
                ),
                format!("ALTER FUNCTION {exec}(text) OWNER TO {name}"),
                format!("ALTER FUNCTION {run}(text, text) OWNER TO {name}"),
                format!("REVOKE ALL ON FUNCTION {exec}(text) FROM PUBLIC"),
                format!("REVOKE ALL ON FUNCTION {run}(text, text) FROM PUBLIC"),
            ] {
                sqlx::query(&statement).execute(&mut *conn).await?;
            }
        }
        // Tables made before plugins had their own schema.
        let stray: Vec<String> = sqlx::query_scalar(
            "SELECT t.table_name FROM plugin_tables t WHERE t.plugin_id = $1 \
             AND to_regclass(quote_ident(current_schema()) || '.' || quote_ident(t.table_name)) \
             IS NOT NULL",
        )
        .bind(&self.plugin_id)
        .fetch_all(&mut *conn)
        .await?;
        for table in stray {
            let qualified = format!("{}.{}", quote(&pg.tenant_schema), quote(&table));
            sqlx::query(&format!("ALTER TABLE {qualified} SET SCHEMA {name}"))
                .execute(&mut *conn)
                .await?;
            sqlx::query(&format!(
                "ALTER TABLE {} OWNER TO {name}",
                self.qualified(&table)
            ))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Undoes whatever session state the plugin's SQL may have set, and binds the connection
    /// to the tenant's schema again.
    async fn reset_session(&self, conn: &mut AnyConnection) -> DbResult<()> {
        let Some(pg) = &self.postgres else {
            return Ok(());
        };
        // Statements the plugin PREPAREd (`from_sql`; the driver's own are made by the
        // protocol and stay) could take the names the driver uses next.
        let reset = format!(
            "RESET ALL; CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; \
             DO $$ DECLARE s text; BEGIN \
             FOR s IN SELECT name FROM pg_prepared_statements WHERE from_sql LOOP \
             EXECUTE format('DEALLOCATE %I', s); END LOOP; END $$; \
             SET search_path TO {}, pg_temp",
            quote(&pg.tenant_schema)
        );
        sqlx::Executor::execute(conn, reset.as_str()).await?;
        Ok(())
    }
}

/// Runs `call` (a `run_…` function) with `sql` and its JSON array of text arguments.
async fn call_texts(
    conn: &mut AnyConnection,
    call: &str,
    sql: &str,
    texts: &str,
) -> Result<Vec<Option<String>>, sqlx::Error> {
    sqlx::query_scalar(call)
        .bind(sql)
        .bind(texts)
        .fetch_all(conn)
        .await
}

/// Drops the PostgreSQL role `name` with its schema and everything it owns in this database.
async fn drop_postgres_role(conn: &mut AnyConnection, name: &str) -> DbResult<()> {
    let quoted = quote(name);
    for statement in [
        format!("DROP SCHEMA IF EXISTS {quoted} CASCADE"),
        format!("DROP OWNED BY {quoted} CASCADE"),
        format!("DROP ROLE {quoted}"),
    ] {
        sqlx::query(&statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Drops the roles and schemas of every plugin of the tenant schema `tenant_schema` (when
/// the tenant's data space is dropped).
pub async fn drop_tenant_plugins(conn: &mut AnyConnection, tenant_schema: &str) -> DbResult<()> {
    let database: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&mut *conn)
        .await?;
    let pattern = format!(
        "plx\\_{}\\_%",
        hex12(&format!("{database}\0{tenant_schema}"))
    );
    let roles: Vec<String> =
        sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1")
            .bind(&pattern)
            .fetch_all(&mut *conn)
            .await?;
    for role in roles {
        drop_postgres_role(conn, &role).await?;
    }
    Ok(())
}

/// `args` as SQLite stores them: booleans as 0/1, integers, reals, text.
fn sqlite_args<'q>(args: &[&'q Value]) -> DbResult<AnyArguments<'q>> {
    let mut bound = AnyArguments::default();
    for value in args {
        let added = match value {
            Value::Null => bound.add(None::<String>),
            Value::Bool(b) => bound.add(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => bound.add(i),
                None => bound.add(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => bound.add(s.as_str()),
            other => bound.add(other.to_string()),
        };
        added.map_err(|e| DbError::Guard(format!("cannot bind a value: {e}")))?;
    }
    Ok(bound)
}

/// A refused plugin statement becomes [`DbError::Refused`] with what it tried.
fn refused_as<T>(result: Result<T, sqlx::Error>, refusal: Option<String>) -> DbResult<T> {
    match (result, refusal) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(refusal)) => Err(DbError::Refused(refusal)),
        (Err(e), None) => Err(e.into()),
    }
}

/// PostgreSQL's refusals of the plugin role (insufficient privilege, `SET ROLE` in a definer
/// function, transaction control) become [`DbError::Refused`] with the database's words.
fn postgres_refusal<T>(result: Result<T, sqlx::Error>) -> DbResult<T> {
    match result {
        Err(sqlx::Error::Database(e))
            if matches!(
                e.code().as_deref(),
                Some("42501" | "0A000" | "55P02" | "2D000")
            ) =>
        {
            Err(DbError::Refused(e.message().to_owned()))
        }
        other => Ok(other?),
    }
}

/// The first 12 hex digits of the SHA-256 of `text`.
fn hex12(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `name` as a double-quoted identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
