//! Plugins and their versions: search, metadata, download, the index, and the owners' actions.

use std::str::FromStr;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::registry::{
    Deprecation, IndexLine, Owners, OwnersRequest, PluginDetail, PluginSummary, Review,
    ReviewRequest, Scope, SearchResults, SearchSort, VersionDetail, VersionSummary, YankRequest,
};
use plexica_sdk::manifest::{CATEGORIES, Manifest, is_valid_plugin_id};
use serde::Deserialize;

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::limits::ClientIp;
use crate::search::SearchQuery;
use crate::state::AppState;
use crate::storage::{PluginRecord, VersionRecord};
use plexica_sdk::api::time::{now_ms, rfc3339};

/// Query of the search route.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    category: Option<String>,
    #[serde(default)]
    sort: SearchSort,
    page: Option<u32>,
    per_page: Option<u32>,
}

fn summary(p: PluginRecord) -> PluginSummary {
    PluginSummary {
        deprecated: p.deprecation_message.is_some(),
        id: p.id,
        name: p.name,
        description: p.description,
        latest: p.latest,
        categories: p.categories,
        keywords: p.keywords,
        downloads: u64::try_from(p.downloads).unwrap_or(0),
        updated_at: rfc3339(p.updated_at),
    }
}

/// `GET /api/v1/plugins`: ranked, filtered, paginated search.
pub async fn search(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    if params.q.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "the query is longer than 200 characters",
        ));
    }
    if let Some(category) = &params.category
        && !CATEGORIES.contains(&category.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "unknown category `{category}`; categories: {}",
            CATEGORIES.join(", ")
        )));
    }
    let page = params.page.unwrap_or(1).max(1);
    let per_page = params.per_page.unwrap_or(20).clamp(1, 100);
    let query = SearchQuery {
        text: params.q.trim().to_lowercase(),
        category: params.category,
        sort: params.sort,
        offset: usize::try_from(page - 1).unwrap_or(0) * usize::try_from(per_page).unwrap_or(20),
        limit: usize::try_from(per_page).unwrap_or(20),
    };
    let (plugins, total) = state.search.search(&query);
    Ok(Json(SearchResults {
        plugins: plugins.into_iter().map(summary).collect(),
        total: total as u64,
        page,
        per_page,
    }))
}

fn check_id(id: &str) -> ApiResult<()> {
    if is_valid_plugin_id(id) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no plugin `{id}`")))
    }
}

async fn plugin_or_404(state: &AppState, id: &str) -> ApiResult<PluginRecord> {
    check_id(id)?;
    state
        .meta
        .plugin(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no plugin `{id}`")))
}

/// Versions sorted by SemVer, highest first.
fn sorted(mut versions: Vec<VersionRecord>) -> Vec<VersionRecord> {
    versions.sort_by(|a, b| {
        match (
            semver::Version::from_str(&a.version),
            semver::Version::from_str(&b.version),
        ) {
            (Ok(a), Ok(b)) => b.cmp_precedence(&a),
            _ => b.version.cmp(&a.version),
        }
    });
    versions
}

async fn detail_of(state: &AppState, plugin: PluginRecord) -> ApiResult<PluginDetail> {
    let versions = sorted(state.meta.versions(&plugin.id).await?);
    let owners = state.meta.owners(&plugin.id).await?;
    let reviews = state.meta.reviews(&plugin.id).await?;
    let rating = (!reviews.is_empty())
        .then(|| reviews.iter().map(|r| r.rating as f64).sum::<f64>() / reviews.len() as f64);
    Ok(PluginDetail {
        id: plugin.id,
        name: plugin.name,
        description: plugin.description,
        owners,
        versions: versions
            .into_iter()
            .map(|v| VersionSummary {
                version: v.version,
                yanked: v.yanked,
                published_at: rfc3339(v.published_at),
            })
            .collect(),
        latest: plugin.latest,
        deprecation: plugin.deprecation_message.map(|message| Deprecation {
            message,
            successor: plugin.deprecation_successor,
        }),
        rating,
        reviews: reviews.len() as u64,
        downloads: u64::try_from(plugin.downloads).unwrap_or(0),
    })
}

/// `GET /api/v1/plugins/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<PluginDetail>> {
    let plugin = plugin_or_404(&state, &id).await?;
    Ok(Json(detail_of(&state, plugin).await?))
}

fn version_view(v: VersionRecord) -> ApiResult<VersionDetail> {
    let manifest: Manifest = serde_json::from_str(&v.manifest)
        .map_err(|e| ApiError::from(crate::storage::StorageError::Corrupt(e.to_string())))?;
    Ok(VersionDetail {
        id: v.plugin_id,
        version: v.version,
        manifest,
        digest: v.digest,
        content_digest: v.content_digest,
        signature: v.signature,
        key_id: v.key_id,
        yanked: v.yanked,
        yank_reason: v.yank_reason,
        size: u64::try_from(v.size).unwrap_or(0),
        published_at: rfc3339(v.published_at),
        published_by: v.published_by,
        downloads: u64::try_from(v.downloads).unwrap_or(0),
    })
}

