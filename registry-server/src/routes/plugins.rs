//! Plugins and their versions: search, metadata, download, the index, documents and images,
//! and the owners' actions (their rules are in [`crate::catalog`]).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::registry::{
    Deprecation, IndexLine, Owners, OwnersRequest, PluginDetail, Review, ReviewRequest,
    SearchResults, VersionDetail, YankRequest,
};
use serde::Deserialize;

use super::JsonBody;
use crate::auth::Caller;
use crate::catalog::{self, SearchParams, check_id, plugin_or_404, sorted, version_or_404};
use crate::documents;
use crate::error::{ApiError, ApiResult};
use crate::limits::ClientIp;
use crate::state::AppState;
use crate::storage::DocumentKind;
use plexica_sdk::api::time::rfc3339;

/// `GET /api/v1/plugins`: ranked, filtered, paginated search.
pub async fn search(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    let (query, page, per_page) = params.query()?;
    let (plugins, total) = state.search.search(&query);
    Ok(Json(SearchResults {
        plugins: plugins.into_iter().map(catalog::summary).collect(),
        total: total as u64,
        page,
        per_page,
    }))
}

/// `GET /api/v1/plugins/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<PluginDetail>> {
    let plugin = plugin_or_404(&state, &id).await?;
    Ok(Json(catalog::detail_of(&state, plugin).await?))
}

/// `GET /api/v1/plugins/{id}/versions/{version}`.
pub async fn version(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionDetail>> {
    let record = version_or_404(&state, &id, &version).await?;
    Ok(Json(catalog::version_detail(record)?))
}

/// Query of the document routes: `format=html` (sanitized) or `markdown` (the source).
#[derive(Debug, Default, Deserialize)]
pub struct DocumentParams {
    format: Option<String>,
}

/// `GET /api/v1/plugins/{id}/versions/{version}/readme` and `…/changelog`: the package's
/// Markdown source, or with `format=html` (or `Accept: text/html`) sanitized HTML.
pub async fn document(
    State(state): State<AppState>,
    Path((id, version, kind)): Path<(String, String, String)>,
    Query(params): Query<DocumentParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let kind = DocumentKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| ApiError::not_found(format!("no document `{kind}`")))?;
    let record = version_or_404(&state, &id, &version).await?;
    let source = state
        .meta
        .document(&id, &record.version, kind)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "{id}@{} has no {}",
                record.version,
                kind.file_name()
            ))
        })?;
    let wants_html = match params.format.as_deref() {
        Some("html") => true,
        Some("markdown") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown format `{other}`; formats: html, markdown"
            )));
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html")),
    };
    let (body, content_type) = if wants_html {
        let images = state.meta.image_paths(&id, &record.version).await?;
        let base = format!("/api/v1/plugins/{id}/versions/{}/images", record.version);
        (
            documents::render(&source, &base, &images),
            "text/html; charset=utf-8",
        )
    } else {
        (source, "text/markdown; charset=utf-8")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src 'self' https:; sandbox",
            ),
            (header::VARY, "accept"),
        ],
        body,
    )
        .into_response())
}

/// `GET /api/v1/plugins/{id}/versions/{version}/images/{*path}`: an image of the package,
/// immutable like the version.
pub async fn image(
    State(state): State<AppState>,
    Path((id, version, path)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let record = version_or_404(&state, &id, &version).await?;
    let image = state
        .meta
        .image(&id, &record.version, &path)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{id}@{version} has no image `{path}`")))?;
    Ok((
        [
            (header::CONTENT_TYPE, image.media_type.as_str()),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ),
        ],
        image.bytes,
    )
        .into_response())
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
    metrics::counter!(crate::metrics::DOWNLOADS).increment(1);
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

/// `DELETE /api/v1/plugins/{id}/versions/{version}/yank`: withdraws a version, with a reason.
pub async fn yank(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
    JsonBody(request): JsonBody<YankRequest>,
) -> ApiResult<Json<VersionDetail>> {
    catalog::yank(&state, &caller, &id, &version, &request.reason).await?;
    let record = version_or_404(&state, &id, &version).await?;
    Ok(Json(catalog::version_detail(record)?))
}

/// `PUT /api/v1/plugins/{id}/versions/{version}/unyank`.
pub async fn unyank(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionDetail>> {
    catalog::unyank(&state, &caller, &id, &version).await?;
    let record = version_or_404(&state, &id, &version).await?;
    Ok(Json(catalog::version_detail(record)?))
}

/// `PUT /api/v1/plugins/{id}/deprecation`.
pub async fn deprecate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<Deprecation>,
) -> ApiResult<Json<PluginDetail>> {
    catalog::deprecate(
        &state,
        &caller,
        &id,
        &request.message,
        request.successor.as_deref(),
    )
    .await?;
    let plugin = plugin_or_404(&state, &id).await?;
    Ok(Json(catalog::detail_of(&state, plugin).await?))
}

/// `DELETE /api/v1/plugins/{id}/deprecation`.
pub async fn undeprecate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PluginDetail>> {
    catalog::undeprecate(&state, &caller, &id).await?;
    let plugin = plugin_or_404(&state, &id).await?;
    Ok(Json(catalog::detail_of(&state, plugin).await?))
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
    catalog::add_owners(&state, &caller, &id, &request.users).await?;
    owners_of(&state, &id).await
}

/// `DELETE /api/v1/plugins/{id}/owners`: removes co-owners, never the last one.
pub async fn remove_owners(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<OwnersRequest>,
) -> ApiResult<Json<Owners>> {
    catalog::remove_owners(&state, &caller, &id, &request.users).await?;
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
    catalog::put_review(&state, &caller, &id, request.rating, &request.text).await?;
    state
        .meta
        .reviews(&id)
        .await?
        .into_iter()
        .find(|r| r.username == caller.user.username)
        .map(|r| Json(review_view(r)))
        .ok_or_else(|| ApiError::not_found("the review vanished"))
}
