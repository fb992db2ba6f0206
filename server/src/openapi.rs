//! OpenAPI 3.1 documents built from a server's route table: one operation per route, the
//! operations of a path under one path item, every path parameter declared, the request and
//! success bodies with their schemas, the error envelope as every other answer, and axum's
//! catch-all segment `{*name}` written as the template `{name}` (it matches the rest of the
//! path, slashes included, which the parameter's description says).

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Required,
    ResponseBuilder, Type,
};

use crate::routes::{Answer, Components, JsonSchema, Payload};

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
    /// The body it takes, if any.
    pub request: Option<Payload>,
    /// What it answers on success, one entry per status.
    pub answers: &'a [Answer],
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
    /// The body of every error answer.
    pub error: JsonSchema,
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

fn content(
    payload: Payload,
    components: &mut Components,
) -> (&'static str, utoipa::openapi::Content) {
    match payload {
        Payload::Json(json) => {
            (json.components)(components);
            (
                "application/json",
                ContentBuilder::new().schema(Some((json.schema)())).build(),
            )
        }
        Payload::Media(media) => (
            media,
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        ),
    }
}

fn response(
    description: &str,
    body: Option<Payload>,
    components: &mut Components,
) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new().description(description);
    if let Some(payload) = body {
        let (media, content) = content(payload, components);
        response = response.content(media, content);
    }
    response.build()
}

fn operation(
    route: &Operation<'_>,
    service: &Service<'_>,
    components: &mut Components,
) -> utoipa::openapi::path::Operation {
    let error = Payload::Json(service.error);
    let mut operation = OperationBuilder::new()
        .summary(Some(route.summary))
        .description(Some(format!("Auth: {}.", route.auth)));
    for answer in route.answers {
        operation = operation.response(
            answer.status.to_string(),
            response("Success", answer.body, components),
        );
    }
    operation = operation.response(
        "default",
        response("The error envelope", Some(error), components),
    );
    if let Some(payload) = route.request {
        let (media, content) = content(payload, components);
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .content(media, content)
                .required(Some(Required::True))
                .build(),
        ));
    }
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
            .security(SecurityRequirement::new(
                service.scheme,
                Vec::<String>::new(),
            ))
            .response(
                "401",
                response(
                    "No token, or one that is not valid",
                    Some(error),
                    components,
                ),
            );
    }
    operation.build()
}

/// The document of `service` listing `routes`.
pub fn document<'a>(
    service: Service<'_>,
    routes: impl IntoIterator<Item = Operation<'a>>,
) -> OpenApi {
    let mut components = Components::new();
    // `PathsBuilder::path` merges the operations of a path already there.
    let paths = routes
        .into_iter()
        .fold(PathsBuilder::new(), |paths, route| {
            let operation = operation(&route, &service, &mut components);
            paths.path(
                template(route.path),
                PathItem::new(method(route.method), operation),
            )
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
                .schemas_from_iter(components)
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
    use plexica_sdk::api::core::{ErrorEnvelope, Workspace};

    use super::*;

    const ANSWERS: [Answer; 2] = [
        Answer {
            status: 200,
            body: Some(Payload::Json(JsonSchema {
                schema: <Workspace as utoipa::PartialSchema>::schema,
                components: <Workspace as utoipa::ToSchema>::schemas,
            })),
        },
        Answer {
            status: 204,
            body: None,
        },
    ];

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
            error: JsonSchema::of::<ErrorEnvelope>(),
        };
        let routes = ["GET", "DELETE"].map(|method| Operation {
            method,
            path: "/things/{id}",
            summary: "s",
            auth: "anyone".to_owned(),
            secured: method == "DELETE",
            request: None,
            answers: match method {
                "GET" => &ANSWERS[..1],
                _ => &ANSWERS[1..],
            },
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
        let ok = &item["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(ok["properties"]["slug"]["type"], "string", "{ok}");
        assert!(item["delete"]["responses"]["204"]["content"].is_null());
        let error = &item["delete"]["responses"]["default"]["content"]["application/json"];
        assert_eq!(
            error["schema"]["properties"]["error"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert!(json["components"]["schemas"]["ErrorBody"].is_object());
        assert!(json["components"]["schemas"]["WorkspaceRole"].is_object());
        Ok(())
    }
}