async fn version_or_404(state: &AppState, id: &str, version: &str) -> ApiResult<VersionRecord> {
    check_id(id)?;
    state
        .meta
        .version(id, version)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no version {id}@{version}")))
}

/// `GET /api/v1/plugins/{id}/versions/{version}`.
pub async fn version(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionDetail>> {
    Ok(Json(version_view(
        version_or_404(&state, &id, &version).await?,
    )?))
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
}

/// `GET /api/v1/plugins/{id}/versions/{version}/download`: the bytes; counts the download
/// (once per address and version within the download window).
pub async fn download(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    Path((id, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let record = version_or_404(&state, &id, &version).await?;
    let etag = format!("\"{}\"", record.digest);
    if etag_matches(&headers, &etag) {
        return Ok(not_modified(&etag));
    }
    let bytes = state.blobs.get(&record.digest).await?.ok_or_else(|| {
        ApiError::from(crate::storage::StorageError::Blob(format!(
            "blob {} is missing",
            record.digest
        )))
    })?;
    // Repeated downloads from one address within the window count once.
    if state.limits.first_download(address, &id, &record.version) {
        state.meta.count_download(&id, &record.version).await?;
    }
    metrics::counter!("registry_downloads_total").increment(1);
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    let disposition = format!("attachment; filename=\"{id}-{}.pxp\"", record.version);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn not_modified(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The index's ETag: a digest of every (version, package digest, yanked) of the plugin. A
/// version's manifest is fixed by its package digest, so this covers the whole body, and a
/// conditional request is answered from one narrow query.
fn index_etag(mut rows: Vec<(String, String, bool)>) -> String {
    rows.sort();
    let text: String = rows
        .iter()
        .map(|(version, digest, yanked)| format!("{version} {digest} {yanked}\n"))
        .collect();
    format!("\"{}\"", plexica_sdk::package::sha256_hex(text.as_bytes()))
}

/// The few manifest fields an index line needs (cheaper to read than the whole manifest).
#[derive(Debug, Default, Deserialize)]
struct IndexFields {
    #[serde(default)]
    plugin: IndexPlugin,
    #[serde(default)]
    dependencies: IndexDependencies,
}

#[derive(Debug, Default, Deserialize)]
struct IndexPlugin {
    #[serde(default)]
    plexica: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct IndexDependencies {
    #[serde(default)]
    required: std::collections::BTreeMap<String, String>,
}

/// `GET /api/v1/index/{id}`: every version as JSON lines, with an ETag; `304` on a match.
pub async fn index(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_id(&id)?;
    if headers.contains_key(header::IF_NONE_MATCH) {
        let rows = state.meta.version_digests(&id).await?;
        if rows.is_empty() {
            return Err(ApiError::not_found(format!("no plugin `{id}`")));
        }
        let etag = index_etag(rows);
        if etag_matches(&headers, &etag) {
            return Ok(not_modified(&etag));
        }
    }
    let mut versions = sorted(state.meta.versions(&id).await?);
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("no plugin `{id}`")));
    }
    versions.reverse();
    let etag = index_etag(
        versions
            .iter()
            .map(|v| (v.version.clone(), v.digest.clone(), v.yanked))
            .collect(),
    );
    let mut body = String::new();
    for v in versions {
        let fields: IndexFields = serde_json::from_str(&v.manifest)
            .map_err(|e| ApiError::from(crate::storage::StorageError::Corrupt(e.to_string())))?;
        let line = IndexLine {
            id: v.plugin_id,
            version: v.version,
            digest: v.digest,
            yanked: v.yanked,
            dependencies: fields.dependencies.required,
            plexica: fields.plugin.plexica,
        };
        if let Ok(json) = serde_json::to_string(&line) {
            body.push_str(&json);
            body.push('\n');
        }
    }
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=0, must-revalidate"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

/// Fails unless the caller (with a `manage` token) owns the plugin, or is an admin.
async fn require_owner(state: &AppState, caller: &Caller, id: &str) -> ApiResult<PluginRecord> {
    caller.require(Scope::Manage)?;
    let plugin = plugin_or_404(state, id).await?;
    let owners = state.meta.owner_ids(id).await?;
    if owners.contains(&caller.user.id)
        || (caller.user.admin && caller.token.scopes.contains(&Scope::Admin))
    {
        Ok(plugin)
    } else {
        Err(ApiError::forbidden(
            "NOT_OWNER",
            format!("you do not own plugin `{id}`"),
        ))
    }
}

/// `DELETE /api/v1/plugins/{id}/versions/{version}/yank`: withdraws a version, with a reason.
pub async fn yank(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
    JsonBody(request): JsonBody<YankRequest>,
) -> ApiResult<Json<VersionDetail>> {
    require_owner(&state, &caller, &id).await?;
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ApiError::unprocessable(
            "REASON_REQUIRED",
            "a yank needs a reason of 1 to 1000 characters",
        ));
    }
    if !state.meta.set_yanked(&id, &version, Some(reason)).await? {
        return Err(ApiError::not_found(format!("no version {id}@{version}")));
    }
    state.search.refresh_one(state.meta.as_ref(), &id).await?;
    Ok(Json(version_view(
        version_or_404(&state, &id, &version).await?,
    )?))
}

/// `PUT /api/v1/plugins/{id}/versions/{version}/unyank`.
pub async fn unyank(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionDetail>> {
    require_owner(&state, &caller, &id).await?;
    if !state.meta.set_yanked(&id, &version, None).await? {
        return Err(ApiError::not_found(format!("no version {id}@{version}")));
    }
    state.search.refresh_one(state.meta.as_ref(), &id).await?;
    Ok(Json(version_view(
        version_or_404(&state, &id, &version).await?,
    )?))
}

/// `PUT /api/v1/plugins/{id}/deprecation`.
pub async fn deprecate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<Deprecation>,
) -> ApiResult<Json<PluginDetail>> {
    require_owner(&state, &caller, &id).await?;
    let message = request.message.trim();
    if message.is_empty() || message.chars().count() > 1000 {
        return Err(ApiError::unprocessable(
            "MESSAGE_REQUIRED",
            "a deprecation needs a message of 1 to 1000 characters",
        ));
    }
    if let Some(successor) = &request.successor {
        if successor == &id {
            return Err(ApiError::unprocessable(
                "INVALID_SUCCESSOR",
                "a plugin cannot succeed itself",
            ));
        }
        plugin_or_404(&state, successor).await?;
    }
    state
        .meta
        .set_deprecation(&id, Some(message), request.successor.as_deref())
        .await?;
    state.search.refresh_one(state.meta.as_ref(), &id).await?;
    let plugin = plugin_or_404(&state, &id).await?;
    Ok(Json(detail_of(&state, plugin).await?))
}

/// `DELETE /api/v1/plugins/{id}/deprecation`.
pub async fn undeprecate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PluginDetail>> {
    require_owner(&state, &caller, &id).await?;
    state.meta.set_deprecation(&id, None, None).await?;
    state.search.refresh_one(state.meta.as_ref(), &id).await?;
    let plugin = plugin_or_404(&state, &id).await?;
    Ok(Json(detail_of(&state, plugin).await?))
}

/// The owners of `id`, as every owners route answers them.
async fn owners_of(state: &AppState, id: &str) -> ApiResult<Json<Owners>> {
    Ok(Json(Owners {
        users: state.meta.owners(id).await?,
    }))
}

/// `GET /api/v1/plugins/{id}/owners`.
pub async fn owners(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Owners>> {
    plugin_or_404(&state, &id).await?;
    owners_of(&state, &id).await
}

/// `PUT /api/v1/plugins/{id}/owners`: adds co-owners.
pub async fn add_owners(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<OwnersRequest>,
) -> ApiResult<Json<Owners>> {
    require_owner(&state, &caller, &id).await?;
    let unknown = state.meta.add_owners(&id, &request.users).await?;
    if !unknown.is_empty() {
        return Err(ApiError::not_found(format!(
            "no such user(s): {}",
            unknown.join(", ")
        )));
    }
    owners_of(&state, &id).await
}

/// `DELETE /api/v1/plugins/{id}/owners`: removes co-owners, never the last one.
pub async fn remove_owners(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<OwnersRequest>,
) -> ApiResult<Json<Owners>> {
    require_owner(&state, &caller, &id).await?;
    if !state.meta.remove_owners(&id, &request.users).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "LAST_OWNER",
            "a plugin keeps at least one owner",
        ));
    }
    owners_of(&state, &id).await
}

