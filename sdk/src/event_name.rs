//! Event names and subscription patterns (manifest.md, "Event names").
//!
//! `core.<domain>.<action>` for platform events, `plugin.<plugin-id>.<entity>.<action>` for
//! plugin events; lowercase segments of `[a-z0-9_-]`. A subscription may end in `.*`.
//!
//! The checks are `const fn` so that `#[event_handler("…")]` rejects a malformed name at compile
//! time with exactly the rule the manifest validator applies at run time.

/// The domains a `core.` event may name.
pub const CORE_DOMAINS: &[&str] = &[
    "tenant",
    "user",
    "workspace",
    "team",
    "plugin",
    "auth",
    "data",
];

/// An event the platform emits. The core API emits only these, and a manifest's subscription
/// to a `core.` event that is not one of them is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoreEvent {
    /// `core.tenant.created`.
    TenantCreated,
    /// `core.tenant.updated`.
    TenantUpdated,
    /// `core.tenant.suspended`.
    TenantSuspended,
    /// `core.tenant.activated`.
    TenantActivated,
    /// `core.tenant.deleted`.
    TenantDeleted,
    /// `core.user.created`.
    UserCreated,
    /// `core.user.updated`.
    UserUpdated,
    /// `core.user.deleted`.
    UserDeleted,
    /// `core.workspace.created`.
    WorkspaceCreated,
    /// `core.workspace.updated`.
    WorkspaceUpdated,
    /// `core.workspace.deleted`.
    WorkspaceDeleted,
    /// `core.workspace.member.added`.
    WorkspaceMemberAdded,
    /// `core.workspace.member.role_updated`.
    WorkspaceMemberRoleUpdated,
    /// `core.workspace.member.removed`.
    WorkspaceMemberRemoved,
    /// `core.team.created`.
    TeamCreated,
    /// `core.plugin.installed`.
    PluginInstalled,
    /// `core.plugin.activated`.
    PluginActivated,
    /// `core.plugin.deactivated`.
    PluginDeactivated,
    /// `core.plugin.configured`.
    PluginConfigured,
    /// `core.plugin.upgraded`.
    PluginUpgraded,
    /// `core.plugin.uninstalled`.
    PluginUninstalled,
    /// `core.plugin.failed`: its backend could not be started or kept running.
    PluginFailed,
}

impl CoreEvent {
    /// Every core event, by domain.
    pub const ALL: [CoreEvent; 22] = [
        Self::TenantCreated,
        Self::TenantUpdated,
        Self::TenantSuspended,
        Self::TenantActivated,
        Self::TenantDeleted,
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserDeleted,
        Self::WorkspaceCreated,
        Self::WorkspaceUpdated,
        Self::WorkspaceDeleted,
        Self::WorkspaceMemberAdded,
        Self::WorkspaceMemberRoleUpdated,
        Self::WorkspaceMemberRemoved,
        Self::TeamCreated,
        Self::PluginInstalled,
        Self::PluginActivated,
        Self::PluginDeactivated,
        Self::PluginConfigured,
        Self::PluginUpgraded,
        Self::PluginUninstalled,
        Self::PluginFailed,
    ];

    /// Its event type, e.g. `core.workspace.created`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::TenantCreated => "core.tenant.created",
            Self::TenantUpdated => "core.tenant.updated",
            Self::TenantSuspended => "core.tenant.suspended",
            Self::TenantActivated => "core.tenant.activated",
            Self::TenantDeleted => "core.tenant.deleted",
            Self::UserCreated => "core.user.created",
            Self::UserUpdated => "core.user.updated",
            Self::UserDeleted => "core.user.deleted",
            Self::WorkspaceCreated => "core.workspace.created",
            Self::WorkspaceUpdated => "core.workspace.updated",
            Self::WorkspaceDeleted => "core.workspace.deleted",
            Self::WorkspaceMemberAdded => "core.workspace.member.added",
            Self::WorkspaceMemberRoleUpdated => "core.workspace.member.role_updated",
            Self::WorkspaceMemberRemoved => "core.workspace.member.removed",
            Self::TeamCreated => "core.team.created",
            Self::PluginInstalled => "core.plugin.installed",
            Self::PluginActivated => "core.plugin.activated",
            Self::PluginDeactivated => "core.plugin.deactivated",
            Self::PluginConfigured => "core.plugin.configured",
            Self::PluginUpgraded => "core.plugin.upgraded",
            Self::PluginUninstalled => "core.plugin.uninstalled",
            Self::PluginFailed => "core.plugin.failed",
        }
    }

    /// The core event called `name`, if the platform emits one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl std::fmt::Display for CoreEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Prefixes no plugin may claim for anything of its own.
pub const RESERVED_PREFIXES: &[&str] = &["core.", "plugin.", "dlq.", "__"];

/// Why an event name or pattern is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventNameError {
    /// A segment is empty or holds a character outside `[a-z0-9_-]`.
    BadSegment,
    /// The name starts with neither `core.` nor `plugin.`.
    UnknownNamespace,
    /// `core.<domain>.…` names a domain outside [`CORE_DOMAINS`].
    UnknownCoreDomain,
    /// Too few segments for the namespace.
    TooShort,
    /// A wildcard appears anywhere but as the whole last segment of a pattern.
    MisplacedWildcard,
}

