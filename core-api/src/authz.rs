//! Roles and permissions: the core API's permissions, the roles every tenant starts with,
//! how a permission list grants a permission, the cached permission sets of users, and a
//! caller's standing in a tenant and a workspace ([`TenantScope`], [`WorkspaceScope`]), which
//! the HTTP guard establishes before a handler runs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use plexica_sdk::api::core::WorkspaceRole;
use plexica_sdk::manifest::Manifest;

use crate::db::DbResult;
use crate::db::core::TenantRecord;
use crate::db::tenant::{TenantDb, WorkspaceRecord};
use crate::slug::TenantSlug;

/// Every permission of the core API (plugins add their own at install).
pub const PERMISSIONS: [&str; 10] = [
    "users:read",
    "users:write",
    "roles:read",
    "roles:write",
    "workspaces:read",
    "workspaces:write",
    "workspaces:admin",
    "plugins:read",
    "plugins:write",
    "events:read",
];

/// What the platform's super admin needs (on top of being the super admin) for platform routes.
pub const PLATFORM_ADMIN: &str = "platform:admin";

/// The roles created in every tenant at provisioning: `(name, permissions)`.
pub const BUILTIN_ROLES: [(&str, &[&str]); 3] = [
    ("admin", &["*"]),
    (
        "member",
        &[
            "users:read",
            "roles:read",
            "workspaces:read",
            "workspaces:write",
            "plugins:read",
        ],
    ),
    ("guest", &["workspaces:read"]),
];

/// Does the permission list `held` grant `wanted`? `*` grants everything, `res:*` every
/// action on `res`.
pub fn grants<S: AsRef<str>>(held: &[S], wanted: &str) -> bool {
    let resource = wanted.split_once(':').map_or(wanted, |(r, _)| r);
    held.iter().any(|p| {
        let p = p.as_ref();
        p == "*" || p == wanted || p.strip_suffix(":*").is_some_and(|r| r == resource)
    })
}

/// Is `text` a permission string `resource:action` (or `*`, `resource:*`)?
pub fn is_permission(text: &str) -> bool {
    fn part(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    }
    text == "*"
        || text
            .split_once(':')
            .is_some_and(|(r, a)| part(r) && (a == "*" || part(a)))
}

/// A user's roles and permissions in one tenant.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    /// Role names.
    pub roles: Vec<String>,
    /// Permission strings.
    pub permissions: Vec<String>,
}

impl Permissions {
    /// Everything (the super admin).
    pub fn all() -> Self {
        Self {
            roles: vec!["super_admin".into()],
            permissions: vec!["*".into()],
        }
    }

    /// Does the set grant `permission`?
    pub fn grants(&self, permission: &str) -> bool {
        grants(&self.permissions, permission)
    }
}

/// A cached permission set and when it was loaded.
#[derive(Debug)]
struct Cached {
    set: Arc<Permissions>,
    loaded: Instant,
}

/// Permission sets by tenant, then user, kept for `ttl` and dropped at once on any change made
/// through this process (other replicas see changes within `ttl`). Lookups borrow the keys:
/// a hot check allocates nothing.
#[derive(Debug)]
pub struct PermissionCache {
    ttl: Duration,
    tenants: RwLock<HashMap<String, HashMap<String, Cached>>>,
}

