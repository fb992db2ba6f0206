//! Prometheus metrics: one recorder per process, request counts and latencies per route, with
//! label values from bounded sets whatever clients send.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use (shared by every server running in
/// the process, as under `plexica up`).
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder is installed; ours then renders nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts each request in `{service}_http_requests_total` and records its latency in
/// `{service}_http_request_seconds`, labelled by route pattern (from the route table:
/// `unmatched` for any other path), method ([`method_label`]) and status.
///
/// Use as `axum::middleware::from_fn(|r, n| track("core", r, n))`.
pub async fn track(service: &'static str, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("route", route),
        ("method", method.to_owned()),
        ("status", status),
    ];
    metrics::counter!(format!("{service}_http_requests_total"), &labels).increment(1);
    metrics::histogram!(format!("{service}_http_request_seconds"), &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `method` as a metric label: the standard methods by name, anything else `OTHER`.
pub fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("OTHER", Method::as_str)
}
