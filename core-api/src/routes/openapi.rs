//! The OpenAPI document and the reference page, generated from the route table so that they
//! list every route with its auth rule.

use plexica_sdk::api::core::ErrorEnvelope;
use plexica_server::openapi::{Operation, Service};
use plexica_server::routes::JsonSchema;
use utoipa::openapi::OpenApi;

use crate::routes::guard::AuthRule;
use crate::routes::table;

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

/// The OpenAPI 3.1 document: every route of the table, its path parameters, bodies and auth
/// rule, and the error envelope.
pub fn document() -> OpenApi {
    let routes = table();
    plexica_server::openapi::document(
        Service {
            title: "Plexica core API",
            version: env!("CARGO_PKG_VERSION"),
            scheme: "bearer",
            error: JsonSchema::of::<ErrorEnvelope>(),
        },
        routes.iter().map(|spec| Operation {
            method: spec.method.as_str(),
            path: spec.path,
            summary: spec.summary,
            auth: describe(spec.rule),
            secured: spec.rule != AuthRule::Public,
            request: spec.request,
            answers: &spec.answers,
        }),
    )
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
