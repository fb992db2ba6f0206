//! Where things are printed (cli.md, "Output contract"): results on stdout, as text or one
//! JSON document; progress, prompts and diagnostics on stderr, only when wanted.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Output format of results on stdout (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text and tables.
    Table,
    /// One JSON document per command, for scripts.
    Json,
}

/// When to use colour on stderr (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stderr is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// What the global flags ask of the interface (`-o`, `-q`, `-v`, `--no-input`, `--yes`,
/// `--color`).
#[derive(Debug, Clone, Copy)]
pub struct UiOptions {
    /// Result format.
    pub format: OutputFormat,
    /// Print nothing but results and errors.
    pub quiet: bool,
    /// Print more about what is happening.
    pub verbose: bool,
    /// Never prompt.
    pub no_input: bool,
    /// Accept defaults and confirmations without asking.
    pub yes: bool,
    /// When to colour.
    pub color: ColorChoice,
}

/// The user interface of one invocation.
#[derive(Debug, Clone)]
pub struct Ui {
    /// Result format.
    pub format: OutputFormat,
    quiet: bool,
    verbose: bool,
    interactive: bool,
    /// Accept defaults without asking.
    pub yes: bool,
    color: bool,
    stderr_terminal: bool,
    results_muted: bool,
    /// The one spinner on screen, shared by the clones of this interface (steps of a command),
    /// so that there is never a second one and other lines are printed above it.
    active: Arc<Mutex<Option<ProgressBar>>>,
}

impl Ui {
    /// Derives the interface from the global flags and the process's terminals.
    pub fn new(global: &UiOptions) -> Self {
        let stderr_terminal = std::io::stderr().is_terminal();
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stderr_terminal && std::env::var_os("NO_COLOR").is_none(),
        };
        Self {
            format: global.format,
            quiet: global.quiet,
            verbose: global.verbose,
            interactive: !global.no_input && std::io::stdin().is_terminal() && stderr_terminal,
            yes: global.yes,
            color,
            stderr_terminal,
            results_muted: false,
            active: Arc::default(),
        }
    }

    /// The spinner on screen, if one is.
    fn active_spinner(&self) -> Option<ProgressBar> {
        self.active
            .lock()
            .ok()
            .and_then(|active| active.clone())
            .filter(|bar| !bar.is_finished() && !bar.is_hidden())
    }

    /// Prints `line` on stderr, above the spinner when one is on screen (it never leaves a
    /// frame behind).
    pub fn line_above(&self, line: &str) {
        match self.active_spinner() {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Whether a spinner is on screen (then a child's output is passed through
    /// [`Ui::line_above`] rather than written to the terminal directly).
    pub fn has_spinner(&self) -> bool {
        self.active_spinner().is_some()
    }

    /// Whether quiet was asked for (`-q`), to pass on to the tools a command runs.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    #[cfg(feature = "platform")]
    /// The interface for the steps of a composite command that prints one result of its own:
    /// the steps print nothing on stdout, and their status lines only in table mode.
    pub fn for_steps(&self) -> Ui {
        let mut steps = self.clone();
        steps.results_muted = true;
        steps.quiet |= self.json();
        steps
    }

    /// May the command prompt?
    pub fn interactive(&self) -> bool {
        self.interactive && !self.yes
    }

    /// May the command ask for an answer that has no default (which `--yes` cannot give)?
    pub fn can_prompt(&self) -> bool {
        self.interactive
    }

    /// Colour diagnostics on stderr?
    pub fn color(&self) -> bool {
        self.color
    }

    /// Is JSON output selected?
    pub fn json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Prints the result: `value` as JSON, or `text()` for people.
    pub fn result<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.results_muted {
            return;
        }
        let mut out = std::io::stdout().lock();
        let printed = match self.format {
            OutputFormat::Json => serde_json::to_string_pretty(value)
                .map(|json| writeln!(out, "{json}"))
                .unwrap_or_else(|e| writeln!(out, "{{\"error\":\"{e}\"}}")),
            OutputFormat::Table => {
                let text = text();
                if text.is_empty() {
                    Ok(())
                } else {
                    writeln!(out, "{}", text.trim_end())
                }
            }
        };
        // A closed stdout (e.g. `| head`) is not an error of the command.
        let _ = printed;
    }

    /// Prints one record of a stream (`events tail`): a line of compact JSON (JSON Lines), or
    /// `text()` for people; flushed at once so that pipes see it. Returns `false` once stdout is
    /// closed (e.g. `| head`), so that the stream can stop.
    pub fn record<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> bool {
        let mut out = std::io::stdout().lock();
        let line = match self.format {
            OutputFormat::Json => serde_json::to_string(value).unwrap_or_default(),
            OutputFormat::Table => text(),
        };
        writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
    }

    /// A status line for people on stderr (`Created …`), unless quiet or JSON.
    pub fn status(&self, verb: &str, message: impl AsRef<str>) {
        if self.quiet || self.json() {
            return;
        }
        if self.color {
            self.line_above(&format!("\x1b[1;32m{verb:>12}\x1b[0m {}", message.as_ref()));
        } else {
            self.line_above(&format!("{verb:>12} {}", message.as_ref()));
        }
    }

    /// A warning on stderr (`warning: …`), unless quiet.
    pub fn warn(&self, message: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        if self.color {
            self.line_above(&format!("\x1b[1;33mwarning\x1b[0m: {}", message.as_ref()));
        } else {
            self.line_above(&format!("warning: {}", message.as_ref()));
        }
    }

    /// Detail for `--verbose`.
    pub fn verbose(&self, message: impl AsRef<str>) {
        if self.verbose {
            self.line_above(message.as_ref());
        }
    }

    /// A spinner on stderr when it is a terminal; hidden otherwise, and hidden while another
    /// one is on screen (one progress line at a time: the outer step's).
    pub fn spinner(&self, message: impl Into<String>) -> ProgressBar {
        if !self.stderr_terminal || self.quiet || self.has_spinner() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Ok(mut active) = self.active.lock() {
            *active = Some(bar.clone());
        }
        bar
    }

    /// A byte-count progress bar on stderr when it is a terminal; hidden otherwise. Its length
    /// is set once known.
    pub fn transfer(&self, message: impl Into<String>) -> ProgressBar {
        if !self.stderr_terminal || self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.into());
        bar
    }
}

/// Formats a byte count for people.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A list of checks for people, one per line: `MARK NAME DETAIL`, names padded to `width`.
/// Marks are four characters (`ok  `, `warn`, `FAIL`, `skip`).
pub fn checklist<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    width: usize,
) -> String {
    rows.into_iter()
        .map(|(mark, name, detail)| format!("{mark} {name:<width$} {detail}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A plain-text table: a header row and aligned columns (the last one unpadded).
pub fn table<const N: usize>(
    headers: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> String {
    let rows: Vec<[String; N]> = rows.into_iter().collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod table_tests {
    #[test]
    fn columns_align() {
        let text = super::table(
            ["SLUG", "STATUS"],
            [
                ["acme".to_owned(), "ACTIVE".to_owned()],
                ["globex-corp".to_owned(), "SUSPENDED".to_owned()],
            ],
        );
        assert_eq!(
            text,
            "SLUG         STATUS\nacme         ACTIVE\nglobex-corp  SUSPENDED\n"
        );
    }
}
