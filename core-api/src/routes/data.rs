//! `/api/v1/tenants/{t}/data/{table}`: a plugin's own tables, for that plugin (install token).
//! A plugin reaches only the tables its migrations created in the tenant's data space: any
//! other name, another plugin's table or a platform table, is a 404. Rows are JSON objects of
//! columns; filters are equalities on columns. For a workspace-aware plugin, a table with a
//! `workspace_id` column is scoped to the workspace of the request (`X-Plexica-Workspace`):
//! inserts get it, every read, update and delete is filtered by it, and the plugin cannot set
//! it itself.

use axum::Json;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use plexica_sdk::api::core::{
    DataCount, DataFilter, DataQuery, DataRow, DataRows, InsertRow, InsertedRow, RowsChanged,
    UpdateRows,
};
use plexica_sdk::api::signing::WORKSPACE_HEADER;
use serde_json::Value;
use sqlx::error::ErrorKind;

use super::JsonBody;
use super::guard::Caller;
use crate::authz::TenantScope;
use crate::db::DbError;
use crate::db::data::{Column, ColumnValue, Ordering, PluginTable};
use crate::db::tenant::TenantDb;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The column a workspace-aware plugin's rows are scoped by.
pub const WORKSPACE_COLUMN: &str = "workspace_id";

/// The most rows a query returns.
pub const MAX_LIMIT: u32 = 1000;

/// The rows a query returns when it does not say.
pub const DEFAULT_LIMIT: u32 = 100;

/// The table a request works on (the path's, for the calling plugin), the tenant data it is
/// in and, for a workspace-aware plugin, the workspace its rows are confined to.
pub struct Target {
    db: TenantDb,
    table: PluginTable,
    workspace: Option<(Column, Value)>,
}

impl FromRequestParts<AppState> for Target {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let scope = TenantScope::from_request_parts(parts, state).await?;
        let Path((_, table)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let plugin = caller.plugin_id()?;
        let install = state
            .plugins
            .installs
            .get(scope.slug.as_str(), &scope.db, plugin)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(
                    "PLUGIN_NOT_INSTALLED",
                    format!("`{plugin}` is not installed in this tenant"),
                )
            })?;
        let backend = state.tenant_dbs.backend();
        let found = scope.db.plugin_table(backend, plugin, &table).await?;
        let table = found.ok_or_else(|| {
            ApiError::not_found(
                "TABLE_NOT_FOUND",
                format!(
                    "`{plugin}` has no table `{}` (only the tables its migrations create)",
                    table.escape_debug()
                ),
            )
        })?;
        let workspace = match table.column(WORKSPACE_COLUMN).cloned() {
            Some(column) if install.manifest.plugin.workspace_aware => {
                let id = request_workspace(&scope, &parts.headers).await?;
                Some((column, Value::String(id)))
            }
            _ => None,
        };
        Ok(Self {
            db: scope.db,
            table,
            workspace,
        })
    }
}

impl Target {
    /// `values` as columns of the table; `field` names the request's part in errors. The
    /// workspace column of a scoped table is the platform's to set.
    fn columns<'a>(&'a self, values: &'a DataRow, field: &str) -> ApiResult<Vec<ColumnValue<'a>>> {
        values
            .iter()
            .map(|(name, value)| {
                let column = self.table.column(name).ok_or_else(|| {
                    ApiError::invalid(
                        &format!("{field}.{name}"),
                        format!("the table has no column `{}`", name.escape_debug()),
                    )
                })?;
                if self.workspace.is_some() && name == WORKSPACE_COLUMN {
                    return Err(ApiError::invalid(
                        &format!("{field}.{name}"),
                        "`workspace_id` is set by the platform from the request's workspace",
                    ));
                }
                Ok((column, value))
            })
            .collect()
    }

    /// `filter` as conditions, with the workspace's added.
    fn filter<'a>(&'a self, filter: &'a DataRow) -> ApiResult<Vec<ColumnValue<'a>>> {
        let mut conditions = self.columns(filter, "filter")?;
        if let Some((column, id)) = &self.workspace {
            conditions.push((column, id));
        }
        Ok(conditions)
    }
}

/// The id of the workspace the request names (by slug), which must exist in the tenant.
async fn request_workspace(scope: &TenantScope, headers: &HeaderMap) -> ApiResult<String> {
    let slug = headers
        .get(WORKSPACE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "WORKSPACE_REQUIRED",
                "the plugin is workspace-aware: name the workspace (X-Plexica-Workspace)",
            )
        })?;
    scope
        .db
        .workspace_id(slug)
        .await?
        .ok_or_else(|| super::workspace_not_found(slug))
}