impl PermissionCache {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            tenants: RwLock::default(),
        }
    }

    /// The cached set of `user` in `tenant`, if fresh.
    pub fn cached(&self, tenant: &str, user: &str) -> Option<Arc<Permissions>> {
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tenants
            .get(tenant)?
            .get(user)
            .filter(|c| c.loaded.elapsed() < self.ttl)
            .map(|c| Arc::clone(&c.set))
    }

    /// Remembers the set of `user` in `tenant`.
    pub fn insert(&self, tenant: &str, user: &str, permissions: Permissions) -> Arc<Permissions> {
        let set = Arc::new(permissions);
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tenants.len() > 10_000 {
            tenants.clear();
        }
        let users = tenants.entry(tenant.to_owned()).or_default();
        if users.len() > 100_000 {
            users.clear();
        }
        users.insert(
            user.to_owned(),
            Cached {
                set: Arc::clone(&set),
                loaded: Instant::now(),
            },
        );
        set
    }

    /// Forgets `user` of `tenant`.
    pub fn invalidate_user(&self, tenant: &str, user: &str) {
        if let Some(users) = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(tenant)
        {
            users.remove(user);
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Forgets everyone of `tenant` (a role changed).
    pub fn invalidate_tenant(&self, tenant: &str) {
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(tenant);
    }

    /// The set of `user` in `tenant`, from the cache or else from `db`.
    pub async fn get(&self, tenant: &str, user: &str, db: &TenantDb) -> DbResult<Arc<Permissions>> {
        if let Some(p) = self.cached(tenant, user) {
            return Ok(p);
        }
        let (roles, permissions) = db.user_permissions(user).await?;
        Ok(self.insert(tenant, user, Permissions { roles, permissions }))
    }
}

/// The tenant of the path and the caller's standing in it.
#[derive(Debug, Clone)]
pub struct TenantScope {
    /// Its row.
    pub tenant: TenantRecord,
    /// Its validated slug.
    pub slug: TenantSlug,
    /// Its data.
    pub db: TenantDb,
    /// The caller's roles and permissions in it.
    pub permissions: Arc<Permissions>,
    /// What the caller's credential is limited to: an API token's scopes (`None`: a session,
    /// limited to nothing but the roles; an install: no user permission at all).
    pub credential_scopes: Option<Arc<[String]>>,
}

impl TenantScope {
    /// Does the caller hold `permission` here: its roles grant it, and its credential (an API
    /// token's scopes) allows it. Every grant path asks this, so no one hands out what the
    /// credential they act with does not carry.
    pub fn allows(&self, permission: &str) -> bool {
        self.permissions.grants(permission)
            && self
                .credential_scopes
                .as_deref()
                .is_none_or(|scopes| grants(scopes, permission))
    }

    /// The first of `held` — what another user or a role holds — that the caller does not
    /// ([`TenantScope::allows`]; `*` and `res:*` only by holding them).
    pub fn first_not_allowed<'a>(&self, held: &'a [String]) -> Option<&'a str> {
        held.iter().map(String::as_str).find(|p| !self.allows(p))
    }

    /// Workspace `slug` as user `user_id` sees it, with the user's effective role there
    /// (whoever may administer the tenant's workspaces: `admin`); `None` when there is no
    /// such workspace or the user is not one of its members.
    pub async fn workspace_of(
        &self,
        slug: &str,
        user_id: &str,
    ) -> DbResult<Option<WorkspaceScope>> {
        let Some(workspace) = self.db.workspace(slug, user_id).await? else {
            return Ok(None);
        };
        let role = match self.allows("workspaces:admin") {
            true => Some(WorkspaceRole::Admin),
            false => workspace.role,
        };
        Ok(role.map(|role| WorkspaceScope { workspace, role }))
    }

    /// Does the caller hold plugin permission `permission` (of the plugin whose manifest is
    /// `manifest`) where its workspace role is `role`: a tenant role grants it, or the plugin
    /// gives it by default to that role (`default-role`, or any role above)? The credential's
    /// scopes bound both.
    pub fn holds_plugin_permission(
        &self,
        manifest: &Manifest,
        permission: &str,
        role: Option<WorkspaceRole>,
    ) -> bool {
        let credential_allows = self
            .credential_scopes
            .as_deref()
            .is_none_or(|scopes| grants(scopes, permission));
        credential_allows
            && (self.permissions.grants(permission)
                || default_role(manifest, permission)
                    .zip(role)
                    .is_some_and(|(needed, role)| role >= needed))
    }
}

/// The workspace role a plugin permission is granted from (`default-role`), if any.
pub fn default_role(manifest: &Manifest, permission: &str) -> Option<WorkspaceRole> {
    use plexica_sdk::manifest::WorkspaceRole as M;
    let p = manifest.permissions.iter().find(|p| p.key == permission)?;
    Some(match p.default_role? {
        M::Admin => WorkspaceRole::Admin,
        M::Member => WorkspaceRole::Member,
        M::Viewer => WorkspaceRole::Viewer,
    })
}

/// The workspace of the path and the caller's effective role in it.
#[derive(Debug, Clone)]
pub struct WorkspaceScope {
    /// Its row (with the caller's membership role, if a member).
    pub workspace: WorkspaceRecord,
    /// The caller's effective role (tenant admins and the super admin: `admin`).
    pub role: WorkspaceRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_wildcards() {
        assert!(grants(&["*"], "users:read"));
        assert!(grants(&["users:*"], "users:write"));
        assert!(!grants(&["users:*"], "workspaces:read"));
        assert!(grants(&["users:read"], "users:read"));
        assert!(!grants(&["users:read"], "users:write"));
        assert!(!grants::<&str>(&[], "users:read"));
    }

    #[test]
    fn permission_strings() {
        for ok in ["*", "users:read", "crm:*", "contacts:read", "a-b.c:x_y"] {
            assert!(is_permission(ok), "{ok}");
        }
        for bad in [
            "",
            "users",
            ":read",
            "users:",
            "Users:read",
            "a:b:c",
            "a b:c",
        ] {
            assert!(!is_permission(bad), "{bad}");
        }
    }
}
