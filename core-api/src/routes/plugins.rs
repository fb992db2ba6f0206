//! `/api/v1/plugins` (the catalog) and `/api/v1/tenants/{t}/plugins`: the plugin lifecycle of
//! a tenant, and workspaces' plugin settings. The work is in [`crate::plugins`]; handlers
//! parse, call it and shape the answer.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plexica_sdk::api::core::{
    InstallPluginRequest, PluginInstall, PluginLog, UpdatePluginConfigRequest,
    UpgradePluginRequest, WorkspacePluginSettings,
};
use plexica_sdk::api::registry::{SearchResults, VersionDetail};
use plexica_sdk::api::time::now_ms;
use plexica_sdk::manifest::config::{check_workspace_overrides, redact};
use serde::Deserialize;
use serde_json::json;

use super::correlation::TenantEvents;
use super::guard::Caller;
use super::{JsonBody, QueryParams};
use crate::auth::Credential;
use crate::authz::{TenantScope, WorkspaceScope};
use crate::error::{ApiError, ApiResult};
use crate::plugins::{self, describe, installed};
use crate::state::AppState;

/// Query of `GET /plugins`.
#[derive(Debug, Deserialize)]
pub struct CatalogQuery {
    q: Option<String>,
}

/// `GET /api/v1/plugins?q=`: the registry's catalog.
pub async fn catalog(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<CatalogQuery>,
) -> ApiResult<Json<SearchResults>> {
    let registry = state.plugins.registry.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "REGISTRY_NOT_CONFIGURED",
            "this platform has no plugin registry configured (`--registry-url`)",
        )
    })?;
    let q = query.q.unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "`q` has at most 200 characters"));
    }
    Ok(Json(registry.search(&q).await?))
}

/// Query of `GET /plugins/{plugin}`.
#[derive(Debug, Deserialize)]
pub struct OfferQuery {
    version_req: Option<String>,
}

/// `GET /api/v1/plugins/{plugin}?version_req=`: the registry's metadata of the version an install
/// with that requirement would pick (its manifest's configuration fields, whether it is yanked
/// and why), for clients to ask for the right values before installing.
pub async fn offer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<OfferQuery>,
) -> ApiResult<Json<VersionDetail>> {
    Ok(Json(
        state
            .plugins
            .offer(&id, query.version_req.as_deref())
            .await?,
    ))
}

/// `POST /api/v1/tenants/{t}/plugins`.
pub async fn install(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    JsonBody(request): JsonBody<InstallPluginRequest>,
) -> ApiResult<(StatusCode, Json<PluginInstall>)> {
    let record = state
        .plugins
        .install(&scope, events.cause(), request)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(describe(&scope.db, &record).await?),
    ))
}

/// `GET /api/v1/tenants/{t}/plugins`.
pub async fn list(scope: TenantScope) -> ApiResult<Json<Vec<PluginInstall>>> {
    let mut all = Vec::new();
    for record in scope.db.plugin_installs().await? {
        all.push(describe(&scope.db, &record).await?);
    }
    Ok(Json(all))
}

/// `GET /api/v1/tenants/{t}/plugins/{id}`.
pub async fn get(
    scope: TenantScope,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<PluginInstall>> {
    let record = installed(&scope, &id).await?;
    Ok(Json(describe(&scope.db, &record).await?))
}

/// Query of `GET /tenants/{t}/plugins/{id}/logs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// How many of the last lines (default 100, at most 10,000).
    lines: Option<usize>,
    /// Only what was written after this offset (a previous answer's `next_offset`).
    after: Option<u64>,
}

/// `GET /api/v1/tenants/{t}/plugins/{id}/logs?lines=&after=`: the log of the installed
/// version's backend. A tenant's administrators read it only while it is theirs alone (no
/// other tenant was served while it was written); platform administrators always.
pub async fn logs(
    State(state): State<AppState>,
    Caller(caller): Caller,
    scope: TenantScope,
    Path((_, id)): Path<(String, String)>,
    QueryParams(query): QueryParams<LogQuery>,
) -> ApiResult<Json<PluginLog>> {
    let lines = query.lines.unwrap_or(100);
    if !(1..=10_000).contains(&lines) {
        return Err(ApiError::invalid("lines", "`lines` is between 1 and 10000"));
    }
    let record = installed(&scope, &id).await?;
    let version = record.version.to_string();
    let log = state.plugins.runtime.log(&id, &version).ok_or_else(|| {
        ApiError::not_found(
            "LOG_NOT_FOUND",
            format!("the backend of {id}@{version} has not run here"),
        )
    })?;
    if !caller.super_admin && !plugins::log_is_tenants_own(&log, scope.slug.as_str()) {
        return Err(ApiError::forbidden(
            "LOG_SHARED",
            format!(
                "the backend of {id}@{version} also served other tenants while writing this log: a platform administrator can read it"
            ),
        ));
    }
    let secrets = plugins::secret_values(&record);
    let read = tokio::task::spawn_blocking(move || match query.after {
        Some(offset) => plugins::logs::after(&log.path, offset, &secrets),
        None => plugins::logs::tail(&log.path, lines, &secrets),
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(format!("cannot read the plugin's log: {e}")))?;
    Ok(Json(PluginLog {
        plugin_id: id,
        version,
        lines: read.lines,
        next_offset: read.next_offset,
    }))
}

/// The largest package a development install takes: as much as any package may inflate to
/// (`plexica plugin dev` sends debug builds, stored rather than deflated).
const DEV_PACKAGE_LIMIT: usize = 512 * 1024 * 1024;

/// `PUT /api/v1/tenants/{t}/plugins/{id}/dev`: the body is an unsigned `.pxp`, installed and
/// activated in place of what is installed (development mode only).
pub async fn dev_install(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
    body: axum::body::Body,
) -> ApiResult<Json<PluginInstall>> {
    // Refused before a byte of the body is read.
    state.plugins.require_dev_mode()?;
    let bytes = axum::body::to_bytes(body, DEV_PACKAGE_LIMIT)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PACKAGE_TOO_LARGE",
                format!(
                    "a development package is at most {} MiB",
                    DEV_PACKAGE_LIMIT / (1024 * 1024)
                ),
            )
        })?;
    let record = state
        .plugins
        .dev_install(&scope, events.cause(), &id, bytes.to_vec())
        .await?;
    Ok(Json(describe(&scope.db, &record).await?))
}

