//! OpenAPI 3.1 documents built from a server's route table: one operation per route, the
//! operations of a path under one path item, every path parameter declared, and axum's
//! catch-all segment `{*name}` written as the template `{name}` (it matches the rest of the
//! path, slashes included, which the parameter's description says).

use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Required,
    ResponseBuilder, Type,
};

/// One route as the document shows it.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'a str,
    /// The route's axum path (`/api/v1/tenants/{t}`, `/…/{*path}`).
    pub path: &'a str,
    /// One line.
    pub summary: &'a str,
    /// Who may call it, in words.
    pub auth: String,
    /// Whether it takes the bearer token.
    pub secured: bool,
}

/// A document's title and its security scheme's name.
#[derive(Debug, Clone, Copy)]
pub struct Service<'a> {
    /// The document's title.
    pub title: &'a str,
    /// The server's version.
    pub version: &'a str,
    /// The name of the bearer scheme secured operations require.
    pub scheme: &'a str,
}

/// The OpenAPI path template of axum path `path`: `{*rest}` becomes `{rest}`.
pub fn template(path: &str) -> String {
    path.replace("{*", "{")
}

/// The parameters of axum path `path`, in order, and whether each is a catch-all.
pub fn parameters(path: &str) -> Vec<(&str, bool)> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| match name.strip_prefix('*') {
            Some(rest) => (rest, true),
            None => (name, false),
        })
        .collect()
}

fn method(name: &str) -> HttpMethod {
    match name {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "HEAD" => HttpMethod::Head,
        "OPTIONS" => HttpMethod::Options,
        _ => HttpMethod::Get,
    }
}

fn operation(route: &Operation<'_>, scheme: &str) -> utoipa::openapi::path::Operation {
    let mut operation = OperationBuilder::new()
        .summary(Some(route.summary))
        .description(Some(format!("Auth: {}.", route.auth)))
        .response("200", ResponseBuilder::new().description("Success"))
        .response(
            "default",
            ResponseBuilder::new()
                .description("Error envelope `{\"error\":{code,message,details}}`"),
        );
    for (name, catch_all) in parameters(route.path) {
        let description = match catch_all {
            true => "The rest of the path (may hold `/`)",
            false => "A path segment",
        };
        operation = operation.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    if route.secured {
        operation = operation
            .security(SecurityRequirement::new(scheme, Vec::<String>::new()))
            .response(
                "401",
                ResponseBuilder::new().description("No token, or one that is not valid"),
            );
    }
    operation.build()
}

/// The document of `service` listing `routes`.
pub fn document<'a>(
    service: Service<'_>,
    routes: impl IntoIterator<Item = Operation<'a>>,
) -> OpenApi {
    // `PathsBuilder::path` merges the operations of a path already there.
    let paths = routes
        .into_iter()
        .fold(PathsBuilder::new(), |paths, route| {
            let item = PathItem::new(method(route.method), operation(&route, service.scheme));
            paths.path(template(route.path), item)
        });
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(service.title)
                .version(service.version)
                .build(),
        )
        .paths(paths.build())
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    service.scheme,
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_alls_become_templates_and_every_parameter_is_declared() -> serde_json::Result<()> {
        let path = "/api/v1/tenants/{t}/gateway/{plugin}/{service}/{*path}";
        assert_eq!(
            template(path),
            "/api/v1/tenants/{t}/gateway/{plugin}/{service}/{path}"
        );
        assert_eq!(
            parameters(path),
            [
                ("t", false),
                ("plugin", false),
                ("service", false),
                ("path", true)
            ]
        );
        let service = Service {
            title: "t",
            version: "1",
            scheme: "bearer",
        };
        let routes = ["GET", "DELETE"].map(|method| Operation {
            method,
            path: "/things/{id}",
            summary: "s",
            auth: "anyone".to_owned(),
            secured: method == "DELETE",
        });
        let json = serde_json::to_value(document(service, routes))?;
        let item = &json["paths"]["/things/{id}"];
        assert!(
            item["get"].is_object() && item["delete"].is_object(),
            "{item}"
        );
        assert_eq!(item["get"]["parameters"][0]["name"], "id");
        assert_eq!(item["get"]["parameters"][0]["in"], "path");
        assert_eq!(item["get"]["parameters"][0]["required"], true);
        assert!(item["get"]["security"].is_null());
        assert!(item["delete"]["security"].is_array());
        Ok(())
    }
}
