//! What a plugin backend process may do, held by the kernel (security.md, "Plugin processes").
//!
//! Before the plugin's program is executed, the child restricts itself — irrevocably, for it
//! and everything it starts — with:
//! - a **Landlock** ruleset: read and execute its unpacked package and the system's libraries
//!   and certificates, read and write its own state directory, nothing else of the file
//!   system (the core's data directory, other plugins' files and tenants' databases
//!   included); bind no TCP port (it serves on a Unix socket in its state directory), or only
//!   its assigned one where a socket cannot be used; connect only to the core API's port
//!   and the outbound ports its manifest declares; no signal to, and no abstract Unix socket
//!   of, any process outside its sandbox (the core API among them);
//! - `no_new_privs` (set by Landlock's restriction), so that nothing it executes gains
//!   privileges;
//! - resource limits: address space, open files, CPU time, processes;
//! - `SIGKILL` when the core API that started it dies, however it died (no orphan keeps
//!   serving after a crash);
//! - with [`SandboxConfig::plugin_user`] (`--plugin-user`), another, unprivileged account:
//!   its uid and gid, no supplementary group (a core running as root otherwise lends plugins
//!   root's capabilities, which Landlock does not take away).
//!
//! Where the kernel cannot enforce the ruleset fully, the plugin is not started, unless the
//! operator allowed unsandboxed plugins ([`SandboxConfig::allow_unsandboxed`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use landlock::{
    ABI, Access, AccessFs, AccessNet, NetPort, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope,
};
use tokio::process::Command;

/// The Landlock ABI whose rights the sandbox asks for (network rules need 4, scopes 6).
const ABI_WANTED: ABI = ABI::V6;

/// System locations every program may read (and execute): libraries, interpreters,
/// certificates, name resolution, time zones. Missing ones are skipped.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/dev/urandom",
    "/dev/random",
];

/// Devices every program may write to.
const SYSTEM_WRITE: &[&str] = &["/dev/null", "/dev/zero"];

/// Resource limits of a plugin process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address space (`RLIMIT_AS`), bytes.
    pub address_space: u64,
    /// Open files (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// CPU time (`RLIMIT_CPU`), seconds over the process's life.
    pub cpu_seconds: u64,
    /// Processes and threads of its user (`RLIMIT_NPROC`; applied only under a plugin user of
    /// its own, and never enforced for root).
    pub processes: u64,
}

impl Default for Limits {
    /// 4 GiB of address space (a multi-threaded runtime reserves much it never touches),
    /// 1024 open files, 24 hours of CPU time, 4096 processes and threads of the plugin user.
    fn default() -> Self {
        Self {
            address_space: 4 << 30,
            open_files: 1024,
            cpu_seconds: 24 * 3600,
            processes: 4096,
        }
    }
}

impl Limits {
    /// These limits, each lowered to what the manifest asks for where it asks for less.
    pub fn lowered_by(self, asked: &plexica_sdk::manifest::BackendLimits) -> Self {
        let lower = |platform: u64, asked: Option<u64>| asked.map_or(platform, |a| a.min(platform));
        Self {
            address_space: lower(
                self.address_space,
                asked.memory_mb.map(|mb| mb.saturating_mul(1 << 20)),
            ),
            open_files: lower(self.open_files, asked.open_files),
            cpu_seconds: lower(self.cpu_seconds, asked.cpu_seconds),
            processes: lower(self.processes, asked.processes),
        }
    }
}

/// How plugin processes are confined (the operator's choices).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Start plugins even where the kernel cannot sandbox them (logged at every start).
    pub allow_unsandboxed: bool,
    /// Their resource limits.
    pub limits: Limits,
    /// The account they run as (`None`: the core's own).
    pub plugin_user: Option<PluginUser>,
}

