//! `plexica up` as a child process: the real platform, on free ports, in a sandbox.

use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Sandbox;

/// A running `plexica up`, stopped with SIGINT on drop.
pub struct Platform {
    child: Child,
    /// The core API's URL.
    pub api_url: String,
}

impl Platform {
    /// Starts `plexica up` on free ports in `sandbox` (on PostgreSQL when `postgres` is given)
    /// and waits until it has written the `local` profile and logged it in.
    pub fn start(sandbox: &Sandbox, postgres: Option<&str>, nats: Option<&str>) -> Self {
        Self::start_with(sandbox, postgres, nats, &[])
    }

    /// [`Platform::start`] with more flags of `plexica up`.
    pub fn start_with(
        sandbox: &Sandbox,
        postgres: Option<&str>,
        nats: Option<&str>,
        flags: &[&str],
    ) -> Self {
        // Under the permissive umask of many shells: what the platform writes must be private
        // whatever the caller's umask.
        let mut command = StdCommand::new("sh");
        command
            .args(["-c", "umask 022 && exec \"$0\" \"$@\""])
            .arg(assert_cmd::cargo::cargo_bin("plexica"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PLEXICA_") {
                command.env_remove(key);
            }
        }
        command
            .env("PLEXICA_CONFIG_DIR", sandbox.config_dir())
            .current_dir(sandbox.work())
            .args([
                "-o",
                "json",
                "up",
                "--port-api",
                "0",
                "--port-registry",
                "0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = postgres {
            command.args(["--postgres", url]);
        }
        if let Some(url) = nats {
            command.args(["--nats", url]);
        }
        command.args(flags);
        let previous = local_api_url(sandbox);
        let mut platform = Self {
            child: command.spawn().expect("plexica up starts"),
            api_url: String::new(),
        };
        let credentials = sandbox.config_dir().join("credentials.toml");
        let deadline = Instant::now() + Duration::from_secs(60);
        // Ready once the profile names this run's API and a session for it is stored.
        loop {
            if let Some(url) = local_api_url(sandbox).filter(|u| Some(u) != previous.as_ref())
                && std::fs::read_to_string(&credentials)
                    .is_ok_and(|t| t.contains(&format!(".apis.\"{url}\"]")))
            {
                platform.api_url = url;
                return platform;
            }
            assert!(
                Instant::now() < deadline,
                "plexica up did not get ready in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops with SIGINT (Ctrl-C); returns `plexica up`'s stdout (the JSON result).
    pub fn stop(self) -> Value {
        self.stop_with_stderr().0
    }

    /// [`Platform::stop`], with everything `plexica up` wrote on stderr.
    pub fn stop_with_stderr(mut self) -> (Value, String) {
        let status = StdCommand::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "plexica up exits 0 after Ctrl-C: {status}"
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "plexica up did not stop after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = std::mem::replace(
            &mut self.child,
            StdCommand::new("true").spawn().expect("true"),
        )
        .wait_with_output()
        .expect("output");
        (
            serde_json::from_slice(&output.stdout).expect("up prints one JSON document"),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

impl Drop for Platform {
    /// Ctrl-C first, so that the plugins it runs stop with it; SIGKILL if it lingers.
    fn drop(&mut self) {
        let _ = StdCommand::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

/// The core API URL of the selected `local` profile, if that is the current one.
pub fn local_api_url(sandbox: &Sandbox) -> Option<String> {
    local_url(sandbox, "api-url")
}

/// The registry URL of the selected `local` profile, if that is the current one.
pub fn local_registry_url(sandbox: &Sandbox) -> Option<String> {
    local_url(sandbox, "registry-url")
}

fn local_url(sandbox: &Sandbox, key: &str) -> Option<String> {
    let config = std::fs::read_to_string(sandbox.config_dir().join("config.toml")).ok()?;
    let config: toml::Table = toml::from_str(&config).ok()?;
    (config.get("current-profile")?.as_str()? == "local").then_some(())?;
    Some(
        config
            .get("profiles")?
            .get("local")?
            .get(key)?
            .as_str()?
            .to_owned(),
    )
}