fn review_view(r: crate::storage::ReviewRecord) -> Review {
    Review {
        username: r.username,
        rating: u8::try_from(r.rating).unwrap_or(0),
        text: r.text,
        updated_at: rfc3339(r.updated_at),
    }
}

/// `GET /api/v1/plugins/{id}/reviews`.
pub async fn reviews(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Review>>> {
    plugin_or_404(&state, &id).await?;
    Ok(Json(
        state
            .meta
            .reviews(&id)
            .await?
            .into_iter()
            .map(review_view)
            .collect(),
    ))
}

/// `POST /api/v1/plugins/{id}/reviews`: one review per user per plugin; posting again edits it.
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<ReviewRequest>,
) -> ApiResult<Json<Review>> {
    caller.require(Scope::Manage)?;
    plugin_or_404(&state, &id).await?;
    if !(1..=5).contains(&request.rating) {
        return Err(ApiError::unprocessable(
            "INVALID_RATING",
            "ratings are 1 to 5",
        ));
    }
    if request.text.chars().count() > 5000 {
        return Err(ApiError::unprocessable(
            "REVIEW_TOO_LONG",
            "reviews are at most 5,000 characters",
        ));
    }
    state
        .meta
        .put_review(
            &id,
            caller.user.id,
            i64::from(request.rating),
            &request.text,
            now_ms(),
        )
        .await?;
    state
        .meta
        .reviews(&id)
        .await?
        .into_iter()
        .find(|r| r.username == caller.user.username)
        .map(|r| Json(review_view(r)))
        .ok_or_else(|| ApiError::not_found("the review vanished"))
}
