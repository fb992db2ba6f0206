//! Real-browser tests: Debian's Chromium driven by `playwright-core` (which downloads no
//! browser) from the Node scripts in `testkit/browser/`, with axe-core for accessibility.
//! `.ci/run` installs all three; elsewhere a missing piece skips the test with one line, and
//! under `CI=true` fails it.

use std::path::PathBuf;
use std::process::Command;

/// `testkit/browser/`: the scripts and their `node_modules`.
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Where a test's screenshots go: `target/screenshots/<name>/` (under `CARGO_TARGET_DIR` when
/// set), created.
pub fn screenshots_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("screenshots").join(name);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The Chromium to drive: `PLEXICA_TEST_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> Option<PathBuf> {
    std::env::var_os("PLEXICA_TEST_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")))
        .filter(|p| p.exists())
}

/// What a browser test needs and does not have here, if anything.
fn missing() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node".into());
    }
    if chromium().is_none() {
        return Some("chromium (apt-get install chromium)".into());
    }
    for module in ["playwright-core", "axe-core"] {
        if !scripts_dir().join("node_modules").join(module).exists() {
            return Some(format!("{module} (npm ci --prefix testkit/browser)"));
        }
    }
    None
}

/// Runs `testkit/browser/<script>` with `env` (plus `CHROMIUM`), and returns its standard
/// output, or `None` when this machine cannot run browser tests (outside CI). Panics with
/// the script's output when it fails.
pub fn run(script: &str, env: &[(&str, &str)]) -> Option<String> {
    if let Some(what) = missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "browser test needs {what}; .ci/run installs it"
        );
        eprintln!("skipping browser test: {what} is missing");
        return None;
    }
    let chromium = chromium()?;
    let output = Command::new("node")
        .arg(scripts_dir().join(script))
        .current_dir(scripts_dir())
        .env("CHROMIUM", chromium)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    Some(stdout)
}
