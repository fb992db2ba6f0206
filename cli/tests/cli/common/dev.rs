//! `plexica -o json plugin dev` as a child process, its lines read as they come (the dev
//! test and the reload bench).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Sandbox;

/// A running `plexica -o json plugin dev`, its stdout lines parsed as they come.
pub struct Dev {
    child: Child,
    lines: Receiver<Value>,
    /// Every line read so far.
    pub seen: Vec<Value>,
}

impl Dev {
    /// Starts it in `dir` with `extra` flags.
    pub fn start(sandbox: &Sandbox, dir: &Path, extra: &[&str]) -> Self {
        let mut child = sandbox
            .plexica_process()
            .args(["-o", "json", "plugin", "dev"])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("plexica plugin dev starts");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                if send.send(value).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line of `kind` whose text holds `needle`, within `within`.
    pub fn wait_for(&mut self, kind: &str, needle: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line["kind"] == kind && line["text"].as_str().unwrap_or("").contains(needle)
                    {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no `{kind}` line with `{needle}`; seen: {:#?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "plugin dev ended ({:?}) before a `{kind}` line with `{needle}`; seen: {:#?}",
                    self.child.try_wait(),
                    self.seen
                ),
            }
        }
    }

    /// Ctrl-C; the exit status.
    pub fn interrupt(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "plugin dev still runs 60 s after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gateway URL and the token of the first `curl` line of the ready text.
pub fn curl_target(ready: &Value) -> (String, String) {
    let text = ready["text"].as_str().expect("text");
    let curl = text
        .lines()
        .find(|l| l.trim_start().starts_with("curl "))
        .unwrap_or_else(|| panic!("no curl line in {text}"));
    let token = curl
        .split("Bearer ")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a bearer token");
    let url = curl
        .rsplit('\'')
        .nth(1)
        .filter(|u| u.starts_with("http://"))
        .expect("a URL");
    (url.to_owned(), token.to_owned())
}

/// GET `url` with `token`, as a member of workspace `dev`; the JSON answer.
pub fn get(url: &str, token: &str) -> Value {
    let response = reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(token)
        .header("x-plexica-workspace", "dev")
        .send()
        .expect("the gateway answers");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().expect("JSON")
}

/// `npm ci` in `dir`: the frontend template's bundler, to build edited sources.
pub fn npm_ci(dir: &Path) {
    let installed = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(dir)
        .output()
        .expect("npm");
    assert!(
        installed.status.success(),
        "npm ci: {}",
        String::from_utf8_lossy(&installed.stderr)
    );
}

/// The URL of the remote entry the ready text's `frontend` line names.
pub fn frontend_entry(ready: &Value) -> String {
    let text = ready["text"].as_str().expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("frontend "))
        .unwrap_or_else(|| panic!("no frontend URL in {text}"))
        .to_owned()
}

/// The URL of the page's chunk that `remote` (the text of the remote entry at `entry`) names
/// now: its name follows its content, `assets/HomePage-<hash>.js`.
pub fn page_chunk(entry: &str, remote: &str) -> Option<String> {
    let at = remote.find("assets/HomePage-")?;
    let end = at + remote[at..].find(".js")? + 3;
    Some(entry.replace("remoteEntry.js", &remote[at..end]))
}
