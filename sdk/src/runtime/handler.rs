//! The registry of `#[event_handler]`s, its check against the manifest, and dispatch.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::context::Context;
use super::error::{Error, Result};
use super::event::Envelope;
use crate::event_name::pattern_matches;

/// The future a type-erased handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<()>> + Send + 'static>>;

/// A type-erased handler: decodes the whole envelope and runs the `async fn`.
pub type HandlerFn = fn(Context, Envelope) -> HandlerFuture;

/// One `#[event_handler]`, as the macro registers it.
#[derive(Debug)]
pub struct HandlerRegistration {
    /// The event type or `prefix.*` pattern the handler was declared for.
    pub event_type: &'static str,
    /// The function's name.
    pub name: &'static str,
    /// `retries = N` of the attribute, if given.
    pub retries: Option<u32>,
    /// `workspace = "required"`: only events that belong to a workspace reach the handler;
    /// others are skipped (they count as handled).
    pub workspace_required: bool,
    /// Runs the handler on an envelope.
    pub invoke: HandlerFn,
}

impl HandlerRegistration {
    /// Does this handler receive events of type `event_type`?
    pub fn handles(&self, event_type: &str) -> bool {
        pattern_matches(self.event_type, event_type)
    }
}

inventory::collect!(HandlerRegistration);

/// Every handler registered with `#[event_handler]` in the running binary, in no set order.
pub fn handlers() -> impl Iterator<Item = &'static HandlerRegistration> {
    inventory::iter::<HandlerRegistration>.into_iter()
}

/// A disagreement between the registered handlers and `events.subscribes`; sorts handlers first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mismatch {
    /// A handler's event type is covered by no subscription, so it would never be called.
    UndeclaredHandler {
        /// The handler function's name.
        handler: String,
        /// Its event type or pattern.
        event_type: String,
    },
    /// A subscription no handler covers entirely, so some deliveries would have no handler.
    UnhandledSubscription {
        /// The subscription as written in the manifest.
        subscription: String,
        /// The handlers whose event types overlap it only partly, as `name (type)`.
        partial: Vec<String>,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UndeclaredHandler {
                handler,
                event_type,
            } => write!(
                f,
                "handler `{handler}` handles `{event_type}`, which events.subscribes does not list; add it to events.subscribes"
            ),
            Self::UnhandledSubscription {
                subscription,
                partial,
            } if partial.is_empty() => write!(
                f,
                "events.subscribes lists `{subscription}`, but no #[event_handler(\"{subscription}\")] handles it"
            ),
            Self::UnhandledSubscription {
                subscription,
                partial,
            } => write!(
                f,
                "events.subscribes lists `{subscription}`, but the handlers for it ({}) cover only part of it; add #[event_handler(\"{subscription}\")] or subscribe to their types instead",
                partial.join(", ")
            ),
        }
    }
}

/// Checks handlers against `events.subscribes`: every handler's type must be covered by a
/// subscription (equal to it, or inside a `prefix.*` one), and every subscription must be covered
/// by one handler (equal to it, or a wider `prefix.*` handler). Returns every disagreement,
/// handlers first, each group sorted.
pub fn check_handlers<'a>(
    subscribes: &[String],
    handlers: impl IntoIterator<Item = &'a HandlerRegistration>,
) -> Vec<Mismatch> {
    let handlers: Vec<&HandlerRegistration> = handlers.into_iter().collect();
    let undeclared = handlers
        .iter()
        .filter(|h| !subscribes.iter().any(|s| covers(s, h.event_type)))
        .map(|h| Mismatch::UndeclaredHandler {
            handler: h.name.to_owned(),
            event_type: h.event_type.to_owned(),
        });
    let unhandled = subscribes
        .iter()
        .filter(|s| !handlers.iter().any(|h| covers(h.event_type, s)))
        .map(|s| {
            let mut partial: Vec<String> = handlers
                .iter()
                .filter(|h| covers(s, h.event_type))
                .map(|h| format!("{} ({})", h.name, h.event_type))
                .collect();
            partial.sort();
            Mismatch::UnhandledSubscription {
                subscription: s.clone(),
                partial,
            }
        });
    let mut mismatches: Vec<Mismatch> = undeclared.chain(unhandled).collect();
    mismatches.sort();
    mismatches
}

/// Does `wide` (a type or pattern) include every event of `narrow` (a type or pattern)?
fn covers(wide: &str, narrow: &str) -> bool {
    wide == narrow || pattern_matches(wide, narrow)
}

/// Runs, one after the other, every handler in `handlers` whose type matches the envelope's,
/// stopping at the first error. Fails with [`Error::NoHandler`] when none matches.
pub(crate) async fn dispatch<'a>(
    handlers: impl IntoIterator<Item = &'a HandlerRegistration>,
    ctx: Context,
    envelope: Envelope,
) -> Result<()> {
    dispatch_reporting(handlers, ctx, envelope)
        .await
        .map_err(|(error, _)| error)
}

/// [`dispatch`], and on failure the `retries` of the handler that failed (`None` when it set
/// none, or when no handler ran).
pub(crate) async fn dispatch_reporting<'a>(
    handlers: impl IntoIterator<Item = &'a HandlerRegistration>,
    ctx: Context,
    envelope: Envelope,
) -> std::result::Result<(), (Error, Option<u32>)> {
    let event_type = envelope
        .get("type")
        .and_then(serde_json::Value::as_str)
        .ok_or((Error::EnvelopeType, None))?
        .to_owned();
    let mut matched = false;
    for handler in handlers.into_iter().filter(|h| h.handles(&event_type)) {
        matched = true;
        if handler.workspace_required && ctx.workspace().is_none() {
            continue;
        }
        ctx.clone()
            .scope((handler.invoke)(ctx.clone(), envelope.clone()))
            .await
            .map_err(|error| (error, handler.retries))?;
    }
    if matched {
        Ok(())
    } else {
        Err((Error::NoHandler(event_type), None))
    }
}
