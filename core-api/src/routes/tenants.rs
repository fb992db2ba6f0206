//! `/api/v1/tenants` (super admin): provisioning, listing, details, state changes, deletion.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::core::{
    CreateTenantRequest, Page, Tenant, TenantStatus, TenantUsage, UpdateTenantRequest,
};
use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_sdk::event_name::CoreEvent;
use serde::Deserialize;
use serde_json::json;

use super::correlation::Correlation;
use super::guard::Caller;
use super::{JsonBody, Paging, QueryParams, check_settings};
use crate::auth::oidc::OidcConfig;
use crate::db::core::{TenantFilter, TenantRecord};
use crate::error::{ApiError, ApiResult};
use crate::events::Cause;
use crate::provision::{NewTenant, Provisioned};
use crate::slug::{TenantSlug, check_email, check_name};
use crate::state::AppState;

/// The wire form of a tenant row.
pub fn tenant_dto(t: &TenantRecord) -> Tenant {
    Tenant {
        id: t.id.clone(),
        slug: t.slug.clone(),
        name: t.name.clone(),
        status: t.status,
        settings: t.settings.clone(),
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
        usage: None,
        initial_admin: None,
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("TENANT_NOT_FOUND", "no such tenant")
}

fn location(slug: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("/api/v1/tenants/{slug}"))
        .unwrap_or_else(|_| HeaderValue::from_static("/api/v1/tenants"))
}

/// Checks tenant settings: a JSON object, with a valid `oidc` provider if it has one.
fn check_tenant_settings(settings: Option<serde_json::Value>) -> ApiResult<serde_json::Value> {
    let settings = check_settings(settings)?;
    OidcConfig::from_settings(&settings).map_err(|m| ApiError::invalid("settings.oidc", m))?;
    Ok(settings)
}

/// Checks a `POST /tenants` body before anything is stored or executed.
fn check_new_tenant(request: CreateTenantRequest) -> ApiResult<NewTenant> {
    let slug = TenantSlug::parse(&request.slug).map_err(|m| ApiError::invalid("slug", m))?;
    check_name("name", &request.name).map_err(|m| ApiError::invalid("name", m))?;
    let admin_email = match request.admin_email {
        Some(email) => {
            check_email(&email).map_err(|m| ApiError::invalid("admin_email", m))?;
            email.trim().to_lowercase()
        }
        None => format!("admin@{slug}.local"),
    };
    Ok(NewTenant {
        slug,
        name: request.name,
        admin_email,
        settings: check_tenant_settings(request.settings)?,
    })
}

/// `POST /api/v1/tenants`: 201 with the tenant and its first admin's credentials; 200 when the
/// same request was already served; 202 + `Location` while it is still being served.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    correlation: Correlation,
    JsonBody(request): JsonBody<CreateTenantRequest>,
) -> ApiResult<Response> {
    let request = check_new_tenant(request)?;
    let started = std::time::Instant::now();
    let outcome = state
        .provisioner
        .provision(&request, &correlation.cause(&caller))
        .await?;
    metrics::histogram!(crate::metrics::TENANT_PROVISIONING_SECONDS)
        .record(started.elapsed().as_secs_f64());
    Ok(match outcome {
        Provisioned::Created(tenant, admin) => {
            tracing::info!(tenant = %tenant.slug, "tenant provisioned");
            let mut dto = tenant_dto(&tenant);
            dto.initial_admin = Some(admin);
            let mut response = (StatusCode::CREATED, Json(dto)).into_response();
            response
                .headers_mut()
                .insert(header::LOCATION, location(&tenant.slug));
            response
        }
        Provisioned::Existing(tenant) => {
            (StatusCode::OK, Json(tenant_dto(&tenant))).into_response()
        }
        Provisioned::InProgress(tenant) => {
            let mut response = (StatusCode::ACCEPTED, Json(tenant_dto(&tenant))).into_response();
            response
                .headers_mut()
                .insert(header::LOCATION, location(&tenant.slug));
            response
        }
    })
}

/// Query of `GET /tenants`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    search: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /api/v1/tenants`.
pub async fn list(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<Tenant>>> {
    let (page, per_page) = Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(TenantStatus::parse(&s.to_uppercase()).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "status is one of PROVISIONING, ACTIVE, SUSPENDED, PENDING_DELETION",
            )
        })?),
    };
    if query.search.as_ref().is_some_and(|s| s.len() > 200) {
        return Err(ApiError::invalid(
            "search",
            "`search` has at most 200 characters",
        ));
    }
    let (rows, total) = state
        .core
        .list_tenants(&TenantFilter {
            status,
            search: query.search.filter(|s| !s.is_empty()),
            page,
            per_page,
        })
        .await?;
    Ok(Json(Page {
        data: rows.iter().map(tenant_dto).collect(),
        total,
        page,
        per_page,
    }))
}

