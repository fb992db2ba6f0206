//! The OpenAPI document of the registry, made from its route table
//! ([`crate::routes::table`]): every route with its path parameters and access rule.

use plexica_server::openapi::{Operation, Service};
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
        }),
    )
}