impl SandboxConfig {
    /// Refuses a plugin user this process cannot switch to (only root can), and warns when a
    /// core running as root would run plugins as root.
    pub fn check_user(&self) -> Result<(), String> {
        let root = rustix::process::geteuid().is_root();
        match (self.plugin_user, root) {
            (Some(_), false) => Err("--plugin-user needs the core API to run as root: only \
                 root can start a process as another user"
                .to_owned()),
            (None, true) => {
                tracing::warn!(
                    "running as root: plugin backends run as root too, with root's \
                     capabilities; pass --plugin-user to run them as an unprivileged user"
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The unprivileged account plugin processes run as (`--plugin-user NAME|UID[:GID]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginUser {
    /// Its user id (never 0).
    pub uid: u32,
    /// Its group id (never 0).
    pub gid: u32,
}

impl PluginUser {
    /// Reads `NAME` (looked up in `passwd`, the text of `/etc/passwd`), `UID` (its group is the
    /// same number) or `UID:GID`; refuses root's ids.
    pub fn parse(text: &str, passwd: &str) -> Result<Self, String> {
        let number = |n: &str| n.parse::<u32>().ok();
        let user = match text.split_once(':') {
            Some((uid, gid)) => number(uid).zip(number(gid)),
            None => match number(text) {
                Some(uid) => Some((uid, uid)),
                None => passwd.lines().find_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    match fields.as_slice() {
                        [name, _, uid, gid, ..] if *name == text => number(uid).zip(number(gid)),
                        _ => None,
                    }
                }),
            },
        };
        let Some((uid, gid)) = user else {
            return Err(format!(
                "`{text}` is not a user of /etc/passwd, a uid or uid:gid"
            ));
        };
        if uid == 0 || gid == 0 {
            return Err(format!(
                "`{text}` is root's user or group; plugins must run unprivileged"
            ));
        }
        Ok(Self { uid, gid })
    }
}

impl std::str::FromStr for PluginUser {
    type Err = String;

    /// [`PluginUser::parse`] with this machine's `/etc/passwd`.
    fn from_str(text: &str) -> Result<Self, String> {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Self::parse(text, &passwd)
    }
}

/// What one plugin process may reach.
#[derive(Debug, Clone)]
pub struct Confinement {
    /// Its unpacked package (read and execute).
    pub package: PathBuf,
    /// Its state and working directory (read and write).
    pub state: PathBuf,
    /// The TCP port it serves on (bind), when it does not serve on a Unix socket.
    pub listen_port: Option<u16>,
    /// Ports it may connect to: the core API's and the outbound ports it declares.
    pub connect_ports: Vec<u16>,
}

/// The sandbox could not be prepared.
#[derive(Debug, thiserror::Error)]
#[error("cannot prepare the plugin sandbox: {0}")]
pub struct SandboxError(String);

impl Confinement {
    /// Makes `command` confine the process it starts: the ruleset is prepared here, in the
    /// parent, and only enforced in the child between `fork` and `exec` (system calls only).
    pub fn apply(&self, command: &mut Command, config: &SandboxConfig) -> Result<(), SandboxError> {
        let ruleset = self.ruleset()?;
        if let Some(user) = config.plugin_user {
            // Set before the closure below runs; dropping to a uid as root also drops the
            // supplementary groups.
            command.uid(user.uid).gid(user.gid);
        }
        let limits = config.limits;
        // The process limit counts every process of the user: only a user of its own is
        // held by it without starving the core (or a developer's session) of threads.
        let own_user = config.plugin_user.is_some();
        let allow_unsandboxed = config.allow_unsandboxed;
        let ruleset = Mutex::new(Some(ruleset));
        let parent = rustix::process::getpid();
        // SAFETY: the closure runs in the child after `fork`: it only takes the ruleset
        // prepared above (an uncontended lock) and makes system calls (prctl, getppid,
        // setrlimit, landlock_restrict_self); it allocates only to report an error.
        unsafe {
            command.pre_exec(move || {
                // A core API killed outright (SIGKILL, OOM) takes its plugins with it rather
                // than leaving orphans serving with its tokens; checked again in case it
                // died before the signal was asked for.
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::KILL,
                ))?;
                if rustix::process::getppid() != Some(parent) {
                    return Err(std::io::Error::other("the core API is gone"));
                }
                set_limits(limits, own_user)?;
                let taken = ruleset
                    .lock()
                    .map_err(|_| std::io::Error::other("sandbox lock"))?
                    .take();
                let Some(ruleset) = taken else {
                    return Err(std::io::Error::other("sandbox used twice"));
                };
                let status = ruleset.restrict_self().map_err(std::io::Error::other)?;
                if status.ruleset != RulesetStatus::FullyEnforced && !allow_unsandboxed {
                    return Err(std::io::Error::other(
                        "the kernel cannot enforce the plugin sandbox (Landlock ABI 6 or later \
                         is needed); pass --allow-unsandboxed-plugins to start plugins anyway",
                    ));
                }
                Ok(())
            });
        }
        Ok(())
    }

    fn ruleset(&self) -> Result<RulesetCreated, SandboxError> {
        let fail = |e: &dyn std::fmt::Display| SandboxError(e.to_string());
        let read = AccessFs::from_read(ABI_WANTED);
        let file_write = AccessFs::from_file(ABI_WANTED);
        let mut ruleset = Ruleset::default()
            .handle_access(AccessFs::from_all(ABI_WANTED))
            .and_then(|r| r.handle_access(AccessNet::from_all(ABI_WANTED)))
            .and_then(|r| r.scope(Scope::from_all(ABI_WANTED)))
            .and_then(Ruleset::create)
            .map_err(|e| fail(&e))?
            .no_new_privs(true);
        let mut rules: Vec<PathBeneath<PathFd>> = Vec::new();
        for (path, access) in std::iter::once((self.package.as_path(), read))
            .chain(SYSTEM_READ.iter().map(|p| (Path::new(*p), read)))
            .chain(SYSTEM_WRITE.iter().map(|p| (Path::new(*p), file_write)))
            .chain(std::iter::once((
                self.state.as_path(),
                AccessFs::from_all(ABI_WANTED),
            )))
        {
            if !path.exists() {
                continue;
            }
            let fd = PathFd::new(path).map_err(|e| fail(&e))?;
            // A file (not a directory) takes file rights only.
            let access = if path.is_dir() {
                access
            } else {
                access & AccessFs::from_file(ABI_WANTED)
            };
            rules.push(PathBeneath::new(fd, access));
        }
        ruleset = ruleset
            .add_rules(rules.into_iter().map(Ok::<_, landlock::RulesetError>))
            .map_err(|e| fail(&e))?;
        if let Some(port) = self.listen_port {
            ruleset = ruleset
                .add_rule(NetPort::new(port, AccessNet::BindTcp))
                .map_err(|e| fail(&e))?;
        }
        for port in &self.connect_ports {
            ruleset = ruleset
                .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
                .map_err(|e| fail(&e))?;
        }
        Ok(ruleset)
    }
}

/// Sets the process's resource limits (soft and hard: it cannot raise them again); the
/// process limit only when it runs as a user of its own (`own_user`).
fn set_limits(limits: Limits, own_user: bool) -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let processes = own_user.then_some((Resource::Nproc, limits.processes));
    for (resource, value) in [
        (Resource::As, limits.address_space),
        (Resource::Nofile, limits.open_files),
        (Resource::Cpu, limits.cpu_seconds),
    ]
    .into_iter()
    .chain(processes)
    {
        let limit = Rlimit {
            current: Some(value),
            maximum: Some(value),
        };
        setrlimit(resource, limit)?;
    }
    Ok(())
}

/// The range the kernel picks local ports from (`/proc/sys/net/ipv4/ip_local_port_range`,
/// 32768–60999 when unreadable): other plugins' backends listen there.
fn ephemeral_ports() -> std::ops::RangeInclusive<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut bounds = text.split_whitespace().map(str::parse::<u16>);
            Some(bounds.next()?.ok()?..=bounds.next()?.ok()?)
        })
        .unwrap_or(32768..=60999)
}

/// Why each of `declared` (a manifest's outbound ports) may not be granted, given the ports of
/// the platform's own services (`(port, what)`): a plugin never reaches the database, the
/// broker, the registry, or the ports other plugins' backends are given.
pub fn refused_outbound_ports(declared: &[u16], services: &[(u16, &str)]) -> Vec<String> {
    let ephemeral = ephemeral_ports();
    declared
        .iter()
        .filter_map(|port| {
            if let Some((_, what)) = services.iter().find(|(p, _)| p == port) {
                Some(format!("port {port} is the platform's {what}"))
            } else if ephemeral.contains(port) {
                Some(format!(
                    "port {port} is in the range local services are given ({}-{}): other \
                     plugins listen there",
                    ephemeral.start(),
                    ephemeral.end()
                ))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_users_are_names_uids_or_pairs_never_root() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n";
        let nobody = PluginUser {
            uid: 65534,
            gid: 65534,
        };
        assert_eq!(PluginUser::parse("nobody", passwd), Ok(nobody));
        assert_eq!(PluginUser::parse("65534", passwd), Ok(nobody));
        assert_eq!(
            PluginUser::parse("1000:100", passwd),
            Ok(PluginUser {
                uid: 1000,
                gid: 100
            })
        );
        for refused in ["root", "0", "1000:0", "0:100", "nosuchuser", "12:x", ""] {
            assert!(PluginUser::parse(refused, passwd).is_err(), "{refused}");
        }
    }
}