impl EventNameError {
    /// A sentence saying what is wrong, without the offending name.
    pub const fn message(self) -> &'static str {
        match self {
            Self::BadSegment => {
                "event name segments must be non-empty and use only a-z, 0-9, `_` and `-`"
            }
            Self::UnknownNamespace => "event names start with `core.` or `plugin.`",
            Self::UnknownCoreDomain => {
                "not a known core event domain (tenant, user, workspace, team, plugin, auth, data)"
            }
            Self::TooShort => {
                "event names are `core.<domain>.<action>` or `plugin.<plugin-id>.<entity>.<action>`"
            }
            Self::MisplacedWildcard => "`*` may only be the whole last segment of a subscription",
        }
    }
}

impl std::fmt::Display for EventNameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for EventNameError {}

/// Checks a concrete event type such as `core.workspace.created`.
pub const fn check_event_name(name: &str) -> Result<(), EventNameError> {
    check(name.as_bytes(), false)
}

/// Checks a subscription: an event name, or a prefix followed by `.*`.
pub const fn check_event_pattern(pattern: &str) -> Result<(), EventNameError> {
    check(pattern.as_bytes(), true)
}

const fn check(name: &[u8], allow_wildcard: bool) -> Result<(), EventNameError> {
    let mut segments = 0usize;
    let mut start = 0usize;
    let mut i = 0usize;
    let mut namespace_plugin = false;
    let mut wildcard = false;
    while i <= name.len() {
        if i == name.len() || name[i] == b'.' {
            if wildcard {
                return Err(EventNameError::MisplacedWildcard);
            }
            let len = i - start;
            if len == 1 && name[start] == b'*' {
                if !allow_wildcard || i != name.len() || segments < 2 {
                    return Err(EventNameError::MisplacedWildcard);
                }
                wildcard = true;
            } else {
                if len == 0 {
                    return Err(EventNameError::BadSegment);
                }
                let mut j = start;
                while j < i {
                    let c = name[j];
                    if c == b'*' {
                        return Err(EventNameError::MisplacedWildcard);
                    }
                    if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-') {
                        return Err(EventNameError::BadSegment);
                    }
                    j += 1;
                }
                if segments == 0 {
                    if bytes_eq(name, start, i, b"plugin") {
                        namespace_plugin = true;
                    } else if !bytes_eq(name, start, i, b"core") {
                        return Err(EventNameError::UnknownNamespace);
                    }
                } else if segments == 1 && !namespace_plugin && !is_core_domain(name, start, i) {
                    return Err(EventNameError::UnknownCoreDomain);
                }
            }
            segments += 1;
            start = i + 1;
        }
        i += 1;
    }
    let min = if namespace_plugin { 4 } else { 3 };
    if !wildcard && segments < min {
        return Err(EventNameError::TooShort);
    }
    Ok(())
}

const fn is_core_domain(name: &[u8], start: usize, end: usize) -> bool {
    let mut d = 0;
    while d < CORE_DOMAINS.len() {
        if bytes_eq(name, start, end, CORE_DOMAINS[d].as_bytes()) {
            return true;
        }
        d += 1;
    }
    false
}

const fn bytes_eq(name: &[u8], start: usize, end: usize, word: &[u8]) -> bool {
    if end - start != word.len() {
        return false;
    }
    let mut k = 0;
    while k < word.len() {
        if name[start + k] != word[k] {
            return false;
        }
        k += 1;
    }
    true
}

/// Does the event type `name` match the subscription `pattern` (exact, or `prefix.*`)?
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.')),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(check_event_name("core.workspace.created"), Ok(()));
        assert_eq!(
            check_event_name("core.workspace.member.role_updated"),
            Ok(())
        );
        assert_eq!(check_event_name("plugin.crm.contact.created"), Ok(()));
        assert_eq!(check_event_pattern("plugin.billing.invoice.*"), Ok(()));
        assert_eq!(check_event_pattern("core.workspace.*"), Ok(()));
    }

    #[test]
    fn rejects_each_malformation() {
        use EventNameError::*;
        assert_eq!(check_event_name("core.usr.created"), Err(UnknownCoreDomain));
        assert_eq!(
            check_event_name("crm.contact.created"),
            Err(UnknownNamespace)
        );
        assert_eq!(check_event_name("core.user"), Err(TooShort));
        assert_eq!(check_event_name("plugin.crm.created"), Err(TooShort));
        assert_eq!(check_event_name("core.User.created"), Err(BadSegment));
        assert_eq!(check_event_name("core..created"), Err(BadSegment));
        assert_eq!(check_event_name("core.user.*"), Err(MisplacedWildcard));
        assert_eq!(
            check_event_pattern("core.*.created"),
            Err(MisplacedWildcard)
        );
        assert_eq!(check_event_pattern("core.*"), Err(MisplacedWildcard));
        assert_eq!(
            check_event_pattern("core.user.cre*"),
            Err(MisplacedWildcard)
        );
    }

    #[test]
    fn patterns_match_exact_names_and_deeper_prefixes() {
        assert!(pattern_matches("core.user.created", "core.user.created"));
        assert!(pattern_matches(
            "plugin.billing.invoice.*",
            "plugin.billing.invoice.paid"
        ));
        assert!(!pattern_matches(
            "plugin.billing.invoice.*",
            "plugin.billing.invoice"
        ));
        assert!(!pattern_matches(
            "plugin.billing.invoice.*",
            "plugin.billing.invoicex.paid"
        ));
    }
}
