//! What the console loads of the tenant's plugins: the list of their UI modules
//! (`GET /api/v1/tenants/{t}/ui-modules`), their files (`GET /plugins/{id}/{version}/…`),
//! served from the installed package to the users of the tenants that installed it, and the
//! short-lived token a plugin's frontend calls its own backend with
//! (`POST /api/v1/tenants/{t}/plugins/{id}/ui-token`).

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::core::{PluginState, PluginUi, PluginUiToken, UiMenu, UiModule, UiModules};
use plexica_sdk::manifest::check_package_path;
use serde::Deserialize;

use super::QueryParams;
use super::auth::session_token;
use super::console::media_type;
use super::guard::Caller;
use crate::auth::Credential;
use crate::authz::TenantScope;
use crate::db::plugins::InstallRecord;
use crate::db::tenant::TenantDb;
use crate::error::{ApiError, ApiResult};
use crate::slug::TenantSlug;
use crate::state::AppState;

/// Query of `GET /ui-modules`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiModulesQuery {
    /// The workspace the console shows: modules whose permission its role carries by
    /// default are listed too.
    workspace: Option<String>,
}

/// `GET /api/v1/tenants/{t}/ui-modules?workspace=`: the frontends of the tenant's active (and
/// failed) plugins, each with the modules the caller may see.
pub async fn list(
    Caller(caller): Caller,
    scope: TenantScope,
    QueryParams(query): QueryParams<UiModulesQuery>,
) -> ApiResult<Json<UiModules>> {
    if matches!(caller.credential, Credential::Install { .. }) {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "the console's modules are listed for users, not plugins",
        ));
    }
    let role = match &query.workspace {
        None => None,
        Some(slug) => {
            let found = scope
                .workspace_of(slug, &caller.user_id)
                .await?
                .ok_or_else(|| super::workspace_not_found(slug))?;
            Some(found.role)
        }
    };
    let mut plugins = Vec::new();
    for record in scope.db.plugin_installs().await? {
        if !matches!(record.state, PluginState::Active | PluginState::Failed) {
            continue;
        }
        let Some(frontend) = &record.manifest.frontend else {
            continue;
        };
        let modules = frontend
            .modules
            .iter()
            .filter(|m| {
                m.permission.as_deref().is_none_or(|permission| {
                    scope.holds_plugin_permission(&record.manifest, permission, role)
                })
            })
            .map(|m| UiModule {
                name: m.name.clone(),
                kind: m.kind.as_str().to_owned(),
                extension_point: m.extension_point.clone(),
                route: m.route.clone(),
                menu: m.menu.as_ref().map(|menu| UiMenu {
                    label: menu.label.clone(),
                    icon: menu.icon.clone(),
                    order: menu.order,
                }),
            })
            .collect();
        plugins.push(PluginUi {
            remote_entry: format!(
                "/plugins/{}/{}/{}",
                record.plugin_id, record.version, frontend.remote_entry
            ),
            id: record.plugin_id,
            name: record.manifest.plugin.name,
            version: record.version.to_string(),
            state: record.state,
            // A failure quotes the end of the backend's log: for whoever may read plugins.
            error: record
                .error
                .map(|error| match scope.allows("plugins:read") {
                    true => error,
                    false => "it failed; an administrator can see why".to_owned(),
                }),
            modules,
        });
    }
    Ok(Json(UiModules { plugins }))
}

/// How long a plugin UI token lives: the console asks for a new one as it nears its end.
pub const UI_TOKEN_TTL: Duration = Duration::from_secs(300);

/// `POST /api/v1/tenants/{t}/plugins/{id}/ui-token`: a token for the frontend of active plugin
/// `id`, issued to a signed-in user's session. It opens that plugin's endpoints through the
/// gateway, with the user's permissions, for [`UI_TOKEN_TTL`], and ends with the session:
/// whatever the plugin's code does with it, it reaches nothing else.
pub async fn ui_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    scope: TenantScope,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<PluginUiToken>> {
    let Credential::Session(_) = &caller.credential else {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "a plugin's UI token is issued to a signed-in user's session only",
        ));
    };
    if active_in(&state, scope.slug.as_str(), &scope.db, &id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(
            "PLUGIN_NOT_FOUND",
            format!("`{}` is not active in this tenant", id.escape_debug()),
        ));
    }
    Ok(Json(PluginUiToken {
        token: session_token(&state, &caller, UI_TOKEN_TTL, Some(&id))?,
        expires_in: UI_TOKEN_TTL.as_secs(),
    }))
}