/// A storage failure caused by the row itself (a constraint, a value of the wrong type)
/// becomes a client error with the database's reason; anything else is the usual 503.
fn data_error(e: DbError) -> ApiError {
    if let DbError::Sql(sqlx::Error::Database(db)) = &e {
        let reason = db.message().to_owned();
        let code = db.code().unwrap_or_default().into_owned();
        match db.kind() {
            ErrorKind::UniqueViolation => return ApiError::conflict("ROW_EXISTS", reason),
            ErrorKind::ForeignKeyViolation
            | ErrorKind::NotNullViolation
            | ErrorKind::CheckViolation => {
                return ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "CONSTRAINT_VIOLATION",
                    reason,
                );
            }
            // PostgreSQL's data exceptions (22…), SQLite's datatype mismatch (20).
            _ if code.starts_with("22") || code == "20" => {
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "VALUE_INVALID", reason);
            }
            _ => {}
        }
    }
    e.into()
}

fn require_filter(filter: &DataRow, what: &str) -> ApiResult<()> {
    match filter.is_empty() {
        true => Err(ApiError::invalid(
            "filter",
            format!("{what} needs a filter of at least one column"),
        )),
        false => Ok(()),
    }
}

/// `POST …/data/{table}` `{values}`: inserts one row, answers it as stored.
pub async fn insert(
    target: Target,
    JsonBody(request): JsonBody<InsertRow>,
) -> ApiResult<(StatusCode, Json<InsertedRow>)> {
    let mut values = target.columns(&request.values, "values")?;
    if let Some((column, id)) = &target.workspace {
        values.push((column, id));
    }
    let row = target
        .db
        .insert_row(&target.table, &values)
        .await
        .map_err(data_error)?;
    Ok((StatusCode::CREATED, Json(InsertedRow { row })))
}

/// `POST …/data/{table}/query` `{filter, order_by, limit, offset}`.
pub async fn query(
    target: Target,
    JsonBody(request): JsonBody<DataQuery>,
) -> ApiResult<Json<DataRows>> {
    let filter = target.filter(&request.filter)?;
    let order = request
        .order_by
        .iter()
        .map(|key| {
            let (name, descending) = match key.strip_prefix('-') {
                Some(name) => (name, true),
                None => (key.as_str(), false),
            };
            let column = target.table.column(name).ok_or_else(|| {
                ApiError::invalid(
                    "order_by",
                    format!("the table has no column `{}`", name.escape_debug()),
                )
            })?;
            Ok((column, descending))
        })
        .collect::<ApiResult<Vec<Ordering<'_>>>>()?;
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("`limit` is 1..={MAX_LIMIT}"),
        ));
    }
    let rows = target
        .db
        .select_rows(
            &target.table,
            &filter,
            &order,
            limit,
            request.offset.unwrap_or(0),
        )
        .await
        .map_err(data_error)?;
    Ok(Json(DataRows { rows }))
}

/// `POST …/data/{table}/count` `{filter}`.
pub async fn count(
    target: Target,
    JsonBody(request): JsonBody<DataFilter>,
) -> ApiResult<Json<DataCount>> {
    let filter = target.filter(&request.filter)?;
    let count = target
        .db
        .count_rows(&target.table, &filter)
        .await
        .map_err(data_error)?;
    Ok(Json(DataCount { count }))
}

/// `PATCH …/data/{table}` `{filter, set}`.
pub async fn update(
    target: Target,
    JsonBody(request): JsonBody<UpdateRows>,
) -> ApiResult<Json<RowsChanged>> {
    require_filter(&request.filter, "an update")?;
    if request.set.is_empty() {
        return Err(ApiError::invalid("set", "`set` names no column"));
    }
    let filter = target.filter(&request.filter)?;
    let set = target.columns(&request.set, "set")?;
    let rows = target
        .db
        .update_rows(&target.table, &filter, &set)
        .await
        .map_err(data_error)?;
    Ok(Json(RowsChanged { rows }))
}

/// `POST …/data/{table}/delete` `{filter}`.
pub async fn delete(
    target: Target,
    JsonBody(request): JsonBody<DataFilter>,
) -> ApiResult<Json<RowsChanged>> {
    require_filter(&request.filter, "a delete")?;
    let filter = target.filter(&request.filter)?;
    let rows = target
        .db
        .delete_rows(&target.table, &filter)
        .await
        .map_err(data_error)?;
    Ok(Json(RowsChanged { rows }))
}
