//! How long `plexica plugin dev` takes from a saved edit to the new code answering, warm cache,
//! release `plexica`, plugins scaffolded in a temporary directory outside this checkout:
//!
//! - `rust-backend`: a one-line change in the `GET /hello` handler, until the gateway answers
//!   with the new value (split as `plugin dev` reports it: build, install, restart);
//! - `frontend`: a string changed in `ui/src/HomePage.jsx` (after `npm ci`), until the page's
//!   chunk the served remote entry names holds it.
//!
//! `cargo bench -p plexica-cli --bench dev_reload [-- frontend|rust-backend]` (runs:
//! `DEV_RELOAD_RUNS`, default 10).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

#[path = "../tests/cli/common/mod.rs"]
#[allow(dead_code)] // The bench uses a few of the tests' helpers.
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Sandbox;
use common::dev::{Dev, curl_target, frontend_entry, get, npm_ci, page_chunk};
use serde_json::Value;

const FIRST_BUILD: Duration = Duration::from_secs(1800);
const RELOAD: Duration = Duration::from_secs(120);
/// How often the answer is looked at.
const POLL: Duration = Duration::from_millis(10);

fn runs() -> usize {
    std::env::var("DEV_RELOAD_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(10)
}

/// Median and p99 (nearest rank) of `values`, in seconds.
fn summary(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
        values[index]
    };
    (rank(0.5), rank(0.99))
}

fn scaffold(sandbox: &Sandbox, template: &str, id: &str) -> std::path::PathBuf {
    sandbox
        .plexica()
        .args(["plugin", "new", id, "--template", template])
        .assert()
        .success();
    sandbox.work().join(id)
}

/// Replaces the `plugin` value of the handler's answer with `to`.
fn edit_handler(main: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(main).expect("read");
    let before = format!(r#"json!({{ "plugin": "{from}","#);
    let after = format!(r#"json!({{ "plugin": "{to}","#);
    assert!(text.contains(&before));
    std::fs::write(main, text.replacen(&before, &after, 1)).expect("write");
}

fn backend(runs: usize) {
    let sandbox = Sandbox::new();
    let dir = scaffold(&sandbox, "rust-backend", "hello");
    std::os::unix::fs::symlink(common::plugin_target(), dir.join("target"))
        .expect("share the build cache");
    let mut dev = Dev::start(&sandbox, &dir, &[]);
    dev.wait_for("reloaded", "hello 0.1.0", FIRST_BUILD);
    let (url, token) = curl_target(&dev.wait_for("ready", "watching", RELOAD));
    let main = dir.join("src/main.rs");
    let client = reqwest::blocking::Client::new();
    assert_eq!(get(&url, &token)["plugin"], "hello");
    let mut current = "hello".to_owned();
    let mut totals = Vec::new();
    let mut splits: Vec<Value> = Vec::new();
    // Run 0 warms the incremental cache after the first build; it is not counted.
    for run in 0..=runs {
        let next = format!("hello-{run}");
        let started = Instant::now();
        edit_handler(&main, &current, &next);
        loop {
            // While the backend restarts the gateway answers 503: keep looking.
            let answer = client
                .get(&url)
                .bearer_auth(&token)
                .header("x-plexica-workspace", "dev")
                .send()
                .ok()
                .filter(|r| r.status().is_success())
                .and_then(|r| r.json::<Value>().ok());
            if answer.is_some_and(|a| a["plugin"] == next.as_str()) {
                break;
            }
            assert!(started.elapsed() < RELOAD, "run {run} did not reload");
            std::thread::sleep(POLL);
        }
        let answered = started.elapsed().as_secs_f64();
        let reloaded = dev.wait_for("reloaded", "hello 0.1.0", RELOAD);
        if run > 0 {
            totals.push(answered);
            splits.push(reloaded["seconds"].clone());
        }
        current = next;
    }
    let part = |name: &str| {
        let mut values: Vec<f64> = splits.iter().filter_map(|s| s[name].as_f64()).collect();
        summary(&mut values)
    };
    let (build, install, restart) = (part("build"), part("install"), part("restart"));
    let total = summary(&mut totals);
    println!(
        "rust-backend, one-line handler change → new answer through the gateway ({runs} runs)"
    );
    println!(
        "  edit → answer  median {:.2} s  p99 {:.2} s",
        total.0, total.1
    );
    println!(
        "  build          median {:.2} s  p99 {:.2} s",
        build.0, build.1
    );
    println!(
        "  install        median {:.2} s  p99 {:.2} s",
        install.0, install.1
    );
    println!(
        "  restart        median {:.3} s  p99 {:.3} s",
        restart.0, restart.1
    );
    assert!(dev.interrupt().success());
}

fn frontend(runs: usize) {
    let sandbox = Sandbox::new();
    let dir = scaffold(&sandbox, "frontend", "pages");
    // Edited sources are built by the template's bundler, which comes from npm.
    npm_ci(&dir);
    let mut dev = Dev::start(&sandbox, &dir, &[]);
    let ready = dev.wait_for("ready", "watching", RELOAD);
    let entry = frontend_entry(&ready);
    let source = dir.join("ui/src/HomePage.jsx");
    let client = reqwest::blocking::Client::new();
    let get = |url: &str| {
        client
            .get(url)
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default()
    };
    // The page's chunk as the remote entry names it now (the name follows the content).
    let served_page = || {
        page_chunk(&entry, &get(&entry))
            .map(|url| get(&url))
            .unwrap_or_default()
    };
    let mut shown = "Asking the backend…".to_owned();
    let mut totals = Vec::new();
    for run in 0..=runs {
        let marker = format!("bench edit {run}");
        let text = std::fs::read_to_string(&source).expect("read");
        let started = Instant::now();
        std::fs::write(&source, text.replace(&shown, &marker)).expect("write");
        shown = marker;
        while !served_page().contains(&shown) {
            assert!(started.elapsed() < RELOAD, "run {run} was not served");
            std::thread::sleep(POLL);
        }
        if run > 0 {
            totals.push(started.elapsed().as_secs_f64());
        }
        dev.wait_for("reloaded", "frontend rebuilt", RELOAD);
    }
    let total = summary(&mut totals);
    println!(
        "frontend, one string in ui/src/HomePage.jsx → rebuilt by Vite and served ({runs} runs)"
    );
    println!(
        "  edit → served  median {:.3} s  p99 {:.3} s",
        total.0, total.1
    );
    assert!(dev.interrupt().success());
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: skip there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runs = runs();
    // `cargo bench --bench dev_reload -- frontend` (or `rust-backend`) runs one of them.
    let only: Vec<String> = std::env::args()
        .filter(|a| !a.starts_with('-'))
        .skip(1)
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wanted("frontend") {
        frontend(runs);
    }
    if wanted("rust-backend") {
        backend(runs);
    }
}
