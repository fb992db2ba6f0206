//! A plugin's own tables (those its migrations created, `plugin_tables`), read and written
//! row by row for the data API (`routes/data.rs`). The SQL is built here from a table's
//! introspected columns: every table and column name comes from the database's catalog, never
//! from the request, and every value is a bound parameter. Rows travel as JSON objects,
//! assembled by the database itself so that both backends answer with the same shape.

use serde_json::{Map, Value};
use sqlx::Row;

use super::plugin_sql::PluginSpace;
use super::tenant::TenantDb;
use super::{Backend, DbError, DbResult};

/// A column of a plugin table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name (a plain identifier: `[A-Za-z_][A-Za-z0-9_]*`).
    pub name: String,
    /// Its declared type, as the database reports it (`text`, `bigint`, `INTEGER`, …).
    pub sql_type: String,
}

/// A plugin table and its columns, as the tenant's data space has them now.
#[derive(Debug, Clone)]
pub struct PluginTable {
    backend: Backend,
    /// The plugin's place in the tenant's data space: its statements run as the plugin.
    space: PluginSpace,
    /// Every table of the plugin (what SQLite may touch for it: a foreign key between two of
    /// them makes a statement on one read the other); empty on PostgreSQL.
    owned: Vec<String>,
    /// `"schema"."table"` (PostgreSQL) or `"table"` (SQLite).
    qualified: String,
    /// The columns a request may name, in table order.
    pub columns: Vec<Column>,
}

/// Is `name` a plain SQL identifier, safe to quote and put in a JSON key as it is?
fn is_plain_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 63
}

/// A condition or assignment on one column; in a filter, `null` is `IS NULL`.
pub type ColumnValue<'a> = (&'a Column, &'a Value);

/// How rows are ordered: a column and whether it descends.
pub type Ordering<'a> = (&'a Column, bool);

/// A statement under construction, with its parameters in order.
struct Sql<'t> {
    table: &'t PluginTable,
    text: String,
    params: Vec<&'t Value>,
}

impl<'t> Sql<'t> {
    fn new(table: &'t PluginTable, text: String) -> Self {
        Self {
            table,
            text,
            params: Vec::new(),
        }
    }

    /// The placeholder of `value` for `column`: on PostgreSQL every value travels as text, the
    /// n-th of the array the plugin's `run` function receives, and is cast to the column's type
    /// (so one binding fits every column type).
    fn param(&mut self, column: &Column, value: &'t Value) -> String {
        self.params.push(value);
        let n = self.params.len();
        match self.table.backend {
            Backend::Sqlite => format!("${n}"),
            Backend::Postgres => format!("CAST($1[{n}] AS {})", column.sql_type),
        }
    }

    /// ` WHERE a = $1 AND b IS NULL …` (nothing for no condition).
    fn filter(&mut self, filter: &[ColumnValue<'t>]) {
        for (i, (column, value)) in filter.iter().enumerate() {
            self.text.push_str(if i == 0 { " WHERE " } else { " AND " });
            let name = quote(&column.name);
            if value.is_null() {
                self.text.push_str(&format!("{name} IS NULL"));
            } else {
                let param = self.param(column, value);
                self.text.push_str(&format!("{name} = {param}"));
            }
        }
    }

    /// Runs the statement as the plugin; its one text column, row by row.
    async fn texts(&self, db: &TenantDb) -> DbResult<Vec<Option<String>>> {
        let mut conn = db.pool().acquire().await?;
        self.table
            .space
            .query_texts(&mut conn, &self.table.owned, &self.text, &self.params)
            .await
    }

    /// Runs the statement (an `UPDATE` or `DELETE`) as the plugin; how many rows it changed.
    async fn execute(&self, db: &TenantDb) -> DbResult<u64> {
        let mut conn = db.pool().acquire().await?;
        self.table
            .space
            .execute(&mut conn, &self.table.owned, &self.text, &self.params)
            .await
    }
}

/// `name` as a double-quoted identifier (names here are plain identifiers already).
fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

impl PluginTable {
    /// The column named `name`, if the table has it.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// An expression giving a row as JSON object text, built with the database's own JSON
    /// functions (`json_quote` / `to_json`), so numbers, text, booleans and nulls keep their
    /// kinds. On SQLite, columns declared `JSON…` hold JSON text and `BOOL…` hold 0/1.
    fn row_json(&self) -> String {
        let fields: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let name = quote(&c.name);
                let value = match self.backend {
                    Backend::Postgres => format!("COALESCE(to_json({name})::text, 'null')"),
                    Backend::Sqlite => {
                        let declared = c.sql_type.to_ascii_uppercase();
                        if declared.contains("JSON") {
                            format!("COALESCE(json({name}), 'null')")
                        } else if declared.contains("BOOL") {
                            format!(
                                "CASE WHEN {name} IS NULL THEN 'null' WHEN {name} THEN 'true' ELSE 'false' END"
                            )
                        } else {
                            format!("json_quote({name})")
                        }
                    }
                };
                format!("'\"{}\":' || {value}", c.name)
            })
            .collect();
        format!("'{{' || {} || '}}'", fields.join(" || ',' || "))
    }
}