/// A plugin file opened as a document (an SVG, say) runs nothing and loads nothing; the
/// console's own policy governs the scripts it loads.
const ASSET_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// `GET /plugins/{id}/{version}/{*path}`: file `path` of the `[frontend].dist` of plugin `id`
/// as installed in the caller's tenant, at exactly `version`, while it is active. The package
/// of a version never changes (its digest is the ETag), so browsers keep files for a year;
/// a development platform, whose installs replace a version in place, has them revalidated.
pub async fn asset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version, path)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let not_found = || {
        ApiError::not_found(
            "NOT_FOUND",
            format!(
                "no file `{}` of an active {}@{} in this tenant",
                path.escape_debug(),
                id.escape_debug(),
                version.escape_debug()
            ),
        )
    };
    let record = active_install(&state, caller.tenant.as_deref(), &id)
        .await?
        .filter(|r| r.version.to_string() == version)
        .ok_or_else(not_found)?;
    let frontend = record.manifest.frontend.as_ref().ok_or_else(not_found)?;
    let relative = asset_path(&path).ok_or_else(not_found)?;
    let etag = HeaderValue::from_str(&format!("\"{}\"", record.digest))
        .map_err(|_| ApiError::internal("a package digest is not a header value"))?;
    let cache = HeaderValue::from_static(if state.config.dev_mode {
        "private, no-cache"
    } else {
        "private, max-age=31536000, immutable"
    });
    let common = [
        (ETAG, etag.clone()),
        (CACHE_CONTROL, cache),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(ASSET_POLICY),
        ),
    ];
    if headers.get(IF_NONE_MATCH) == Some(&etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let dist = state.plugins.unpacked(&record).await?.join(&frontend.dist);
    let file = contained_file(&dist, &relative)
        .await
        .ok_or_else(not_found)?;
    let bytes = tokio::fs::read(&file).await.map_err(|_| not_found())?;
    let media = media_type(&relative.to_string_lossy());
    Ok((
        common,
        [(CONTENT_TYPE, HeaderValue::from_static(media))],
        bytes,
    )
        .into_response())
}

/// Plugin `id` of `tenant`, if installed there and active.
async fn active_install(
    state: &AppState,
    tenant: Option<&str>,
    id: &str,
) -> ApiResult<Option<Arc<InstallRecord>>> {
    let Some(slug) = tenant.and_then(|t| TenantSlug::parse(t).ok()) else {
        return Ok(None);
    };
    let db = state.tenant_dbs.get(&slug).await?;
    active_in(state, slug.as_str(), &db, id).await
}

/// Plugin `id` of tenant `slug`, whose database is `db`, if installed there and active.
async fn active_in(
    state: &AppState,
    slug: &str,
    db: &TenantDb,
    id: &str,
) -> ApiResult<Option<Arc<InstallRecord>>> {
    let record = state.plugins.installs.get(slug, db, id).await?;
    Ok(record.filter(|r| r.state == PluginState::Active))
}

/// `path` as a relative path of plain names: a package path (no `..`, no root, no empty
/// segment; [`check_package_path`]) with no hidden file or directory.
fn asset_path(path: &str) -> Option<PathBuf> {
    let plain = path.len() <= 1024
        && check_package_path(path).is_ok()
        && !path.split('/').any(|segment| segment.starts_with('.'));
    plain.then(|| PathBuf::from(path))
}

/// `dir/relative` if it is a file that is really inside `dir` (no link leads out).
async fn contained_file(dir: &FsPath, relative: &FsPath) -> Option<PathBuf> {
    let root = tokio::fs::canonicalize(dir).await.ok()?;
    let file = tokio::fs::canonicalize(dir.join(relative)).await.ok()?;
    let is_file = tokio::fs::metadata(&file).await.ok()?.is_file();
    (is_file && file.starts_with(&root)).then_some(file)
}
