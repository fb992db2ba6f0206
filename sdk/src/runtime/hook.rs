//! Lifecycle hooks: the registry of `#[hook]` functions and `POST /_plexica/hooks/{hook}`, where
//! the platform calls them when the plugin is installed in, uninstalled from, activated in or
//! deactivated in a tenant. Like every platform request, a call is verified before it gets here
//! (its signature covers the hook's path, so one hook's call is no good for another); a hook's
//! failure answers 500 so that the platform rolls the operation back.

use std::fmt;
use std::str::FromStr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::context::Context;
use super::handler::HandlerFuture;
use super::inbox::{Inbox, refuse};
use crate::api::events::HookCall;

/// A moment of the plugin's life in a tenant at which the platform calls the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// The plugin was installed in a tenant (its migrations have run).
    OnInstall,
    /// The plugin is being uninstalled from a tenant.
    OnUninstall,
    /// The plugin was activated in a tenant.
    OnActivate,
    /// The plugin was deactivated in a tenant.
    OnDeactivate,
}

impl Hook {
    /// Every hook.
    pub const ALL: [Self; 4] = [
        Self::OnInstall,
        Self::OnUninstall,
        Self::OnActivate,
        Self::OnDeactivate,
    ];

    /// The name written in `#[hook(…)]` and in the hook's path, e.g. `on_install`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnInstall => "on_install",
            Self::OnUninstall => "on_uninstall",
            Self::OnActivate => "on_activate",
            Self::OnDeactivate => "on_deactivate",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the [`Hook`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hook `{0}`; expected on_install, on_uninstall, on_activate or on_deactivate")]
pub struct UnknownHook(pub String);

impl FromStr for Hook {
    type Err = UnknownHook;

    fn from_str(name: &str) -> Result<Self, UnknownHook> {
        Self::ALL
            .into_iter()
            .find(|hook| hook.as_str() == name)
            .ok_or_else(|| UnknownHook(name.to_owned()))
    }
}

/// A type-erased hook: runs the `async fn` with the tenant's context.
pub type HookFn = fn(Context) -> HandlerFuture;

/// One `#[hook]`, as the macro registers it.
#[derive(Debug)]
pub struct HookRegistration {
    /// The hook it implements.
    pub hook: Hook,
    /// The function's name.
    pub name: &'static str,
    /// Runs the hook.
    pub invoke: HookFn,
}

inventory::collect!(HookRegistration);

/// Every hook registered with `#[hook]` in the running binary, in no set order.
pub fn hooks() -> impl Iterator<Item = &'static HookRegistration> {
    inventory::iter::<HookRegistration>.into_iter()
}

/// Hooks implemented by more than one function, as `(hook, function names sorted)`, sorted.
pub fn duplicate_hooks<'a>(
    registered: impl IntoIterator<Item = &'a HookRegistration>,
) -> Vec<(Hook, Vec<&'static str>)> {
    let mut by_hook = std::collections::BTreeMap::<Hook, Vec<&'static str>>::new();
    for registration in registered {
        by_hook
            .entry(registration.hook)
            .or_default()
            .push(registration.name);
    }
    by_hook
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(hook, mut names)| {
            names.sort_unstable();
            (hook, names)
        })
        .collect()
}

/// Runs the registered function of `hook`, if any, for `ctx`; `Ok(false)` when the plugin does
/// not implement it.
pub async fn run_hook(hook: Hook, ctx: Context) -> super::Result<bool> {
    match hooks().find(|h| h.hook == hook) {
        Some(registration) => ctx
            .clone()
            .scope((registration.invoke)(ctx))
            .await
            .map(|()| true),
        None => Ok(false),
    }
}

/// The handler of `POST /_plexica/hooks/{hook}`.
pub(crate) async fn receive_hook(
    State(inbox): State<Inbox>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let hook = match name.parse::<Hook>() {
        Ok(hook) => hook,
        Err(e) => return refuse(StatusCode::NOT_FOUND, "UNKNOWN_HOOK", e.to_string()),
    };
    let Ok(call) = serde_json::from_slice::<HookCall>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_HOOK_CALL",
            "the body is not a hook call ({\"tenant\": …})",
        );
    };
    let correlation_id = call
        .correlationid
        .unwrap_or_else(crate::api::events::new_event_id);
    let ctx =
        Context::new(call.tenant, None, call.actor, correlation_id).connected(inbox.core.clone());
    match run_hook(hook, ctx).await {
        Ok(ran) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": if ran { "done" } else { "not_implemented" } })),
        )
            .into_response(),
        Err(e) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "HOOK_FAILED",
            format!("{hook}: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_names_round_trip() {
        for hook in Hook::ALL {
            assert_eq!(hook.as_str().parse::<Hook>(), Ok(hook));
        }
        assert_eq!(
            "on_upgrade".parse::<Hook>(),
            Err(UnknownHook("on_upgrade".into()))
        );
    }
}