fn parse_row(text: &str) -> DbResult<Map<String, Value>> {
    Ok(serde_json::from_str(text)?)
}

impl TenantDb {
    /// `table` with its columns when `plugin_id`'s migrations created it; `None` for any other
    /// name (another plugin's table, a platform table, one that does not exist).
    pub async fn plugin_table(
        &self,
        backend: Backend,
        plugin_id: &str,
        table: &str,
    ) -> DbResult<Option<PluginTable>> {
        if !is_plain_identifier(table) {
            return Ok(None);
        }
        let query = match backend {
            Backend::Sqlite => {
                "SELECT p.name AS name, p.type AS sql_type, '' AS schema_name \
                 FROM plugin_tables t, pragma_table_info(t.table_name) p \
                 WHERE t.plugin_id = $1 AND t.table_name = $2 ORDER BY p.cid"
            }
            // In the plugin's own schema, qualified: a bare name could resolve to `pg_catalog`.
            Backend::Postgres => {
                "SELECT a.attname::text AS name, format_type(a.atttypid, NULL) AS sql_type \
                 FROM plugin_tables t JOIN pg_attribute a ON a.attrelid = \
                 to_regclass(quote_ident($3) || '.' || quote_ident(t.table_name)) \
                 WHERE t.plugin_id = $1 AND t.table_name = $2 AND a.attnum > 0 \
                 AND NOT a.attisdropped ORDER BY a.attnum"
            }
        };
        let space = self.plugin_space(plugin_id);
        let mut query = sqlx::query(query).bind(plugin_id).bind(table);
        if let Some(schema) = space.schema() {
            query = query.bind(schema.to_owned());
        }
        let rows = query.fetch_all(self.pool()).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        // SQLite's grant names the tables; on PostgreSQL the plugin's role owns them already.
        let owned: Vec<String> = match backend {
            Backend::Sqlite => {
                sqlx::query_scalar("SELECT table_name FROM plugin_tables WHERE plugin_id = $1")
                    .bind(plugin_id)
                    .fetch_all(self.pool())
                    .await?
            }
            Backend::Postgres => Vec::new(),
        };
        let mut columns = Vec::with_capacity(rows.len());
        for row in &rows {
            let column = Column {
                name: row.try_get("name")?,
                sql_type: row.try_get("sql_type")?,
            };
            if is_plain_identifier(&column.name) {
                columns.push(column);
            }
        }
        Ok(Some(PluginTable {
            backend,
            qualified: space.qualified(table),
            owned,
            space,
            columns,
        }))
    }

