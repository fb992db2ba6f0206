//! [`Context`]: who a handler runs for.

/// The tenant, workspace, actor and correlation id a handler or request runs for.
///
/// Cheap to clone. Handlers receive it by reference; tests build one with
/// [`testing::context`](super::testing::context) or
/// [`testing::ContextBuilder`](super::testing::ContextBuilder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    tenant: String,
    workspace: Option<String>,
    actor: Option<String>,
    correlation_id: String,
}

impl Context {
    /// A context for `tenant`, optionally scoped to a workspace and attributed to an actor.
    pub(crate) fn new(
        tenant: String,
        workspace: Option<String>,
        actor: Option<String>,
        correlation_id: String,
    ) -> Self {
        Self {
            tenant,
            workspace,
            actor,
            correlation_id,
        }
    }

    /// The tenant's slug, e.g. `acme`.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The workspace's slug, for workspace-scoped events and requests.
    pub fn workspace(&self) -> Option<&str> {
        self.workspace.as_deref()
    }

    /// The id of the user who caused the work, when a user did.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// The id shared by every event and call caused by the same original request.
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }
}
