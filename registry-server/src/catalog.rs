//! The catalogue's reads and the owners' and reviewers' writes, each with its checks: what
//! the API routes (`routes::plugins`) and the web pages (`web`) both do, so that a rule holds
//! the same whichever door a request came in by.

use std::str::FromStr;

use axum::http::StatusCode;
use plexica_sdk::api::registry::{
    Deprecation, PluginDetail, PluginSummary, Scope, SearchSort, VersionDetail, VersionSummary,
};
use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_sdk::manifest::{CATEGORIES, Manifest, is_valid_plugin_id};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::search::SearchQuery;
use crate::state::AppState;
use crate::storage::{PluginRecord, StorageError, VersionRecord};

/// Longest search query, characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// The parameters of a search, as the API and the search page take them.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    /// Free text.
    #[serde(default)]
    pub q: String,
    /// A category of [`CATEGORIES`].
    pub category: Option<String>,
    /// An exact keyword.
    pub keyword: Option<String>,
    /// Order.
    #[serde(default)]
    pub sort: SearchSort,
    /// 1-based page.
    pub page: Option<u32>,
    /// Hits per page, 1 to 100 (20 by default).
    pub per_page: Option<u32>,
}

impl SearchParams {
    /// The validated query, with its page and page size.
    pub fn query(&self) -> ApiResult<(SearchQuery, u32, u32)> {
        if self.q.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::bad_request(format!(
                "the query is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        if let Some(category) = &self.category
            && !CATEGORIES.contains(&category.as_str())
        {
            return Err(ApiError::bad_request(format!(
                "unknown category `{category}`; categories: {}",
                CATEGORIES.join(", ")
            )));
        }
        let page = self.page.unwrap_or(1).max(1);
        let per_page = self.per_page.unwrap_or(20).clamp(1, 100);
        let limit = usize::try_from(per_page).unwrap_or(20);
        let query = SearchQuery {
            text: self.q.trim().to_lowercase(),
            category: self.category.clone(),
            keyword: self
                .keyword
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_lowercase),
            sort: self.sort,
            offset: usize::try_from(page - 1).unwrap_or(0).saturating_mul(limit),
            limit,
        };
        Ok((query, page, per_page))
    }
}

/// A plugin row as a search hit.
pub fn summary(p: PluginRecord) -> PluginSummary {
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

/// 404 for a string that cannot be a plugin id.
pub fn check_id(id: &str) -> ApiResult<()> {
    if is_valid_plugin_id(id) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no plugin `{id}`")))
    }
}

/// The plugin `id`, or 404.
pub async fn plugin_or_404(state: &AppState, id: &str) -> ApiResult<PluginRecord> {
    check_id(id)?;
    state
        .meta
        .plugin(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no plugin `{id}`")))
}

/// Version `version` (exact or by precedence) of plugin `id`, or 404.
pub async fn version_or_404(state: &AppState, id: &str, version: &str) -> ApiResult<VersionRecord> {
    check_id(id)?;
    state
        .meta
        .version(id, version)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no version {id}@{version}")))
}

/// Versions sorted by SemVer, highest first.
pub fn sorted(mut versions: Vec<VersionRecord>) -> Vec<VersionRecord> {
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

/// The average of the ratings, if any.
pub fn average_rating(ratings: impl ExactSizeIterator<Item = i64>) -> Option<f64> {
    let count = ratings.len();
    (count > 0).then(|| ratings.map(|r| r as f64).sum::<f64>() / count as f64)
}

/// Everything `GET /api/v1/plugins/{id}` answers.
pub async fn detail_of(state: &AppState, plugin: PluginRecord) -> ApiResult<PluginDetail> {
    let versions = sorted(state.meta.versions(&plugin.id).await?);
    let owners = state.meta.owners(&plugin.id).await?;
    let reviews = state.meta.reviews(&plugin.id).await?;
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
        rating: average_rating(reviews.iter().map(|r| r.rating)),
        reviews: reviews.len() as u64,
        downloads: u64::try_from(plugin.downloads).unwrap_or(0),
    })
}

/// The manifest a version was published with.
pub fn manifest_of(v: &VersionRecord) -> ApiResult<Manifest> {
    serde_json::from_str(&v.manifest)
        .map_err(|e| ApiError::from(StorageError::Corrupt(e.to_string())))
}

/// Everything `GET /api/v1/plugins/{id}/versions/{version}` answers.
pub fn version_detail(v: VersionRecord) -> ApiResult<VersionDetail> {
    let manifest = manifest_of(&v)?;
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
        readme: v.readme,
        changelog: v.changelog,
    })
}

/// Is the caller one of `owners` (user ids), or an administrator acting with an `admin` token?
pub fn is_among_owners(caller: &Caller, owners: &[i64]) -> bool {
    owners.contains(&caller.user.id)
        || (caller.user.admin && caller.token.scopes.contains(&Scope::Admin))
}

