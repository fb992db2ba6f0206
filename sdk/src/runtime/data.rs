//! `ctx.data()`: the plugin's own tables (those its migrations create) in the context's
//! tenant, through the core API's data API. For a workspace-aware plugin, tables with a
//! `workspace_id` column are confined to the context's workspace by the platform: rows are
//! written with it and only its rows are read, changed or removed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::Context;
use super::error::{Error, Result};
use crate::api::core::{
    DataCount, DataFilter, DataQuery, DataRow, DataRows, InsertRow, InsertedRow, RowsChanged,
    UpdateRows,
};

/// The plugin's tables in the context's tenant (and workspace).
#[derive(Debug, Clone, Copy)]
pub struct Data<'a> {
    pub(super) ctx: &'a Context,
}

/// `value` as a row object (`json!({...})` or a struct); anything else is refused.
fn row_of(value: impl Serialize) -> Result<DataRow> {
    match serde_json::to_value(value).map_err(Error::other)? {
        serde_json::Value::Object(row) => Ok(row),
        serde_json::Value::Null => Ok(DataRow::new()),
        other => Err(Error::other(format!(
            "a row or filter is a JSON object of columns, not `{other}`"
        ))),
    }
}

fn path(table: &str, action: &str) -> String {
    format!("data/{table}{action}")
}

impl<'a> Data<'a> {
    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.ctx
            .connection()?
            .send(self.ctx, |http, url| http.post(url).json(body), path)
            .await
    }

    /// Inserts `values` (an object of columns) into `table`; the row as stored, as `T`.
    pub async fn insert<T: DeserializeOwned>(
        &self,
        table: &str,
        values: impl Serialize,
    ) -> Result<T> {
        let body = InsertRow {
            values: row_of(values)?,
        };
        let inserted: InsertedRow = self.post(&path(table, ""), &body).await?;
        serde_json::from_value(inserted.row.into()).map_err(Error::other)
    }

    /// A query of `table`: add conditions, order and limit, then [`TableQuery::fetch`].
    pub fn query(&self, table: &str) -> TableQuery<'a> {
        TableQuery {
            data: *self,
            table: table.to_owned(),
            query: DataQuery::default(),
        }
    }

    /// How many rows of `table` match `filter` (an object of columns; `()` for all).
    pub async fn count(&self, table: &str, filter: impl Serialize) -> Result<u64> {
        let body = DataFilter {
            filter: row_of(filter)?,
        };
        let counted: DataCount = self.post(&path(table, "/count"), &body).await?;
        Ok(counted.count)
    }

    /// Sets `set` on the rows of `table` matching `filter` (at least one column); how many
    /// changed.
    pub async fn update(
        &self,
        table: &str,
        filter: impl Serialize,
        set: impl Serialize,
    ) -> Result<u64> {
        let body = UpdateRows {
            filter: row_of(filter)?,
            set: row_of(set)?,
        };
        let changed: RowsChanged = self
            .ctx
            .connection()?
            .send(
                self.ctx,
                |http, url| http.patch(url).json(&body),
                &path(table, ""),
            )
            .await?;
        Ok(changed.rows)
    }

    /// Removes the rows of `table` matching `filter` (at least one column); how many went.
    pub async fn delete(&self, table: &str, filter: impl Serialize) -> Result<u64> {
        let body = DataFilter {
            filter: row_of(filter)?,
        };
        let changed: RowsChanged = self.post(&path(table, "/delete"), &body).await?;
        Ok(changed.rows)
    }
}

/// A query being built by [`Data::query`].
#[derive(Debug, Clone)]
pub struct TableQuery<'a> {
    data: Data<'a>,
    table: String,
    query: DataQuery,
}

impl TableQuery<'_> {
    /// Only rows whose `column` equals `value` (`None`/`null`: has no value).
    pub fn filter(mut self, column: &str, value: impl Into<serde_json::Value>) -> Self {
        self.query.filter.insert(column.to_owned(), value.into());
        self
    }

    /// Ordered by `column` (`-column` for descending), after any order given before.
    pub fn order_by(mut self, column: &str) -> Self {
        self.query.order_by.push(column.to_owned());
        self
    }

    /// At most `limit` rows (1–1000; 100 when not said).
    pub fn limit(mut self, limit: u32) -> Self {
        self.query.limit = Some(limit);
        self
    }

    /// Skips the first `offset` rows.
    pub fn offset(mut self, offset: u32) -> Self {
        self.query.offset = Some(offset);
        self
    }

    /// The matching rows, each as `T`.
    pub async fn fetch<T: DeserializeOwned>(self) -> Result<Vec<T>> {
        let found: DataRows = self
            .data
            .post(&path(&self.table, "/query"), &self.query)
            .await?;
        found
            .rows
            .into_iter()
            .map(|row| serde_json::from_value(row.into()).map_err(Error::other))
            .collect()
    }

    /// The first matching row, if any.
    pub async fn first<T: DeserializeOwned>(self) -> Result<Option<T>> {
        Ok(self.limit(1).fetch().await?.into_iter().next())
    }
}
