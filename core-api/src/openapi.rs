//! The OpenAPI document and the reference page, generated from the route table so that they
//! list every route with its auth rule.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, ResponseBuilder,
};

use crate::routes::guard::AuthRule;
use crate::routes::{RouteSpec, table};

/// The rule in words.
pub fn describe(rule: AuthRule) -> String {
    match rule {
        AuthRule::Public => "public".to_owned(),
        AuthRule::Authenticated => "any authenticated caller of an active tenant".to_owned(),
        AuthRule::Identity => "any authenticated caller".to_owned(),
        AuthRule::SuperAdmin => "super admin".to_owned(),
        AuthRule::Tenant(p) => format!("tenant user with `{p}`"),
        AuthRule::Plugin => "a plugin install of the tenant (install token)".to_owned(),
        AuthRule::Member => "a user of the tenant, or a plugin active in it".to_owned(),
        AuthRule::Workspace(p, role) => {
            format!(
                "tenant user with `{p}` and workspace role ≥ `{}`",
                role.as_str()
            )
        }
    }
}

fn method(spec: &RouteSpec) -> HttpMethod {
    match spec.method.as_str() {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// The OpenAPI 3.1 document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for spec in table() {
        let mut operation = OperationBuilder::new()
            .summary(Some(spec.summary))
            .description(Some(format!("Auth: {}.", describe(spec.rule))))
            .response("200", ResponseBuilder::new().description("Success"))
            .response(
                "default",
                ResponseBuilder::new()
                    .description("Error envelope `{\"error\":{code,message,details}}`"),
            );
        if spec.rule != AuthRule::Public {
            operation =
                operation.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        paths = paths.path(
            spec.path,
            PathItemBuilder::new()
                .operation(method(&spec), operation.build())
                .build(),
        );
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Plexica core API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths.build())
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .build()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A self-contained HTML page listing the routes (no scripts, no network).
pub fn reference_page() -> String {
    let rows: String = table()
        .iter()
        .map(|s| {
            format!(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
                s.method,
                escape(s.path),
                escape(s.summary),
                escape(&describe(s.rule))
            )
        })
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Plexica core API</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td{{padding:.2em .8em;border-bottom:1px solid #ddd}}</style>\
         </head><body><h1>Plexica core API {}</h1><p>Machine-readable: \
         <a href=\"/api/openapi.json\">/api/openapi.json</a>. Errors: \
         <code>{{\"error\":{{\"code\",\"message\",\"details\"}}}}</code>.</p>\
         <table><tr><th>method</th><th>path</th><th>what</th><th>who</th></tr>\n{rows}</table></body></html>",
        env!("CARGO_PKG_VERSION")
    )
}
