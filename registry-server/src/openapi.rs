//! The OpenAPI document of the registry, made from its route table
//! ([`crate::routes::table`]): every route with its path parameters, bodies and access rule,
//! and the error body.

use plexica_sdk::api::registry::ApiErrors;
use plexica_server::openapi::{Operation, Service};
use plexica_server::routes::JsonSchema;
use utoipa::openapi::OpenApi;

use crate::routes::{Access, table};

/// Builds the document.
pub fn document() -> OpenApi {
    let routes = table();
    plexica_server::openapi::document(
        Service {
            title: "Plexica registry",
            version: env!("CARGO_PKG_VERSION"),
            scheme: "token",
            error: JsonSchema::of::<ApiErrors>(),
        },
        routes.iter().map(|route| Operation {
            method: route.method.as_str(),
            path: route.path,
            summary: route.summary,
            auth: match route.rule {
                Access::Public => "anyone".to_owned(),
                Access::Token => "a caller with a token (`Authorization: Bearer …`)".to_owned(),
            },
            secured: route.rule == Access::Token,
            request: route.request,
            answers: &route.answers,
        }),
    )
}