/// `POST /api/v1/tenants/{t}/plugins/{id}/activate`.
pub async fn activate(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<PluginInstall>> {
    let record = state.plugins.activate(&scope, events.cause(), &id).await?;
    Ok(Json(describe(&scope.db, &record).await?))
}

/// `POST /api/v1/tenants/{t}/plugins/{id}/deactivate`.
pub async fn deactivate(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<PluginInstall>> {
    let record = state
        .plugins
        .deactivate(&scope, events.cause(), &id)
        .await?;
    Ok(Json(describe(&scope.db, &record).await?))
}

/// `PATCH /api/v1/tenants/{t}/plugins/{id}/config`.
pub async fn configure(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
    JsonBody(request): JsonBody<UpdatePluginConfigRequest>,
) -> ApiResult<Json<PluginInstall>> {
    let record = state
        .plugins
        .configure(&scope, events.cause(), &id, &request.config)
        .await?;
    Ok(Json(describe(&scope.db, &record).await?))
}

/// `POST /api/v1/tenants/{t}/plugins/{id}/upgrade`.
pub async fn upgrade(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
    JsonBody(request): JsonBody<UpgradePluginRequest>,
) -> ApiResult<Json<PluginInstall>> {
    let record = state
        .plugins
        .upgrade(&scope, events.cause(), &id, &request)
        .await?;
    Ok(Json(describe(&scope.db, &record).await?))
}

/// Query of `DELETE /plugins/{id}`.
#[derive(Debug, Deserialize)]
pub struct UninstallQuery {
    #[serde(default)]
    purge: bool,
}

/// `DELETE /api/v1/tenants/{t}/plugins/{id}?purge=false`.
pub async fn uninstall(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
    QueryParams(query): QueryParams<UninstallQuery>,
) -> ApiResult<StatusCode> {
    state
        .plugins
        .uninstall(&scope, events.cause(), &id, query.purge)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn settings_of(
    scope: &TenantScope,
    ws: &WorkspaceScope,
    id: &str,
) -> ApiResult<WorkspacePluginSettings> {
    let record = installed(scope, id).await?;
    let overrides = scope
        .db
        .workspace_plugin_settings(&ws.workspace.id, id)
        .await?;
    let mut effective = record.config.clone();
    effective.extend(overrides.clone());
    let fields = &record.manifest.config;
    Ok(WorkspacePluginSettings {
        overrides: redact(fields, &overrides),
        effective: redact(fields, &effective),
    })
}

/// Query of `GET /plugin-config`.
#[derive(Debug, Deserialize)]
pub struct OwnConfigQuery {
    workspace: Option<String>,
}

/// `GET /api/v1/tenants/{t}/plugin-config?workspace=`: the calling plugin's own configuration
/// in the tenant (secrets included: they are its own), with the workspace's overrides on top
/// when one is named.
pub async fn own_config(
    Caller(caller): Caller,
    scope: TenantScope,
    QueryParams(query): QueryParams<OwnConfigQuery>,
) -> ApiResult<Json<serde_json::Map<String, serde_json::Value>>> {
    let Credential::Install { plugin_id } = &caller.credential else {
        return Err(ApiError::internal("the plugin rule admitted a non-plugin"));
    };
    let record = installed(&scope, plugin_id).await?;
    let mut config = record.config;
    if let Some(slug) = &query.workspace {
        let workspace = scope
            .db
            .workspace(slug, "")
            .await?
            .ok_or_else(|| super::workspace_not_found(slug))?;
        config.extend(
            scope
                .db
                .workspace_plugin_settings(&workspace.id, plugin_id)
                .await?,
        );
    }
    Ok(Json(config))
}

/// `GET /api/v1/tenants/{t}/workspaces/{ws}/plugins/{id}/settings`.
pub async fn workspace_settings(
    scope: TenantScope,
    ws: WorkspaceScope,
    Path((_, _, id)): Path<(String, String, String)>,
) -> ApiResult<Json<WorkspacePluginSettings>> {
    Ok(Json(settings_of(&scope, &ws, &id).await?))
}

/// `PUT /api/v1/tenants/{t}/workspaces/{ws}/plugins/{id}/settings`: replaces the workspace's
/// overrides (fields marked `workspace-override` only).
pub async fn put_workspace_settings(
    scope: TenantScope,
    ws: WorkspaceScope,
    Path((_, _, id)): Path<(String, String, String)>,
    JsonBody(request): JsonBody<WorkspacePluginSettings>,
) -> ApiResult<Json<WorkspacePluginSettings>> {
    let record = installed(&scope, &id).await?;
    let overrides = check_workspace_overrides(&record.manifest.config, &request.overrides)
        .map_err(|problems| {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "SETTINGS_INVALID",
                format!("the workspace settings are not valid: {}", list.join("; ")),
            )
            .with_details(json!({ "problems": problems }))
        })?;
    scope
        .db
        .put_workspace_plugin_settings(&ws.workspace.id, &id, &overrides, now_ms())
        .await?;
    Ok(Json(settings_of(&scope, &ws, &id).await?))
}
