//! Prometheus metrics: one recorder per process, request counts and latencies per route, with
//! label values from bounded sets whatever clients send.
//!
//! Every latency is a histogram over [`LATENCY_BUCKETS`] (buckets add up across replicas;
//! quantiles computed in-process would not), and every family a server records is declared
//! once as a [`Family`] with its help text, given to [`install`] at start-up: unlabelled series
//! are exposed at zero from the start, so a rate over them has a first sample.

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
fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = match PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS) {
                Ok(builder) => builder,
                // Only an empty list is refused, and ours is not.
                Err(_) => PrometheusBuilder::new(),
            }
            .build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder is installed; ours then renders nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Upper bounds of every histogram's buckets, seconds: 1 ms to 30 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// What a metric family measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A count that only goes up (its name ends in `_total`).
    Counter,
    /// A level that goes up and down.
    Gauge,
    /// Observations in [`LATENCY_BUCKETS`] (its name ends in `_seconds`).
    Histogram,
}

/// An unlabelled metric family: its name, kind and `# HELP` text.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// The Prometheus name.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// One sentence for `# HELP`.
    pub help: &'static str,
}

impl Family {
    /// A counter.
    pub const fn counter(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Counter,
            help,
        }
    }

    /// A gauge.
    pub const fn gauge(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Gauge,
            help,
        }
    }

    /// A histogram of seconds.
    pub const fn histogram(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Histogram,
            help,
        }
    }
}

/// The process's recorder (installed on first use), with `families` and the request families
/// of `service` (see [`track`]) given their help text and the series of `families` created at
/// zero: what `/metrics` renders. Idempotent: a second server in the process (as under
/// `plexica up`) changes no value.
pub fn install(service: &'static str, families: &[Family]) -> PrometheusHandle {
    let handle = handle();
    metrics::describe_counter!(
        format!("{service}_http_requests_total"),
        "HTTP requests answered, by route pattern, method and status."
    );
    metrics::describe_histogram!(
        format!("{service}_http_request_seconds"),
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by route pattern, method and status."
    );
    for family in families {
        match family.kind {
            Kind::Counter => {
                metrics::describe_counter!(family.name, family.help);
                metrics::counter!(family.name).increment(0);
            }
            Kind::Gauge => {
                metrics::describe_gauge!(family.name, family.help);
                metrics::gauge!(family.name).increment(0.0);
            }
            Kind::Histogram => {
                metrics::describe_histogram!(family.name, metrics::Unit::Seconds, family.help);
                // Registering is enough: the series is exposed with zero observations.
                let _registered = metrics::histogram!(family.name);
            }
        }
    }
    handle
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
