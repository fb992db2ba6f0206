//! Threads that follow, over the core API, the plugin's backend log and the tenant's events
//! the plugin receives or emits, until told to stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use plexica_sdk::event_name::pattern_matches;

use super::lines::{Kind, Lines};
use crate::client::core::CoreClient;

/// How often the log is read again.
const LOG_POLL: Duration = Duration::from_millis(250);
/// How long a read of the event log waits for an event (short: a stop waits for it).
const EVENT_WAIT_SECONDS: &str = "2";
/// The pause after a failed read (the plugin is being reinstalled, the platform stops).
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// What the followers follow.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The tenant.
    pub tenant: String,
    /// The plugin.
    pub plugin: String,
    /// The event patterns it subscribes to.
    pub subscribes: Vec<String>,
}

/// Follows the backend's log: each new line is a [`Kind::Log`] line.
pub fn logs(
    client: Arc<CoreClient>,
    followed: Followed,
    lines: Lines,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let (tenant, plugin) = (followed.tenant.as_str(), followed.plugin.as_str());
        // What is already in the log was printed by an earlier session; a log that does not
        // exist yet will be this session's.
        let mut offset = client
            .plugin_log(tenant, plugin, &[("lines", "1".to_owned())])
            .map_or(0, |log| log.next_offset);
        while !stop.load(Ordering::Relaxed) {
            match client.plugin_log(tenant, plugin, &[("after", offset.to_string())]) {
                Ok(log) => {
                    for line in &log.lines {
                        lines.print(Kind::Log, line);
                    }
                    offset = log.next_offset;
                    std::thread::sleep(LOG_POLL);
                }
                Err(_) => std::thread::sleep(RETRY_PAUSE),
            }
        }
    })
}

/// Follows the tenant's events: those of a type the plugin subscribes to (`←`, received) and
/// those it emitted (`→`), each a [`Kind::Event`] line.
pub fn events(
    client: Arc<CoreClient>,
    followed: Followed,
    lines: Lines,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let source = format!("plugin/{}", followed.plugin);
        let mut cursor = None;
        while !stop.load(Ordering::Relaxed) {
            let mut query = vec![("wait", EVENT_WAIT_SECONDS.to_owned())];
            if let Some(after) = cursor {
                query.push(("after", u64::to_string(&after)));
            }
            match client.event_log(&followed.tenant, &query) {
                Ok(log) => {
                    for event in &log.events {
                        let arrow = if event.source == source {
                            "→"
                        } else if followed
                            .subscribes
                            .iter()
                            .any(|p| pattern_matches(p, &event.r#type))
                        {
                            "←"
                        } else {
                            continue;
                        };
                        let workspace = event
                            .workspace
                            .as_deref()
                            .map(|ws| format!(" (workspace {ws})"))
                            .unwrap_or_default();
                        lines.print(
                            Kind::Event,
                            &format!("{arrow} {} {}{workspace}", event.r#type, event.id),
                        );
                    }
                    cursor = Some(log.cursor);
                }
                Err(_) => std::thread::sleep(RETRY_PAUSE),
            }
        }
    })
}
