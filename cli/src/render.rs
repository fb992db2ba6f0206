//! Renders located diagnostics the way rustc does (manifest.md, "How errors are shown").

use std::collections::BTreeMap;
use std::path::Path;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as Level};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use codespan_reporting::term::{self, Chars, Config};
use plexica_sdk::diagnostic::{Diagnostic, Severity};

/// Prints `diagnostics` to stderr. `sources` maps file names to their text; files missing from
/// it are read from `dir`.
pub fn print(
    diagnostics: &[Diagnostic],
    sources: &BTreeMap<String, String>,
    dir: &Path,
    color: bool,
) {
    let mut files = SimpleFiles::new();
    let mut ids = BTreeMap::new();
    for d in diagnostics {
        if ids.contains_key(&d.file) {
            continue;
        }
        let text = sources
            .get(&d.file)
            .cloned()
            .or_else(|| std::fs::read_to_string(dir.join(&d.file)).ok())
            .unwrap_or_default();
        ids.insert(d.file.clone(), files.add(d.file.clone(), text));
    }
    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    let choice = if color {
        ColorChoice::Always
    } else {
        ColorChoice::Never
    };
    let writer = StandardStream::stderr(choice);
    let mut lock = writer.lock();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
        };
        let Some(&file) = ids.get(&d.file) else {
            continue;
        };
        let label = Label::primary(file, d.span.start..d.span.end)
            .with_message(d.help.clone().unwrap_or_default());
        let report = Report::new(level)
            .with_code(d.code.clone())
            .with_message(d.message.clone())
            .with_labels(vec![label]);
        if term::emit_to_write_style(&mut lock, &config, &files, &report).is_err() {
            eprintln!("{d}");
        }
    }
}
