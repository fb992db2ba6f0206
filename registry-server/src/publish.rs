//! The publish pipeline (registry.md, "Publish checks, in order"): each check has its own code,
//! and nothing is written until every check passed. The blob is stored (content-addressed,
//! durable) before the metadata transaction commits, under a pending-upload row that lets a
//! restart find blobs of uploads that never committed.

use axum::body::Body;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use plexica_sdk::api::registry::{Published, Scope};
use plexica_sdk::manifest::{self, MANIFEST_FILE, Manifest};
use plexica_sdk::package::signing::{PublicKey, Signature};
use plexica_sdk::package::{CheckStatus, Limits, Package, read_package, verify_read_package};

use crate::auth::Caller;
use crate::documents;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::sql::version_key;
use crate::storage::{DocumentKind, NewVersion, PublishConflict, VersionRecord};
use plexica_sdk::api::time::now_ms;

/// Reads the request body up to the configured cap (check 2).
async fn read_capped(body: Body, cap: u64) -> ApiResult<Bytes> {
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("upload interrupted: {e}")))?;
        if (buffer.len() + chunk.len()) as u64 > cap {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PACKAGE_TOO_LARGE",
                format!("the package exceeds the {cap}-byte limit"),
            ));
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// Checks 3 to 6: archive sanity, manifest, checksums, signature.
fn check_package(
    bytes: &[u8],
    keys: &[(PublicKey, bool)],
    require_signatures: bool,
) -> ApiResult<(Package, Manifest)> {
    let package = read_package(bytes, &Limits::default())
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let checked = manifest::check(&package.manifest_text, MANIFEST_FILE, Some(&package));
    let Some(manifest) = checked.manifest else {
        let errors = checked.error_count();
        let mut error = ApiError::unprocessable(
            "MANIFEST_INVALID",
            format!("plexica.toml has {errors} error(s)"),
        );
        error.diagnostics = checked.diagnostics;
        return Err(error);
    };
    let trusted: Vec<PublicKey> = keys
        .iter()
        .filter(|(_, revoked)| !revoked)
        .map(|(k, _)| k.clone())
        .collect();
    let report = verify_read_package(&package, &trusted);
    let failed = |name: &str| {
        report
            .checks
            .iter()
            .find(|c| c.check == name && c.status == CheckStatus::Fail)
    };
    if let Some(check) = failed("checksums") {
        return Err(ApiError::unprocessable(
            "CHECKSUMS_MISMATCH",
            check.detail.clone(),
        ));
    }
    match &package.signature_text {
        None if require_signatures => {
            return Err(ApiError::unprocessable(
                "SIGNATURE_MISSING",
                "the package is not signed; sign it with `plexica plugin sign`",
            ));
        }
        None => return Ok((package, manifest)),
        Some(text) => {
            let signature = Signature::parse(text)
                .map_err(|e| ApiError::unprocessable("SIGNATURE_INVALID", e.to_string()))?;
            if keys
                .iter()
                .any(|(k, revoked)| *revoked && k.id == signature.key_id)
            {
                return Err(ApiError::unprocessable(
                    "KEY_REVOKED",
                    format!("key {} was revoked", signature.key_id),
                ));
            }
            if let Some(check) = failed("key") {
                return Err(ApiError::unprocessable(
                    "SIGNATURE_FOREIGN",
                    format!(
                        "{}: register the key with `plexica keys register`",
                        check.detail
                    ),
                ));
            }
            if let Some(check) = failed("signature") {
                return Err(ApiError::unprocessable(
                    "SIGNATURE_INVALID",
                    check.detail.clone(),
                ));
            }
            if let Some(check) = failed("trusted-comment") {
                return Err(ApiError::unprocessable(
                    "SIGNATURE_MISMATCH",
                    check.detail.clone(),
                ));
            }
        }
    }
    Ok((package, manifest))
}

/// Runs the whole pipeline for `caller` on the uploaded `body`. Every publish — dry runs and
/// refused ones too, since checking a package is the costly part — takes a rate-limit slot
/// first (so that floods are refused cheaply); the slot is given back only when the registry
/// itself failed (5xx).
pub async fn publish(
    state: &AppState,
    caller: &Caller,
    body: Body,
    dry_run: bool,
    base_url: &str,
) -> ApiResult<Published> {
    caller.require(Scope::Publish)?;
    let slot = state
        .meta
        .take_publish_slot(
            caller.user.id,
            now_ms(),
            state.config.publish_interval_ms,
            state.config.publish_burst,
        )
        .await?;
    if let Err(wait_ms) = slot {
        let seconds = u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("too many new versions; retry in {seconds} s"),
        )
        .retry_after(seconds));
    }
    let result = run_checks_and_store(state, caller, body, dry_run, base_url).await;
    if result.as_ref().is_err_and(|e| e.status.is_server_error()) {
        state
            .meta
            .refund_publish_slot(caller.user.id, state.config.publish_interval_ms)
            .await?;
    }
    result
}

