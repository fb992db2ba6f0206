//! What the platform running in this process reports through `tracing`, as lines: calls to the
//! plugin through the gateway, its backend's starts (how long each took, for the reload's
//! split), its exits and restarts.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use plexica_core_api::gateway::GATEWAY_CALL_TARGET;
use plexica_core_api::plugins::runtime::PROCESS_STARTED_TARGET;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

use super::lines::{Kind, Lines};

/// Where the runtime's warnings about backends come from.
const RUNTIME_TARGET: &str = "plexica_core_api::plugins::runtime";

/// The last start time of the plugin's backend, in milliseconds, taken by the next reload.
#[derive(Debug, Clone, Default)]
pub struct LastStart(Arc<Mutex<Option<u64>>>);

impl LastStart {
    /// Takes the start recorded since the last call.
    pub fn take(&self) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn set(&self, ms: u64) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ms);
    }
}

/// Turns the platform's `tracing` events about `plugin` into lines.
struct PlatformLines {
    plugin: String,
    lines: Lines,
    last_start: LastStart,
}

/// Routes this process's `tracing` events about `plugin` to `lines`; the returned handle holds
/// its backend's last start time. Does nothing (but still returns a handle) when a
/// subscriber is already installed.
pub fn install(plugin: &str, lines: Lines) -> LastStart {
    let last_start = LastStart::default();
    let layer = PlatformLines {
        plugin: plugin.to_owned(),
        lines,
        last_start: last_start.clone(),
    };
    let targets = Targets::new()
        .with_target(GATEWAY_CALL_TARGET, Level::DEBUG)
        .with_target(PROCESS_STARTED_TARGET, Level::INFO)
        .with_target(RUNTIME_TARGET, Level::WARN);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(targets))
        .try_init();
    last_start
}

/// An event's fields, as text.
#[derive(Default)]
struct Fields(BTreeMap<&'static str, String>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for PlatformLines {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let target = event.metadata().target();
        if target == GATEWAY_CALL_TARGET {
            if fields.get("plugin") == self.plugin {
                self.lines.print(
                    Kind::Gateway,
                    &format!(
                        "{} {} → {} in {} ms",
                        fields.get("method"),
                        fields.get("path"),
                        fields.get("status"),
                        fields.get("ms")
                    ),
                );
            }
            return;
        }
        let label = fields.get("plugin");
        if label.split('@').next() != Some(self.plugin.as_str()) {
            return;
        }
        if target == PROCESS_STARTED_TARGET {
            let ms = fields.get("ms");
            if let Ok(ms) = ms.parse() {
                self.last_start.set(ms);
            }
            self.lines.print(
                Kind::Backend,
                &format!("{label} started in {ms} ms (healthy)"),
            );
        } else {
            let detail = [fields.get("status"), fields.get("reason")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            self.lines.print(
                Kind::Backend,
                &format!("{label}: {} {detail}", fields.get("message")),
            );
        }
    }
}
