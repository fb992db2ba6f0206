//! A server's route table: every route with its method, path, access rule, summary and
//! bodies, and its handler. The router, the OpenAPI document ([`crate::openapi`]) and the
//! outsider tests are all made from the one table, so that none of them can list a route the
//! others miss.

use std::fmt;

use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// The named schemas a schema refers to, as `utoipa` collects them.
pub type Components = Vec<(String, RefOr<Schema>)>;

/// The JSON schema of a Rust type, and the named schemas it refers to.
#[derive(Clone, Copy)]
pub struct JsonSchema {
    /// The type's own schema.
    pub schema: fn() -> RefOr<Schema>,
    /// Adds the schemas it refers to.
    pub components: fn(&mut Components),
}

impl JsonSchema {
    /// The schema of `T`.
    pub fn of<T: ToSchema>() -> Self {
        Self {
            schema: T::schema,
            components: T::schemas,
        }
    }
}

impl fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JsonSchema")
    }
}

/// A request or response body as the document describes it.
#[derive(Debug, Clone, Copy)]
pub enum Payload {
    /// `application/json` of this schema.
    Json(JsonSchema),
    /// Bytes of this media type (`application/zip`, `text/html`, …).
    Media(&'static str),
}

/// What a route answers when it succeeds.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// Its status.
    pub status: u16,
    /// Its body, if it has one.
    pub body: Option<Payload>,
}

/// One route as the table declares it; `R` is the server's access rule.
#[derive(Debug, Clone)]
pub struct RouteSpec<R> {
    /// HTTP method.
    pub method: Method,
    /// axum path pattern (`{id}` a segment, `{*path}` the rest of the path).
    pub path: &'static str,
    /// Who may call it.
    pub rule: R,
    /// What it does, in one line.
    pub summary: &'static str,
    /// The body it takes, if any.
    pub request: Option<Payload>,
    /// What it answers on success, one entry per status (a test refuses a route with none).
    pub answers: Vec<Answer>,
}

/// A route and the handler that serves it, for state `S`.
#[derive(Debug)]
pub struct Entry<R, S> {
    /// The route.
    pub spec: RouteSpec<R>,
    /// Its handler.
    pub handler: MethodRouter<S>,
}

impl<R, S> Entry<R, S> {
    /// The route takes a JSON `T`.
    pub fn takes<T: ToSchema>(mut self) -> Self {
        self.spec.request = Some(Payload::Json(JsonSchema::of::<T>()));
        self
    }

    /// The route takes bytes of `media` type.
    pub fn takes_media(mut self, media: &'static str) -> Self {
        self.spec.request = Some(Payload::Media(media));
        self
    }

    /// The route answers `status` with a JSON `T` (called once per success status).
    pub fn gives<T: ToSchema>(self, status: u16) -> Self {
        self.answers(status, Some(Payload::Json(JsonSchema::of::<T>())))
    }

    /// The route answers `status` with bytes of `media` type.
    pub fn gives_media(self, status: u16, media: &'static str) -> Self {
        self.answers(status, Some(Payload::Media(media)))
    }

    /// The route answers `status` with no body.
    pub fn gives_nothing(self, status: u16) -> Self {
        self.answers(status, None)
    }

    fn answers(mut self, status: u16, body: Option<Payload>) -> Self {
        self.spec.answers.push(Answer { status, body });
        self
    }
}

/// The entry of `handler` at `method` `path`, under `rule`; its bodies are added with
/// [`Entry::takes`] and [`Entry::gives`].
pub fn entry<R, S, H, T>(
    method: Method,
    path: &'static str,
    rule: R,
    summary: &'static str,
    handler: H,
) -> Entry<R, S>
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    Entry {
        spec: RouteSpec {
            method,
            path,
            rule,
            summary,
            request: None,
            answers: Vec::new(),
        },
        handler: on(filter, handler),
    }
}

/// The specs of `entries`, without their handlers.
pub fn table<R, S>(entries: Vec<Entry<R, S>>) -> Vec<RouteSpec<R>> {
    entries.into_iter().map(|entry| entry.spec).collect()
}