/// Checks 2 to 9: everything after authentication and the rate limit.
async fn run_checks_and_store(
    state: &AppState,
    caller: &Caller,
    body: Body,
    dry_run: bool,
    base_url: &str,
) -> ApiResult<Published> {
    let bytes = read_capped(body, state.config.max_package_bytes).await?;
    let keys: Vec<(PublicKey, bool)> = state
        .meta
        .keys_of(caller.user.id)
        .await?
        .into_iter()
        .filter_map(|k| {
            PublicKey::parse(&k.public_key)
                .ok()
                .map(|p| (p, k.revoked_at.is_some()))
        })
        .collect();
    let require = state.config.require_signatures;
    let checked_bytes = bytes.clone();
    let (package, manifest, extracted) = tokio::task::spawn_blocking(move || {
        let (package, manifest) = check_package(&checked_bytes, &keys, require)?;
        let extracted = documents::extract(&checked_bytes, &package, &manifest)
            .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
        Ok::<_, ApiError>((package, manifest, extracted))
    })
    .await
    .map_err(|e| ApiError::bad_request(e.to_string()))??;

    let id = manifest.plugin.id.clone();
    let version = manifest.plugin.version.to_string();
    let owners = state.meta.owner_ids(&id).await?;
    if !owners.is_empty() && !owners.contains(&caller.user.id) {
        return Err(ApiError::forbidden(
            "NOT_OWNER",
            format!("plugin `{id}` is owned by other publishers"),
        ));
    }
    if state
        .meta
        .version_exists(&id, &version_key(&manifest.plugin.version))
        .await?
    {
        return Err(version_exists(&id, &version));
    }
    let published = Published {
        url: format!("{base_url}/api/v1/plugins/{id}/versions/{version}"),
        id: id.clone(),
        version: version.clone(),
        digest: package.digest.clone(),
        content_digest: package.content_digest().unwrap_or_default(),
        size: bytes.len() as u64,
        dry_run,
    };
    if dry_run {
        return Ok(published);
    }

    let upload_id = plexica_server::secrets::random_hex::<9>("");
    state
        .meta
        .begin_upload(&upload_id, &package.digest, now_ms())
        .await?;
    state.blobs.put(&package.digest, bytes.clone()).await?;
    let signature = package.signature_text.clone();
    let key_id = signature
        .as_deref()
        .and_then(|s| Signature::parse(s).ok())
        .map(|s| s.key_id.to_string());
    let manifest_json =
        serde_json::to_string(&manifest).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let new = NewVersion {
        version: VersionRecord {
            plugin_id: id.clone(),
            version: version.clone(),
            manifest: manifest_json,
            digest: package.digest.clone(),
            content_digest: published.content_digest.clone(),
            signature,
            key_id,
            size: bytes.len() as i64,
            yanked: false,
            yank_reason: None,
            published_at: now_ms(),
            published_by: caller.user.username.clone(),
            downloads: 0,
            readme: extracted
                .documents
                .iter()
                .any(|(kind, _)| *kind == DocumentKind::Readme),
            changelog: extracted
                .documents
                .iter()
                .any(|(kind, _)| *kind == DocumentKind::Changelog),
        },
        publisher: caller.user.id,
        name: manifest.plugin.name.clone(),
        description: manifest.plugin.description.clone(),
        keywords: manifest.plugin.keywords.clone(),
        categories: manifest.plugin.categories.clone(),
        documents: extracted.documents,
        images: extracted.images,
        upload_id: upload_id.clone(),
    };
    match state.meta.commit_version(&new).await {
        Ok(()) => {
            metrics::counter!(crate::metrics::PUBLISHES).increment(1);
            state.search.refresh_one(state.meta.as_ref(), &id).await?;
            Ok(published)
        }
        Err(conflict) => {
            // The blob stays: another upload of the same bytes may own it. A pending row
            // without a version is what the cleanup looks for.
            state.meta.abort_upload(&upload_id).await?;
            Err(match conflict {
                PublishConflict::NotOwner(id) => ApiError::forbidden(
                    "NOT_OWNER",
                    format!("plugin `{id}` is owned by other publishers"),
                ),
                PublishConflict::VersionExists(id, version) => version_exists(&id, &version),
                PublishConflict::Storage(e) => e.into(),
            })
        }
    }
}

fn version_exists(id: &str, version: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "VERSION_EXISTS",
        format!("{id}@{version} already exists; versions are immutable, publish a new one"),
    )
}

/// Deletes blobs of uploads that never committed (crash between blob write and commit).
pub async fn clean_stale_uploads(state: &AppState) -> crate::storage::StorageResult<usize> {
    let stale = state
        .meta
        .stale_uploads(now_ms() - state.config.upload_grace_ms)
        .await?;
    let mut removed = 0;
    for (upload_id, digest) in stale {
        if !state.meta.digest_in_use(&digest).await? {
            state.blobs.delete(&digest).await?;
            removed += 1;
        }
        state.meta.abort_upload(&upload_id).await?;
    }
    Ok(removed)
}
