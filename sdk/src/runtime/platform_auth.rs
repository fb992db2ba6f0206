//! The layer in front of every route of a backend: a request counts only if the platform
//! signed it ([`crate::api::signing`]) with the secret this process was given
//! ([`PLATFORM_SECRET_ENV`]). Anything else — a local process calling the backend directly with
//! forged `X-Plexica-*` headers, a request replayed to another path, a changed body — is
//! answered 401 before any handler runs. What the platform asserted is passed on as
//! [`PlatformClaims`], the only source of a route's [`Context`](super::Context).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::inbox::refuse;
use crate::api::signing::{
    CALLER_PLUGIN_HEADER, CORRELATION_HEADER, SIGNATURE_HEADER, SIGNED_HEADERS, SignatureError,
    SignedRequest, TENANT_HEADER, USER_HEADER, WORKSPACE_HEADER,
};

pub use crate::api::env::PLATFORM_SECRET_ENV;

/// The largest body a platform request may carry (the gateway forwards at most 10 MiB).
pub const MAX_PLATFORM_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The context a verified platform request asserts; empty values count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformClaims {
    /// The tenant's slug.
    pub tenant: Option<String>,
    /// The workspace's slug.
    pub workspace: Option<String>,
    /// The user the request is made for.
    pub user: Option<String>,
    /// The plugin that made the call, for plugin-to-plugin calls.
    pub caller_plugin: Option<String>,
    /// The correlation id.
    pub correlation_id: Option<String>,
}

impl PlatformClaims {
    fn of(headers: &axum::http::HeaderMap) -> Self {
        let value = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Self {
            tenant: value(TENANT_HEADER),
            workspace: value(WORKSPACE_HEADER),
            user: value(USER_HEADER),
            caller_plugin: value(CALLER_PLUGIN_HEADER),
            correlation_id: value(CORRELATION_HEADER),
        }
    }
}

/// The secret requests must be signed with, if the process has one.
#[derive(Debug, Clone)]
pub(crate) struct PlatformSecret(pub(crate) Option<Arc<[u8]>>);

/// Verifies `request`'s signature over its method, target, body and context headers; on
/// success runs the rest of the application with [`PlatformClaims`] in the request's
/// extensions.
pub(crate) async fn authenticate(
    State(secret): State<PlatformSecret>,
    request: Request,
    next: Next,
) -> Response {
    let Some(secret) = secret.0 else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "NO_PLATFORM_SECRET",
            format!(
                "this backend has no platform secret ({PLATFORM_SECRET_ENV}); it accepts no requests"
            ),
        );
    };
    let (mut parts, body) = request.into_parts();
    let Some(signature) = parts
        .headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return unauthorized(SignatureError::Malformed);
    };
    if SIGNED_HEADERS
        .iter()
        .any(|name| parts.headers.get_all(*name).iter().nth(1).is_some())
    {
        return unauthorized(SignatureError::Repeated);
    }
    let body: Bytes = match axum::body::to_bytes(body, MAX_PLATFORM_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("a platform request carries at most {MAX_PLATFORM_BODY_BYTES} bytes"),
            );
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let signed = SignedRequest {
        method: parts.method.as_str(),
        target,
        body: &body,
    };
    let headers = &parts.headers;
    let verified = signed.verify(
        &secret,
        &signature,
        crate::api::time::now_ms() / 1000,
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
    );
    if let Err(e) = verified {
        return unauthorized(e);
    }
    let claims = PlatformClaims::of(&parts.headers);
    parts.extensions.insert(claims);
    next.run(Request::from_parts(parts, Body::from(body))).await
}

fn unauthorized(error: SignatureError) -> Response {
    refuse(StatusCode::UNAUTHORIZED, "BAD_SIGNATURE", error.to_string())
}