/// Fails unless the caller (with a `manage` token) owns the plugin, or is an admin.
pub async fn require_owner(state: &AppState, caller: &Caller, id: &str) -> ApiResult<PluginRecord> {
    caller.require(Scope::Manage)?;
    let plugin = plugin_or_404(state, id).await?;
    if is_among_owners(caller, &state.meta.owner_ids(id).await?) {
        Ok(plugin)
    } else {
        Err(ApiError::forbidden(
            "NOT_OWNER",
            format!("you do not own plugin `{id}`"),
        ))
    }
}

/// `text` trimmed, refused with `code` ("`what` of 1 to 1000 characters") when empty or longer.
fn required_text<'t>(text: &'t str, code: &'static str, what: &str) -> ApiResult<&'t str> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 1000 {
        return Err(ApiError::unprocessable(
            code,
            format!("{what} of 1 to 1000 characters"),
        ));
    }
    Ok(text)
}

/// Withdraws `id@version` with a reason of 1 to 1000 characters.
pub async fn yank(
    state: &AppState,
    caller: &Caller,
    id: &str,
    version: &str,
    reason: &str,
) -> ApiResult<()> {
    require_owner(state, caller, id).await?;
    let reason = required_text(reason, "REASON_REQUIRED", "a yank needs a reason")?;
    set_yanked(state, id, version, Some(reason)).await
}

/// Restores a yanked `id@version`.
pub async fn unyank(state: &AppState, caller: &Caller, id: &str, version: &str) -> ApiResult<()> {
    require_owner(state, caller, id).await?;
    set_yanked(state, id, version, None).await
}

async fn set_yanked(
    state: &AppState,
    id: &str,
    version: &str,
    reason: Option<&str>,
) -> ApiResult<()> {
    if !state.meta.set_yanked(id, version, reason).await? {
        return Err(ApiError::not_found(format!("no version {id}@{version}")));
    }
    state.search.refresh_one(state.meta.as_ref(), id).await?;
    Ok(())
}

/// Deprecates `id` with a message and, optionally, an existing successor.
pub async fn deprecate(
    state: &AppState,
    caller: &Caller,
    id: &str,
    message: &str,
    successor: Option<&str>,
) -> ApiResult<()> {
    require_owner(state, caller, id).await?;
    let message = required_text(message, "MESSAGE_REQUIRED", "a deprecation needs a message")?;
    if let Some(successor) = successor {
        if successor == id {
            return Err(ApiError::unprocessable(
                "INVALID_SUCCESSOR",
                "a plugin cannot succeed itself",
            ));
        }
        plugin_or_404(state, successor).await?;
    }
    state
        .meta
        .set_deprecation(id, Some(message), successor)
        .await?;
    state.search.refresh_one(state.meta.as_ref(), id).await?;
    Ok(())
}

/// Lifts the deprecation of `id`.
pub async fn undeprecate(state: &AppState, caller: &Caller, id: &str) -> ApiResult<()> {
    require_owner(state, caller, id).await?;
    state.meta.set_deprecation(id, None, None).await?;
    state.search.refresh_one(state.meta.as_ref(), id).await?;
    Ok(())
}

/// Adds co-owners of `id`; every name must be an account.
pub async fn add_owners(
    state: &AppState,
    caller: &Caller,
    id: &str,
    users: &[String],
) -> ApiResult<()> {
    require_owner(state, caller, id).await?;
    let unknown = state.meta.add_owners(id, users).await?;
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no such user(s): {}",
            unknown.join(", ")
        )))
    }
}

/// Removes co-owners of `id`, never the last one.
pub async fn remove_owners(
    state: &AppState,
    caller: &Caller,
    id: &str,
    users: &[String],
) -> ApiResult<()> {
    require_owner(state, caller, id).await?;
    if state.meta.remove_owners(id, users).await? {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "LAST_OWNER",
            "a plugin keeps at least one owner",
        ))
    }
}

/// Longest review text, characters.
pub const MAX_REVIEW_CHARS: usize = 5000;

/// Writes (or rewrites) the caller's one review of `id`.
pub async fn put_review(
    state: &AppState,
    caller: &Caller,
    id: &str,
    rating: u8,
    text: &str,
) -> ApiResult<()> {
    caller.require(Scope::Manage)?;
    plugin_or_404(state, id).await?;
    if !(1..=5).contains(&rating) {
        return Err(ApiError::unprocessable(
            "INVALID_RATING",
            "ratings are 1 to 5",
        ));
    }
    if text.chars().count() > MAX_REVIEW_CHARS {
        return Err(ApiError::unprocessable(
            "REVIEW_TOO_LONG",
            "reviews are at most 5,000 characters",
        ));
    }
    state
        .meta
        .put_review(id, caller.user.id, i64::from(rating), text, now_ms())
        .await?;
    Ok(())
}
