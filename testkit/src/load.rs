//! An HTTP load generator for the servers' benchmarks, so that every server (ours and peers) is
//! measured by the same code: an open-loop, constant-rate generator ([`constant_rate`]) and a
//! closed-loop, one-at-a-time driver ([`sequential`]), both with a per-request deadline,
//! counting errors and timeouts instead of stopping at the first one; and the reporting: a
//! Markdown row per scenario on stdout and, when `PLEXICA_BENCH_RESULTS` names a file, one JSON
//! line per scenario appended to it.

use std::io::Write as _;
use std::time::{Duration, Instant};

/// How long a request may take, counted from its scheduled start, before it counts as timed
/// out (the client then drops the connection).
pub const DEADLINE: Duration = Duration::from_secs(10);
/// Environment variable naming the file the JSON result lines are appended to.
pub const RESULTS_ENV: &str = "PLEXICA_BENCH_RESULTS";

/// The HTTP client of the benches (one connection per in-flight request, kept alive).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("http client")
}

/// What counts as a successful answer.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    /// The status the answer must have.
    pub status: reqwest::StatusCode,
    /// The body length the answer must have, when it is known.
    pub body_len: Option<usize>,
}

impl Expect {
    /// An answer with this status and any body.
    pub fn status(status: reqwest::StatusCode) -> Self {
        Self {
            status,
            body_len: None,
        }
    }
}

/// What one scenario measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Latency of each successful request, sorted.
    latencies: Vec<Duration>,
    /// Requests that failed: transport error or unexpected status or body.
    pub errors: usize,
    /// Requests without a complete answer within [`DEADLINE`].
    pub timeouts: usize,
    /// The first failure, for the log.
    pub first_error: Option<String>,
    /// From the first request's scheduled start to the last answer (or deadline).
    pub wall: Duration,
}

impl Outcome {
    fn new(results: Vec<Result<Duration, Failure>>, wall: Duration) -> Self {
        let mut outcome = Self {
            wall,
            ..Self::default()
        };
        for result in results {
            match result {
                Ok(latency) => outcome.latencies.push(latency),
                Err(Failure::Timeout) => outcome.timeouts += 1,
                Err(Failure::Error(message)) => {
                    outcome.errors += 1;
                    outcome.first_error.get_or_insert(message);
                }
            }
        }
        outcome.latencies.sort();
        outcome
    }

    /// Requests sent.
    pub fn total(&self) -> usize {
        self.latencies.len() + self.errors + self.timeouts
    }

    /// Requests answered as expected.
    pub fn ok(&self) -> usize {
        self.latencies.len()
    }

    /// The latency at quantile `q` (0.5 = median) over all requests sent, failed and timed-out
    /// ones ranking as the slowest: `None` when that rank is a failure, i.e. the registry did
    /// not achieve that percentile at all.
    pub fn percentile(&self, q: f64) -> Option<Duration> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((total - 1) as f64 * q).round() as usize;
        self.latencies.get(rank).copied()
    }

    /// Successful answers per second over the scenario's wall time.
    pub fn achieved_rate(&self) -> f64 {
        self.ok() as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// The "requests" cell: the count, and what failed when something did.
    fn requests_cell(&self) -> String {
        if self.errors == 0 && self.timeouts == 0 {
            return self.total().to_string();
        }
        format!(
            "{} of {} ok ({} errors, {} timed out after {} s)",
            self.ok(),
            self.total(),
            self.errors,
            self.timeouts,
            DEADLINE.as_secs()
        )
    }
}

/// Why a request did not count.
#[derive(Debug)]
enum Failure {
    /// Transport error, or an unexpected status or body.
    Error(String),
    /// No complete answer before the deadline.
    Timeout,
}

/// Sends `request` and reads the whole answer, within [`DEADLINE`] of `start`; returns the
/// latency from `start`.
async fn exchange(
    request: reqwest::RequestBuilder,
    expect: Expect,
    start: Instant,
) -> Result<Duration, Failure> {
    let answer = async {
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if status != expect.status {
            let excerpt = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(format!(
                "status {status}, expected {}: {excerpt}",
                expect.status
            ));
        }
        if let Some(len) = expect.body_len {
            if body.len() != len {
                return Err(format!("body of {} bytes, expected {len}", body.len()));
            }
        }
        Ok(())
    };
    match tokio::time::timeout_at((start + DEADLINE).into(), answer).await {
        Ok(Ok(())) => Ok(start.elapsed()),
        Ok(Err(message)) => Err(Failure::Error(message)),
        Err(_) => Err(Failure::Timeout),
    }
}

