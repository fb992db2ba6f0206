//! The OpenAPI document of the registry: every route with its auth rule.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, ResponseBuilder,
};

/// (method, path, summary, needs a token)
const ROUTES: &[(HttpMethod, &str, &str, bool)] = &[
    (
        HttpMethod::Post,
        "/api/v1/tokens",
        "Trade username and password for a token (shown once)",
        false,
    ),
    (
        HttpMethod::Get,
        "/api/v1/tokens",
        "The caller's tokens",
        true,
    ),
    (
        HttpMethod::Delete,
        "/api/v1/tokens/{id}",
        "Revoke one of the caller's tokens",
        true,
    ),
    (
        HttpMethod::Get,
        "/api/v1/me",
        "Who am I, token scopes and expiry",
        true,
    ),
    (
        HttpMethod::Post,
        "/api/v1/me/tokens",
        "Another token for the caller",
        true,
    ),
    (
        HttpMethod::Post,
        "/api/v1/users",
        "Create an account: by an admin, with an invite, or by anyone when sign-up is open",
        false,
    ),
    (
        HttpMethod::Post,
        "/api/v1/invites",
        "Invite a publisher to create a named account (admin)",
        true,
    ),
    (
        HttpMethod::Post,
        "/api/v1/keys/challenges",
        "A text for a key to sign before it is registered",
        true,
    ),
    (
        HttpMethod::Put,
        "/api/v1/keys",
        "Register a public key, with its signature over a challenge",
        true,
    ),
    (
        HttpMethod::Delete,
        "/api/v1/keys/{key_id}",
        "Revoke a public key",
        true,
    ),
    (
        HttpMethod::Get,
        "/api/v1/users/{name}/keys",
        "A publisher's keys, revoked ones marked",
        false,
    ),
    (
        HttpMethod::Post,
        "/api/v1/packages",
        "Publish a .pxp (scope publish); ?dry-run=true checks only",
        true,
    ),
    (
        HttpMethod::Get,
        "/api/v1/plugins",
        "Search: q, category, sort, page, per_page",
        false,
    ),
    (
        HttpMethod::Get,
        "/api/v1/plugins/{id}",
        "Plugin metadata, owners, versions, latest",
        false,
    ),
    (
        HttpMethod::Get,
        "/api/v1/plugins/{id}/versions/{version}",
        "Version metadata",
        false,
    ),
    (
        HttpMethod::Get,
        "/api/v1/plugins/{id}/versions/{version}/download",
        "The package bytes",
        false,
    ),
    (
        HttpMethod::Get,
        "/api/v1/plugins/{id}/versions/{version}/{document}",
        "The package's README or CHANGELOG (`readme`, `changelog`): Markdown, or sanitized HTML with `format=html`",
        false,
    ),
    (
        HttpMethod::Get,
        "/api/v1/plugins/{id}/versions/{version}/images/{path}",
        "An image of the package (screenshot, README image), immutable",
        false,
    ),
    (
        HttpMethod::Delete,
        "/api/v1/plugins/{id}/versions/{version}/yank",
        "Yank with a reason (owner)",
        true,
    ),
    (
        HttpMethod::Put,
        "/api/v1/plugins/{id}/versions/{version}/unyank",
        "Undo a yank (owner)",
        true,
    ),
    (
        HttpMethod::Put,
        "/api/v1/plugins/{id}/deprecation",
        "Deprecate (owner)",
        true,
    ),
    (
        HttpMethod::Delete,
        "/api/v1/plugins/{id}/deprecation",
        "Remove the deprecation (owner)",
        true,
    ),
    (
        HttpMethod::Get,
        "/api/v1/plugins/{id}/owners",
        "Owners",
        false,
    ),
    (
        HttpMethod::Put,
        "/api/v1/plugins/{id}/owners",
        "Add owners (owner)",
        true,
    ),
    (
        HttpMethod::Delete,
        "/api/v1/plugins/{id}/owners",
        "Remove owners (owner)",
        true,
    ),
    (
        HttpMethod::Get,
        "/api/v1/plugins/{id}/reviews",
        "Reviews",
        false,
    ),
    (
        HttpMethod::Post,
        "/api/v1/plugins/{id}/reviews",
        "Post or edit the caller's review",
        true,
    ),
    (
        HttpMethod::Get,
        "/api/v1/index/{id}",
        "All versions as JSON lines; ETag / If-None-Match",
        false,
    ),
    (
        HttpMethod::Get,
        "/api/v1/stats",
        "Totals, top categories, recent publishes",
        false,
    ),
    (HttpMethod::Get, "/health/live", "Liveness", false),
    (
        HttpMethod::Get,
        "/health/ready",
        "Readiness (database reachable)",
        false,
    ),
    (HttpMethod::Get, "/metrics", "Prometheus metrics", false),
    (HttpMethod::Get, "/api/openapi.json", "This document", false),
];

/// Builds the document.
pub fn document() -> OpenApi {
    let mut items: Vec<(&str, PathItemBuilder)> = Vec::new();
    for (method, path, summary, token) in ROUTES {
        let mut operation = OperationBuilder::new()
            .summary(Some(*summary))
            .response("200", ResponseBuilder::new().description("success"));
        if *token {
            operation = operation
                .security(SecurityRequirement::new("token", Vec::<String>::new()))
                .response("401", ResponseBuilder::new().description("no or bad token"));
        }
        let position = items.iter().position(|(p, _)| p == path);
        let item = match position {
            Some(i) => items.remove(i).1,
            None => PathItemBuilder::new(),
        };
        items.push((path, item.operation(method.clone(), operation.build())));
    }
    let paths = items
        .into_iter()
        .fold(PathsBuilder::new(), |paths, (path, item)| {
            paths.path(path, item.build())
        });
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Plexica registry")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths.build())
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "token",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .build()
}
