//! `plexica events tail --tenant T [--type PATTERN]`: follows a tenant's committed events as
//! they happen, one line each (JSON Lines with `-o json`), until Ctrl-C or `--count` events.

use clap::Args;
use plexica_sdk::api::events::Event;
use plexica_sdk::event_name::check_event_pattern;

use crate::client::core::CoreClient;
use crate::error::{CliError, CliResult};
use crate::output::Ui;

/// How long one request waits for new events, seconds (the server's maximum is 30).
const WAIT_SECONDS: u64 = 25;

/// Arguments of `events tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// The tenant whose events to follow.
    #[arg(long)]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    tenant: String,
    /// Only events of this type or `prefix.*` pattern, e.g. `core.workspace.*`.
    #[arg(long = "type", value_name = "PATTERN")]
    event_type: Option<String>,
    /// Start with the tenant's oldest events instead of those committed from now on.
    #[arg(long)]
    from_start: bool,
    /// Stop after this many events (default: follow until Ctrl-C).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

/// One event for people: its time to the millisecond, type, workspace and id (the rest, the
/// correlation id and data included, is in `-o json`).
fn line(event: &Event) -> String {
    format!(
        "{}  {:<36}  {:<12}  {}",
        milliseconds(&event.time),
        event.r#type,
        event.workspace.as_deref().unwrap_or("-"),
        event.id,
    )
}

/// An RFC 3339 time with exactly three fractional digits, so that the lines align
/// (`…:06.1Z` → `…:06.100Z`, `…:06Z` → `…:06.000Z`).
fn milliseconds(time: &str) -> String {
    let Some(zone_at) = time
        .rfind(['Z', 'z', '+'])
        .filter(|i| *i > 10)
        .or_else(|| time.rfind('-').filter(|i| *i > 10))
    else {
        return time.to_owned();
    };
    let (clock, zone) = time.split_at(zone_at);
    let (seconds, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let digits: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(3)
        .collect();
    format!("{seconds}.{digits}{zone}")
}

/// Runs `events tail`.
pub fn run(args: TailArgs, client: &CoreClient, ui: &Ui) -> CliResult {
    if let Some(pattern) = &args.event_type {
        check_event_pattern(pattern)
            .map_err(|e| CliError::usage(format!("--type {pattern}: {}", e.message())))?;
    }
    let filter: Vec<(&str, String)> = args
        .event_type
        .iter()
        .map(|t| ("type", t.clone()))
        .collect();
    let mut cursor = if args.from_start {
        0
    } else {
        client.event_log(&args.tenant, &filter)?.cursor
    };
    ui.status(
        "Following",
        format!(
            "events of {}{} (Ctrl-C to stop)",
            args.tenant,
            args.event_type
                .as_deref()
                .map(|t| format!(" matching {t}"))
                .unwrap_or_default()
        ),
    );
    let mut shown = 0;
    loop {
        let mut query = filter.clone();
        query.push(("after", cursor.to_string()));
        query.push(("wait", WAIT_SECONDS.to_string()));
        let log = client.event_log(&args.tenant, &query)?;
        cursor = log.cursor;
        for event in &log.events {
            if args.count.is_some_and(|n| shown >= n) || !ui.record(event, || line(event)) {
                return Ok(());
            }
            shown += 1;
        }
        if args.count.is_some_and(|n| shown >= n) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_get_three_fractional_digits() {
        assert_eq!(
            milliseconds("2026-12-06T15:04:06.1Z"),
            "2026-12-06T15:04:06.100Z"
        );
        assert_eq!(
            milliseconds("2026-12-06T15:04:06.086Z"),
            "2026-12-06T15:04:06.086Z"
        );
        assert_eq!(
            milliseconds("2026-12-06T15:04:06Z"),
            "2026-12-06T15:04:06.000Z"
        );
        assert_eq!(
            milliseconds("2026-12-06T15:04:06.123456+01:00"),
            "2026-12-06T15:04:06.123+01:00"
        );
        assert_eq!(milliseconds("not a time"), "not a time");
    }
}
