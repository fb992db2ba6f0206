//! A server's route table: every route with its method, path, access rule and summary, and
//! its handler. The router, the OpenAPI document ([`crate::openapi`]) and the outsider tests
//! are all made from the one table, so that none of them can list a route the others miss.

use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

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
}

/// A route and the handler that serves it, for state `S`.
pub type Entry<R, S> = (RouteSpec<R>, MethodRouter<S>);

/// The entry of `handler` at `method` `path`, under `rule`.
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
    (
        RouteSpec {
            method,
            path,
            rule,
            summary,
        },
        on(filter, handler),
    )
}

/// The specs of `entries`, without their handlers.
pub fn table<R, S>(entries: Vec<Entry<R, S>>) -> Vec<RouteSpec<R>> {
    entries.into_iter().map(|(spec, _)| spec).collect()
}
