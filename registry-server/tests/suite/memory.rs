//! The password endpoint under a flood, on the real `plexica-registry` binary: Argon2 (19 MiB a
//! hash) runs a few at a time, so 64 concurrent wrong logins leave the process's peak memory
//! bounded, whatever the rate limits let through.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

/// Peak resident memory allowed to the process, bytes.
const PEAK_BUDGET: u64 = 300 * 1024 * 1024;

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary with rate limits too high to matter, so that every login reaches Argon2.
fn start(data_dir: &std::path::Path, database_url: Option<&str>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plexica-registry"));
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args([
            "--password-account-rate-limit",
            "100000/s",
            "--password-address-rate-limit",
            "100000/s",
        ])
        .env(
            "PLEXICA_BOOTSTRAP_ADMIN_PASSWORD",
            "correct horse battery staple",
        )
        .env("PLEXICA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let mut child = command.spawn().expect("plexica-registry starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("listening on ").nth(1) {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the registry says where it listens");
    Server { child, url }
}

/// `VmHWM` of process `pid`: its peak resident memory, bytes.
fn peak_resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

async fn flood(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), database_url.as_deref());
    let http = reqwest::Client::new();
    for round in 0..3 {
        let attempts = (0..64).map(|i| {
            let http = http.clone();
            let url = format!("{}/api/v1/tokens", server.url);
            // Half name the admin, half nobody: both cost a full hash.
            let username = if i % 2 == 0 {
                "admin".to_owned()
            } else {
                format!("nobody-{round}-{i}")
            };
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({ "username": username, "password": "wrong password, again" }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        });
        for attempt in futures_util::future::join_all(attempts).await {
            assert_eq!(attempt.expect("task").expect("answer"), 401);
        }
    }
    let peak = peak_resident(server.child.id());
    eprintln!(
        "peak resident memory after 3 × 64 concurrent wrong logins: {} MiB",
        peak >> 20
    );
    assert!(
        peak < PEAK_BUDGET,
        "peak resident memory {} MiB exceeds {} MiB",
        peak >> 20,
        PEAK_BUDGET >> 20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_logins_keep_memory_bounded_on_sqlite() {
    flood(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_logins_keep_memory_bounded_on_postgres() {
    if let Some(url) = plexica_testkit::postgres_database("plexica_reg").await {
        flood(Some(url)).await;
    }
}
