//! `ANY /api/v1/tenants/{t}/gateway/{plugin}/{service}/{*path}`: a call to an endpoint another
//! plugin declares, checked and forwarded by [`crate::gateway`].

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use plexica_sdk::api::core::{
    PluginState, ServiceEndpoint, ServiceInfo, ServiceStatus, WorkspaceRole,
};
use plexica_sdk::api::signing::WORKSPACE_HEADER;
use serde_json::json;

use super::correlation::Correlation;
use super::guard::Caller;
use super::workspace_not_found;
use crate::auth::Credential;
use crate::authz::TenantScope;
use crate::error::{ApiError, ApiResult};
use crate::gateway::{
    Call, CallContext, GatewayPath, MAX_BODY_BYTES, Route, check_active, check_caller,
    find_endpoint, find_service, forward, unavailable,
};
use crate::state::AppState;

/// The workspace the request names (`X-Plexica-Workspace`), if any; a value that is not text
/// names no workspace there is (404).
fn named_workspace(headers: &HeaderMap) -> ApiResult<Option<&str>> {
    match headers.get(WORKSPACE_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| workspace_not_found("(not text)")),
    }
}

/// The workspace a user caller names and its role there; a workspace it cannot see is a 404.
async fn user_workspace(
    scope: &TenantScope,
    user_id: &str,
    headers: &HeaderMap,
) -> ApiResult<Option<(String, WorkspaceRole)>> {
    let Some(slug) = named_workspace(headers)? else {
        return Ok(None);
    };
    let found = scope
        .workspace_of(slug, user_id)
        .await?
        .ok_or_else(|| workspace_not_found(slug))?;
    Ok(Some((found.workspace.slug, found.role)))
}

/// The workspace a plugin caller names: it must be one of the tenant's (404 otherwise).
async fn plugin_workspace(scope: &TenantScope, headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(slug) = named_workspace(headers)? else {
        return Ok(None);
    };
    match scope.db.workspace_id(slug).await? {
        Some(_) => Ok(Some(slug.to_owned())),
        None => Err(workspace_not_found(slug)),
    }
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

/// Forwards the call after every check of core-api.md's gateway, in order: the path, the
/// target installed and active, the service, the caller's grant (a plugin) or the endpoint's
/// permission (a user), the target running and fresh.
#[allow(clippy::too_many_arguments)]
pub async fn call(
    State(state): State<AppState>,
    Caller(principal): Caller,
    scope: TenantScope,
    correlation: Correlation,
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let path = GatewayPath::parse(uri.path(), gateway_depth())?;
    let plugin = path.plugin.as_str();
    if let Credential::PluginUi { plugin_id, .. } = &principal.credential
        && plugin_id != plugin
    {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            format!("this token opens the endpoints of `{plugin_id}` only"),
        ));
    }
    let installs = &state.plugins.installs;
    let tenant = scope.slug.as_str();
    let target = installs.get(tenant, &scope.db, plugin).await?;
    check_active(target.as_ref().map(|t| t.state), plugin)?;
    let Some(target) = target else {
        return Err(ApiError::internal("checked above"));
    };
    let service = find_service(&target.manifest, &path.service)?;
    let caller_plugin = match &principal.credential {
        Credential::Install { plugin_id } => Some(plugin_id.clone()),
        _ => None,
    };
    if let Some(caller) = &caller_plugin {
        check_caller(service, plugin, caller)?;
    }
    let endpoint = find_endpoint(service, &method, &path.path)?;
    let workspace = match &caller_plugin {
        // Granted by the target: the grant stands for the endpoint's permission.
        Some(_) => plugin_workspace(&scope, &headers).await?,
        None => {
            let workspace = user_workspace(&scope, &principal.user_id, &headers).await?;
            if let Some(permission) = &endpoint.permission {
                let role = workspace.as_ref().map(|(_, role)| *role);
                if !scope.holds_plugin_permission(&target.manifest, permission, role) {
                    return Err(ApiError::forbidden(
                        "FORBIDDEN",
                        format!("this requires the `{permission}` permission"),
                    )
                    .with_details(json!({ "required": permission })));
                }
            }
            workspace.map(|(slug, _)| slug)
        }
    };
    let running = state
        .plugins
        .targets
        .get(tenant, plugin)
        .ok_or_else(|| unavailable(plugin, "is not running"))?;
    if running.is_stale(state.config.heartbeat_interval * 3) {
        return Err(unavailable(plugin, "missed its heartbeats"));
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
    let context = CallContext {
        tenant: tenant.to_owned(),
        workspace,
        user: (caller_plugin.is_none()).then(|| principal.user_id.clone()),
        caller_plugin,
        correlation_id: correlation.0,
    };
    let route = Route {
        client: &state.plugins.http,
        breakers: &state.plugins.breakers,
        timeout: state.config.gateway_timeout,
        target: &running,
    };
    let call = Call {
        method: &method,
        path: &path,
        query: uri.query(),
        headers: &headers,
        context: &context,
    };
    let answer = forward(route, call, body).await?;
    let mut response = Response::new(Body::from_stream(answer.body.bytes_stream()));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    Ok(response)
}

/// Segments of the gateway's route before the endpoint path (`api`, `v1`, `tenants`, `{t}`,
/// `gateway`, `{plugin}`, `{service}`).
fn gateway_depth() -> usize {
    super::GATEWAY.trim_start_matches('/').split('/').count() - 1
}