    /// Inserts one row; the row as stored (defaults filled in).
    pub async fn insert_row(
        &self,
        table: &PluginTable,
        values: &[ColumnValue<'_>],
    ) -> DbResult<Map<String, Value>> {
        let names: Vec<String> = values.iter().map(|(c, _)| quote(&c.name)).collect();
        let mut sql = Sql::new(table, String::new());
        let params: Vec<String> = values.iter().map(|(c, v)| sql.param(c, v)).collect();
        sql.text = if values.is_empty() {
            format!(
                "INSERT INTO {} DEFAULT VALUES RETURNING {} AS row_json",
                table.qualified,
                table.row_json()
            )
        } else {
            format!(
                "INSERT INTO {} ({}) VALUES ({}) RETURNING {} AS row_json",
                table.qualified,
                names.join(", "),
                params.join(", "),
                table.row_json()
            )
        };
        let rows = sql.texts(self).await?;
        parse_row(rows.first().and_then(|r| r.as_deref()).unwrap_or_default())
    }

    /// The rows matching `filter`, in `order`, at most `limit` after skipping `offset`.
    pub async fn select_rows(
        &self,
        table: &PluginTable,
        filter: &[ColumnValue<'_>],
        order: &[Ordering<'_>],
        limit: u32,
        offset: u32,
    ) -> DbResult<Vec<Map<String, Value>>> {
        let mut sql = Sql::new(
            table,
            format!(
                "SELECT {} AS row_json FROM {}",
                table.row_json(),
                table.qualified
            ),
        );
        sql.filter(filter);
        for (i, (column, descending)) in order.iter().enumerate() {
            sql.text.push_str(if i == 0 { " ORDER BY " } else { ", " });
            sql.text.push_str(&quote(&column.name));
            if *descending {
                sql.text.push_str(" DESC");
            }
        }
        sql.text
            .push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        let rows = sql.texts(self).await?;
        rows.iter()
            .map(|row| parse_row(row.as_deref().unwrap_or_default()))
            .collect()
    }

    /// How many rows match `filter`.
    pub async fn count_rows(
        &self,
        table: &PluginTable,
        filter: &[ColumnValue<'_>],
    ) -> DbResult<u64> {
        let mut sql = Sql::new(
            table,
            format!("SELECT CAST(COUNT(*) AS TEXT) FROM {}", table.qualified),
        );
        sql.filter(filter);
        let rows = sql.texts(self).await?;
        rows.first()
            .and_then(|n| n.as_deref())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| DbError::Guard("the count of rows is not a number".into()))
    }

    /// Sets `set` on the rows matching `filter`; how many changed.
    pub async fn update_rows(
        &self,
        table: &PluginTable,
        filter: &[ColumnValue<'_>],
        set: &[ColumnValue<'_>],
    ) -> DbResult<u64> {
        let mut sql = Sql::new(table, format!("UPDATE {} SET ", table.qualified));
        for (i, (column, value)) in set.iter().enumerate() {
            let param = sql.param(column, value);
            if i > 0 {
                sql.text.push_str(", ");
            }
            sql.text
                .push_str(&format!("{} = {param}", quote(&column.name)));
        }
        sql.filter(filter);
        sql.execute(self).await
    }

    /// Removes the rows matching `filter`; how many went.
    pub async fn delete_rows(
        &self,
        table: &PluginTable,
        filter: &[ColumnValue<'_>],
    ) -> DbResult<u64> {
        let mut sql = Sql::new(table, format!("DELETE FROM {}", table.qualified));
        sql.filter(filter);
        sql.execute(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers() {
        for ok in ["crm_contacts", "_x", "A1", "workspace_id"] {
            assert!(is_plain_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "a\"b", "a;b", "é", &"a".repeat(64)] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }

    fn table(backend: Backend) -> PluginTable {
        PluginTable {
            backend,
            space: PluginSpace::sqlite("crm"),
            owned: vec!["crm_contacts".into()],
            qualified: "\"crm_contacts\"".into(),
            columns: vec![
                Column {
                    name: "id".into(),
                    sql_type: "text".into(),
                },
                Column {
                    name: "amount".into(),
                    sql_type: "bigint".into(),
                },
            ],
        }
    }

    #[test]
    fn filters_bind_values_and_compare_nulls_without_parameters() {
        let t = table(Backend::Postgres);
        let (id, amount) = (&t.columns[0], &t.columns[1]);
        let (five, null) = (Value::from(5), Value::Null);
        let mut sql = Sql::new(&t, "SELECT 1".into());
        sql.filter(&[(amount, &five), (id, &null)]);
        assert_eq!(
            sql.text,
            "SELECT 1 WHERE \"amount\" = CAST($1[1] AS bigint) AND \"id\" IS NULL"
        );
        assert_eq!(sql.params, vec![&five]);
        let t = table(Backend::Sqlite);
        let mut sql = Sql::new(&t, "SELECT 1".into());
        sql.filter(&[(&t.columns[1], &five)]);
        assert_eq!(sql.text, "SELECT 1 WHERE \"amount\" = $1");
    }
}
