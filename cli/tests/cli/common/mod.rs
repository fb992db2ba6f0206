//! Helpers shared by the CLI tests: the real `plexica` binary in an isolated configuration.

// The slim CLI's tests (no `platform` feature) use only some of these helpers.
#![cfg_attr(not(feature = "platform"), allow(dead_code))]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

#[cfg(feature = "platform")]
pub mod dev;
#[cfg(feature = "platform")]
pub mod servers;
#[cfg(feature = "platform")]
pub mod up;

/// An isolated user: a temporary configuration directory and working directory.
pub struct Sandbox {
    /// Holds the temporary tree alive.
    pub root: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join("work")).expect("mkdir work");
        Self { root }
    }

    /// `PLEXICA_CONFIG_DIR` of this sandbox.
    pub fn config_dir(&self) -> PathBuf {
        self.root.path().join("config")
    }

    /// The working directory commands run in.
    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// `plexica` with this sandbox's configuration, no terminal, in the working directory.
    pub fn plexica(&self) -> Command {
        let mut cmd = Command::cargo_bin("plexica").expect("plexica binary");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PLEXICA_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("PLEXICA_CONFIG_DIR", self.config_dir())
            .env("NO_COLOR", "1")
            .current_dir(self.work())
            .write_stdin("");
        cmd
    }

    /// [`Sandbox::plexica`] as a `std` command, to spawn a long-running `plexica` and read
    /// its output as it comes.
    pub fn plexica_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("plexica"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PLEXICA_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("PLEXICA_CONFIG_DIR", self.config_dir())
            .env("NO_COLOR", "1")
            .current_dir(self.work())
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// `plexica ARGS` with this sandbox's configuration on a pseudo-terminal (prompts and
    /// progress shown as to a person), for rexpect to drive.
    pub fn on_a_terminal<S: AsRef<std::ffi::OsStr>>(
        &self,
        args: &[S],
    ) -> rexpect::session::PtySession {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("plexica"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PLEXICA_") {
                command.env_remove(key);
            }
        }
        command
            .args(args)
            .env("PLEXICA_CONFIG_DIR", self.config_dir())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm-256color")
            .current_dir(self.work());
        rexpect::session::spawn_command(command, Some(60_000)).expect("pty")
    }

    /// Runs `plexica` with `args`, expecting success; returns stdout parsed as JSON.
    pub fn json_ok<I, S>(&self, args: I) -> serde_json::Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let output = self.plexica().args(args).output().expect("plexica runs");
        assert!(
            output.status.success(),
            "plexica failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        json(&output)
    }

    /// Runs `plexica ARGS… PATH`, expecting success.
    pub fn ok_with(&self, args: &[&str], path: &Path) {
        self.plexica().args(args).arg(path).assert().success();
    }

    /// Runs `plexica -o json ARGS… PATH`, expecting success; returns stdout parsed as JSON.
    pub fn json_with(&self, args: &[&str], path: &Path) -> serde_json::Value {
        let output = self
            .plexica()
            .args(["-o", "json"])
            .args(args)
            .arg(path)
            .output()
            .expect("plexica runs");
        assert!(
            output.status.success(),
            "plexica failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        json(&output)
    }

    /// Logs the super admin in to the core API at `api_url` (password on stdin).
    pub fn login_admin(&self, api_url: &str, password: &str) {
        self.plexica()
            .args([
                "login",
                "--api-url",
                api_url,
                "--username",
                "admin",
                "--password-stdin",
            ])
            .write_stdin(password)
            .assert()
            .success();
    }

    /// Logs `user` in to the registry at `registry_url` (password on stdin).
    pub fn login_registry(&self, registry_url: &str, user: &str, password: &str) {
        self.plexica()
            .args([
                "login",
                "--registry-url",
                registry_url,
                "--username",
                user,
                "--password-stdin",
            ])
            .write_stdin(password)
            .assert()
            .success();
    }

    /// Runs `plexica plugin new` for a frontend plugin called `id`; returns its directory.
    pub fn new_frontend_plugin(&self, id: &str) -> PathBuf {
        self.plexica()
            .args(["plugin", "new", id, "--template", "frontend"])
            .assert()
            .success();
        self.work().join(id)
    }
}

impl Sandbox {
    /// Copies `examples/<id>` into the sandbox (without build output), pointing its SDK
    /// dependency at this checkout; returns the copy.
    pub fn copy_example(&self, id: &str) -> PathBuf {
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).expect("mkdir");
            for entry in std::fs::read_dir(from).expect("read example") {
                let entry = entry.expect("entry");
                let name = entry.file_name();
                if name == "target" || name == "node_modules" {
                    continue;
                }
                let path = entry.path();
                if path.is_dir() {
                    copy(&path, &to.join(&name));
                } else {
                    std::fs::copy(&path, to.join(&name)).expect("copy");
                }
            }
        }
        let dir = self.work().join(id);
        copy(&workspace_root().join("examples").join(id), &dir);
        let manifest = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).expect("Cargo.toml");
        let sdk = workspace_root().join("sdk");
        let text = text.replace(
            "path = \"../../sdk\"",
            &format!("path = {:?}", sdk.display().to_string()),
        );
        assert!(text.contains(&sdk.display().to_string()), "{text}");
        std::fs::write(&manifest, text).expect("write Cargo.toml");
        // The workspace's versions, so that the shared plugin target is reused.
        std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock");
        dir
    }
}

impl Sandbox {
    /// Builds the Rust plugin at `dir` in the shared [`plugin_target`] (a build cache), then
    /// `plexica plugin build` and `plexica plugin publish`.
    pub fn build_and_publish(&self, dir: &Path) {
        let link = dir.join("target");
        if !link.exists() {
            std::os::unix::fs::symlink(plugin_target(), link).expect("symlink");
        }
        for step in [&["plugin", "build"][..], &["plugin", "publish"][..]] {
            let output = self.plexica().args(step).arg(dir).output().expect("runs");
            assert!(
                output.status.success(),
                "{step:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

/// The target directory the tests that build Rust plugins share, so that the SDK and its
/// dependencies are built once (in release).
pub fn plugin_target() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-target");
    std::fs::create_dir_all(&dir).expect("create the shared plugin target");
    dir
}

/// Pids of processes whose command line contains `needle`.
pub fn pids_of(needle: &Path) -> Vec<String> {
    let output = std::process::Command::new("pgrep")
        .arg("-f")
        .arg(needle.as_os_str())
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The workspace root of this repository.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// Parses stdout as JSON.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Types `secret` at a hidden prompt once the program has turned echo off. The prompt's
/// text is written before echo goes off, and turning it off (`TCSAFLUSH`) throws away
/// whatever was typed ahead, so typing as soon as the prompt shows would sometimes be lost.
pub fn type_secret(session: &mut rexpect::session::PtySession, secret: &str) {
    let terminal = session.process().get_file_handle().expect("the pty");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mode = nix::sys::termios::tcgetattr(&terminal).expect("the pty's mode");
        if !mode
            .local_flags
            .contains(nix::sys::termios::LocalFlags::ECHO)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "echo never went off for the secret"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    session.send_line(secret).expect("types");
}
