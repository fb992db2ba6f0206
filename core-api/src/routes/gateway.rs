//! `ANY /api/v1/tenants/{t}/gateway/{plugin}/{service}/{*path}`: a call to an endpoint another
//! plugin declares, checked and forwarded by [`crate::gateway`].

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use plexica_sdk::api::core::{
    PluginState, ServiceEndpoint, ServiceInfo, ServiceStatus, WorkspaceRole,
};
use plexica_sdk::runtime::WORKSPACE_HEADER;
use serde_json::json;

use crate::auth::Credential;
use crate::error::{ApiError, ApiResult};
use crate::events::Correlation;
use crate::gateway::{
    CallContext, MAX_BODY_BYTES, Route, check_active, check_path, default_role, find_endpoint,
    forward, unavailable,
};
use crate::rbac::{Caller, TenantScope};
use crate::state::AppState;

/// The workspace the caller names (`X-Plexica-Workspace`) and its role there; a workspace it
/// cannot see is a 404.
async fn caller_workspace(
    scope: &TenantScope,
    user_id: &str,
    headers: &HeaderMap,
) -> ApiResult<Option<(String, WorkspaceRole)>> {
    let Some(slug) = headers.get(WORKSPACE_HEADER).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let not_found = || {
        ApiError::not_found(
            "WORKSPACE_NOT_FOUND",
            format!("no workspace `{}`", slug.escape_debug()),
        )
    };
    let workspace = scope
        .db
        .workspace(slug, user_id)
        .await?
        .ok_or_else(not_found)?;
    let role = match scope.permissions.grants("workspaces:admin") {
        true => Some(WorkspaceRole::Admin),
        false => workspace.role,
    };
    Ok(Some((workspace.slug, role.ok_or_else(not_found)?)))
}

/// `GET /api/v1/tenants/{t}/services`: discovery, from memory — every service the tenant's
/// active plugins declare, with its endpoints and whether its plugin is reachable now.
pub async fn services(
    State(state): State<AppState>,
    scope: TenantScope,
) -> ApiResult<Json<Vec<ServiceInfo>>> {
    let window = state.config.heartbeat_interval * 3;
    let mut all = Vec::new();
    for record in scope.db.plugin_installs().await? {
        if record.state != PluginState::Active {
            continue;
        }
        let available = state
            .plugins
            .targets
            .get(scope.slug.as_str(), &record.plugin_id)
            .is_some_and(|t| !t.is_stale(window));
        for service in &record.manifest.services {
            all.push(ServiceInfo {
                plugin: record.plugin_id.clone(),
                name: service.name.clone(),
                version: service.version.to_string(),
                status: match available {
                    true => ServiceStatus::Available,
                    false => ServiceStatus::Unavailable,
                },
                endpoints: service
                    .endpoints
                    .iter()
                    .map(|e| ServiceEndpoint {
                        method: e.method.as_str().to_owned(),
                        path: e.path.clone(),
                        permission: e.permission.clone(),
                    })
                    .collect(),
            });
        }
    }
    Ok(Json(all))
}

/// Forwards the call after every check of core-api.md's gateway.
#[allow(clippy::too_many_arguments)]
pub async fn call(
    State(state): State<AppState>,
    Caller(principal): Caller,
    scope: TenantScope,
    correlation: Correlation,
    Path((_, plugin, service, path)): Path<(String, String, String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    check_path(&path)?;
    let installs = &state.plugins.installs;
    let tenant = scope.slug.as_str();
    let target = installs.get(tenant, &scope.db, &plugin).await?;
    check_active(target.as_ref().map(|t| t.state), &plugin)?;
    let Some(target) = target else {
        return Err(ApiError::internal("checked above"));
    };
    let endpoint = find_endpoint(&target.manifest, &service, &method, &path)?;
    let caller_plugin = match &principal.credential {
        Credential::Install { plugin_id } => Some(plugin_id.clone()),
        _ => None,
    };
    let workspace = match caller_plugin {
        Some(_) => headers
            .get(WORKSPACE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|s| (s.to_owned(), WorkspaceRole::Viewer)),
        None => caller_workspace(&scope, &principal.user_id, &headers).await?,
    };
    if let Some(permission) = &endpoint.permission {
        let allowed = match &caller_plugin {
            // A plugin may call the plugins it depends on.
            Some(caller) => installs
                .get(tenant, &scope.db, caller)
                .await?
                .is_some_and(|c| {
                    c.manifest.dependencies.required.contains_key(&plugin)
                        || c.manifest.dependencies.optional.contains_key(&plugin)
                }),
            None => {
                (scope.permissions.grants(permission) && principal.scope_allows(permission))
                    || default_role(&target.manifest, permission)
                        .zip(workspace.as_ref())
                        .is_some_and(|(needed, (_, role))| *role >= needed)
            }
        };
        if !allowed {
            return Err(ApiError::forbidden(
                "FORBIDDEN",
                format!("this requires the `{permission}` permission"),
            )
            .with_details(json!({ "required": permission })));
        }
    }
    let target = state
        .plugins
        .targets
        .get(scope.slug.as_str(), &plugin)
        .ok_or_else(|| unavailable(&plugin, "is not running"))?;
    if target.is_stale(state.config.heartbeat_interval * 3) {
        return Err(unavailable(&plugin, "missed its heartbeats"));
    }
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("a gateway call carries at most {MAX_BODY_BYTES} bytes"),
            )
        })?;
    let path_and_query = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let context = CallContext {
        tenant: scope.slug.as_str().to_owned(),
        workspace: workspace.map(|(slug, _)| slug),
        user: (caller_plugin.is_none()).then(|| principal.user_id.clone()),
        caller_plugin,
        correlation_id: correlation.0,
    };
    let route = Route {
        http: &state.plugins.http,
        breakers: &state.plugins.breakers,
        timeout: state.config.gateway_timeout,
        base_url: &target.base_url,
    };
    forward(
        route,
        method,
        &path_and_query,
        &headers,
        &context,
        body,
        &plugin,
    )
    .await
}