/// Open loop: sends `total` requests at `rate` per second whatever the answers, each built by
/// `request(i)`; latency is measured from each request's scheduled start, so a server that
/// falls behind cannot hide its queueing.
pub async fn constant_rate(
    rate: u32,
    total: usize,
    expect: Expect,
    request: impl Fn(usize) -> reqwest::RequestBuilder,
) -> Outcome {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(scheduled.into()).await;
        tasks.push(tokio::spawn(exchange(request(i), expect, scheduled)));
    }
    let mut results = Vec::with_capacity(total);
    for task in tasks {
        results.push(task.await.expect("request task"));
    }
    Outcome::new(results, start.elapsed())
}

/// Closed loop: sends `total` requests one after the other, each built by `request(i)` (built
/// before its clock starts, so preparing a large body is not timed).
pub async fn sequential(
    total: usize,
    expect: Expect,
    mut request: impl FnMut(usize) -> reqwest::RequestBuilder,
) -> Outcome {
    let start = Instant::now();
    let mut results = Vec::with_capacity(total);
    for i in 0..total {
        let built = request(i);
        results.push(exchange(built, expect, Instant::now()).await);
    }
    Outcome::new(results, start.elapsed())
}

/// Milliseconds, or `None`.
fn millis(latency: Option<Duration>) -> Option<f64> {
    latency.map(|l| l.as_secs_f64() * 1000.0)
}

/// A latency cell: milliseconds, or what prevented the percentile.
fn latency_cell(latency: Option<Duration>) -> String {
    millis(latency).map_or_else(|| "not reached".to_owned(), |ms| format!("{ms:.2} ms"))
}

/// Prints the table header of a bench's own output.
pub fn header(last_column: &str) {
    println!("| scenario | median | p99 | requests | {last_column} |");
    println!("|---|---|---|---|---|");
}

/// Reports a latency scenario: a Markdown row, and a JSON line under `key`.
pub fn report(key: &str, scenario: &str, outcome: &Outcome, last_cell: &str) {
    let (median, p99) = (outcome.percentile(0.5), outcome.percentile(0.99));
    println!(
        "| {scenario} | {} | {} | {} | {last_cell} |",
        latency_cell(median),
        latency_cell(p99),
        outcome.requests_cell()
    );
    record(key, scenario, outcome, None);
}

/// Reports a download scenario of `size` bytes per request: throughput at the median and at
/// the slowest download, and a JSON line under `key`.
pub fn report_download(key: &str, scenario: &str, size: usize, outcome: &Outcome, last_cell: &str) {
    let mib = size as f64 / f64::from(1 << 20);
    let rate = |latency: Option<Duration>| {
        latency.map_or_else(
            || "not reached".to_owned(),
            |l| format!("{:.0} MiB/s", mib / l.as_secs_f64()),
        )
    };
    println!(
        "| {scenario} | {} | {} (slowest) | {} | {last_cell} |",
        rate(outcome.percentile(0.5)),
        rate(outcome.percentile(1.0)),
        outcome.requests_cell()
    );
    record(key, scenario, outcome, Some(size));
}

/// Appends the JSON line of a scenario to the file named by [`RESULTS_ENV`], if any, and logs
/// the scenario's first failure on stderr.
fn record(key: &str, scenario: &str, outcome: &Outcome, body_bytes: Option<usize>) {
    if let Some(error) = &outcome.first_error {
        eprintln!("{scenario}: first error: {error}");
    }
    let Some(path) = std::env::var_os(RESULTS_ENV) else {
        return;
    };
    let line = serde_json::json!({
        "key": key,
        "scenario": scenario,
        "median_ms": millis(outcome.percentile(0.5)),
        "p99_ms": millis(outcome.percentile(0.99)),
        "slowest_ms": millis(outcome.percentile(1.0)),
        "requests": outcome.total(),
        "ok": outcome.ok(),
        "errors": outcome.errors,
        "timeouts": outcome.timeouts,
        "deadline_ms": DEADLINE.as_millis() as u64,
        "achieved_per_s": outcome.achieved_rate(),
        "body_bytes": body_bytes,
        "first_error": outcome.first_error,
    });
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("results file");
    writeln!(file, "{line}").expect("write results");
}