async fn load(state: &AppState, raw: &str) -> ApiResult<(TenantSlug, TenantRecord)> {
    let slug = TenantSlug::parse(raw).map_err(|_| not_found())?;
    let tenant = state
        .core
        .tenant(slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    Ok((slug, tenant))
}

/// `GET /api/v1/tenants/{t}`: with usage counts.
pub async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Json<Tenant>> {
    let (slug, tenant) = load(&state, &raw).await?;
    let mut dto = tenant_dto(&tenant);
    if tenant.status != TenantStatus::Provisioning {
        let (users, workspaces) = state.tenant_dbs.get(&slug).await?.usage().await?;
        dto.usage = Some(TenantUsage { users, workspaces });
    }
    Ok(Json(dto))
}

/// `PATCH /api/v1/tenants/{t}`.
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    correlation: Correlation,
    Path(raw): Path<String>,
    JsonBody(request): JsonBody<UpdateTenantRequest>,
) -> ApiResult<Json<Tenant>> {
    let (_, mut tenant) = load(&state, &raw).await?;
    if let Some(name) = request.name {
        check_name("name", &name).map_err(|m| ApiError::invalid("name", m))?;
        tenant.name = name;
    }
    if request.settings.is_some() {
        tenant.settings = check_tenant_settings(request.settings)?;
    }
    tenant.updated_at = now_ms();
    let event = correlation.cause(&caller).event(
        CoreEvent::TenantUpdated,
        &tenant.slug,
        json!({ "tenant_id": tenant.id, "slug": tenant.slug, "name": tenant.name, "settings": tenant.settings }),
    );
    state.core.update_tenant(&tenant, &event).await?;
    state.forget_tenant(&tenant.slug);
    Ok(Json(tenant_dto(&tenant)))
}

async fn transition(
    state: &AppState,
    cause: &Cause,
    raw: &str,
    from: &[TenantStatus],
    to: TenantStatus,
) -> ApiResult<Json<Tenant>> {
    let (_, mut tenant) = load(state, raw).await?;
    if tenant.status == to {
        return Ok(Json(tenant_dto(&tenant)));
    }
    if !from.contains(&tenant.status) {
        return Err(ApiError::conflict(
            "INVALID_TENANT_STATE",
            format!(
                "a {} tenant cannot become {}",
                tenant.status.as_str(),
                to.as_str()
            ),
        ));
    }
    tenant.status = to;
    tenant.updated_at = now_ms();
    let (event_type, data) = match to {
        TenantStatus::Suspended => (CoreEvent::TenantSuspended, json!({ "slug": tenant.slug })),
        TenantStatus::PendingDeletion => (
            CoreEvent::TenantDeleted,
            json!({ "slug": tenant.slug, "hard": false }),
        ),
        _ => (CoreEvent::TenantActivated, json!({ "slug": tenant.slug })),
    };
    let event = cause.event(event_type, &tenant.slug, data);
    state
        .core
        .set_tenant_status(&tenant.slug, to, tenant.updated_at, Some(&event))
        .await?;
    state.forget_tenant(&tenant.slug);
    tracing::info!(tenant = %tenant.slug, status = to.as_str(), "tenant state changed");
    Ok(Json(tenant_dto(&tenant)))
}

/// `POST /api/v1/tenants/{t}/suspend`.
pub async fn suspend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    correlation: Correlation,
    Path(raw): Path<String>,
) -> ApiResult<Json<Tenant>> {
    transition(
        &state,
        &correlation.cause(&caller),
        &raw,
        &[TenantStatus::Active],
        TenantStatus::Suspended,
    )
    .await
}

/// `POST /api/v1/tenants/{t}/activate`: from `SUSPENDED` or `PENDING_DELETION`.
pub async fn activate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    correlation: Correlation,
    Path(raw): Path<String>,
) -> ApiResult<Json<Tenant>> {
    transition(
        &state,
        &correlation.cause(&caller),
        &raw,
        &[TenantStatus::Suspended, TenantStatus::PendingDeletion],
        TenantStatus::Active,
    )
    .await
}

/// Query of `DELETE /tenants/{t}`.
#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    #[serde(default)]
    hard: bool,
}

/// `DELETE /api/v1/tenants/{t}`: soft (`PENDING_DELETION`) or, with `?hard=true`, drops the
/// data space and the row.
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    correlation: Correlation,
    Path(raw): Path<String>,
    QueryParams(query): QueryParams<DeleteQuery>,
) -> ApiResult<Response> {
    let cause = correlation.cause(&caller);
    if !query.hard {
        return transition(
            &state,
            &cause,
            &raw,
            &[TenantStatus::Active, TenantStatus::Suspended],
            TenantStatus::PendingDeletion,
        )
        .await
        .map(IntoResponse::into_response);
    }
    let (slug, tenant) = load(&state, &raw).await?;
    if tenant.status == TenantStatus::Provisioning {
        return Err(ApiError::conflict(
            "TENANT_PROVISIONING",
            "this tenant is being provisioned",
        ));
    }
    let event = cause.event(
        CoreEvent::TenantDeleted,
        slug.as_str(),
        json!({ "slug": slug.as_str(), "hard": true }),
    );
    state.provisioner.hard_delete(&slug, Some(&event)).await?;
    tracing::info!(tenant = %slug, "tenant deleted with its data");
    Ok(StatusCode::NO_CONTENT.into_response())
}
