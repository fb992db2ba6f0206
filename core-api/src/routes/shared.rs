//! `/api/v1/tenants/{t}/shared/{namespace}/{key}`: the tenant's shared data, for plugins
//! (install token). A plugin writes only the namespaces its manifest declares in `[[shared]]`
//! (`<id>` or `<id>.<name>`; the first writer owns it); another plugin reads a namespace only
//! when the owner's manifest lists it under that namespace's `read`. Values are JSON of at most
//! 256 KiB, optionally expiring; an expired value is never returned.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plexica_sdk::api::core::{PutSharedValue, SharedValue};
use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_sdk::manifest::is_own_namespace;

use super::JsonBody;
use super::guard::Caller;
use crate::authz::TenantScope;
use crate::db::shared::SharedRecord;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The largest value, bytes of JSON.
pub const MAX_VALUE_BYTES: usize = 256 * 1024;

/// The longest time to live, seconds (a year).
pub const MAX_TTL_SECONDS: u64 = 365 * 24 * 3600;

fn check_names(namespace: &str, key: &str) -> ApiResult<()> {
    let namespace_ok = (1..=128).contains(&namespace.len())
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !namespace_ok {
        return Err(ApiError::invalid(
            "namespace",
            "a namespace is 1–128 of `a-z 0-9 . _ -`",
        ));
    }
    let key_ok = (1..=200).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if !key_ok {
        return Err(ApiError::invalid(
            "key",
            "a key is 1–200 of `A-Z a-z 0-9 . _ : -`",
        ));
    }
    Ok(())
}

fn not_found(namespace: &str, key: &str) -> ApiError {
    ApiError::not_found(
        "SHARED_VALUE_NOT_FOUND",
        format!("no value `{key}` in shared namespace `{namespace}`"),
    )
}

fn dto(r: SharedRecord) -> SharedValue {
    SharedValue {
        namespace: r.namespace,
        key: r.key,
        value: r.value,
        expires_at: r.expires_at.map(rfc3339),
        updated_at: rfc3339(r.updated_at),
    }
}

/// May `plugin` read `namespace` (owned by `owner`)? The owner may; others when the owner's
/// installed manifest lists them.
async fn may_read(
    state: &AppState,
    scope: &TenantScope,
    plugin: &str,
    owner: &str,
    namespace: &str,
) -> ApiResult<bool> {
    if plugin == owner {
        return Ok(true);
    }
    let installs = &state.plugins.installs;
    let owner_install = installs.get(scope.slug.as_str(), &scope.db, owner).await?;
    let granted = owner_install.is_some_and(|o| {
        o.manifest
            .shared
            .iter()
            .any(|s| s.namespace == namespace && s.read.iter().any(|r| r == plugin))
    });
    Ok(granted)
}

/// `GET …/shared/{namespace}/{key}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    scope: TenantScope,
    Path((_, namespace, key)): Path<(String, String, String)>,
) -> ApiResult<Json<SharedValue>> {
    let plugin = caller.plugin_id()?;
    check_names(&namespace, &key)?;
    let owner = scope
        .db
        .shared_owner(&namespace)
        .await?
        .ok_or_else(|| not_found(&namespace, &key))?;
    if !may_read(&state, &scope, plugin, &owner, &namespace).await? {
        return Err(ApiError::forbidden(
            "SHARED_FORBIDDEN",
            format!(
                "`{owner}` does not let `{plugin}` read `{namespace}` (its manifest's `[[shared]] read`)"
            ),
        ));
    }
    let record = scope
        .db
        .shared_value(&namespace, &key, now_ms())
        .await?
        .ok_or_else(|| not_found(&namespace, &key))?;
    Ok(Json(dto(record)))
}

/// `PUT …/shared/{namespace}/{key}` `{value, ttl_seconds?}`.
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    scope: TenantScope,
    Path((_, namespace, key)): Path<(String, String, String)>,
    JsonBody(request): JsonBody<PutSharedValue>,
) -> ApiResult<Json<SharedValue>> {
    let plugin = caller.plugin_id()?;
    check_names(&namespace, &key)?;
    if request.value.to_string().len() > MAX_VALUE_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "SHARED_VALUE_TOO_LARGE",
            format!("a shared value is at most {MAX_VALUE_BYTES} bytes of JSON"),
        ));
    }
    if let Some(ttl) = request.ttl_seconds
        && !(1..=MAX_TTL_SECONDS).contains(&ttl)
    {
        return Err(ApiError::invalid(
            "ttl_seconds",
            format!("`ttl_seconds` is 1..={MAX_TTL_SECONDS}"),
        ));
    }
    let installs = &state.plugins.installs;
    let own = installs.get(scope.slug.as_str(), &scope.db, plugin).await?;
    let declared = own.is_some_and(|p| {
        is_own_namespace(plugin, &namespace)
            && p.manifest.shared.iter().any(|s| s.namespace == namespace)
    });
    if !declared {
        return Err(ApiError::forbidden(
            "SHARED_NAMESPACE_NOT_DECLARED",
            format!(
                "`{plugin}` writes only the namespaces its manifest declares in `[[shared]]`, not `{namespace}`"
            ),
        ));
    }
    let now = now_ms();
    let record = SharedRecord {
        namespace,
        key,
        value: request.value,
        expires_at: request
            .ttl_seconds
            .map(|ttl| now + i64::try_from(ttl).unwrap_or(i64::MAX / 2) * 1000),
        updated_at: now,
    };
    if !scope.db.put_shared_value(plugin, &record).await? {
        return Err(ApiError::forbidden(
            "SHARED_FORBIDDEN",
            format!(
                "shared namespace `{}` belongs to another plugin",
                record.namespace
            ),
        ));
    }
    Ok(Json(dto(record)))
}

/// `DELETE …/shared/{namespace}/{key}` (the owner only).
pub async fn delete(
    caller: Caller,
    scope: TenantScope,
    Path((_, namespace, key)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let plugin = caller.plugin_id()?;
    check_names(&namespace, &key)?;
    match scope.db.shared_owner(&namespace).await? {
        Some(owner) if owner == plugin => {}
        Some(_) => {
            return Err(ApiError::forbidden(
                "SHARED_FORBIDDEN",
                format!("shared namespace `{namespace}` belongs to another plugin"),
            ));
        }
        None => return Err(not_found(&namespace, &key)),
    }
    match scope
        .db
        .delete_shared_value(&namespace, &key, now_ms())
        .await?
    {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(not_found(&namespace, &key)),
    }
}
