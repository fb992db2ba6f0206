//! Located diagnostics: what the manifest validator, the package reader, the registry and the
//! core API report about a plugin, in one shape (manifest.md, "How errors are shown").

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// How serious a diagnostic is. Only errors fail validation (warnings do under
/// `--deny-warnings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing; never fails unless warnings are denied.
    Warning,
    /// The manifest or package is rejected.
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// A byte range in a source file, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl From<Range<usize>> for Span {
    fn from(range: Range<usize>) -> Self {
        Self {
            start: range.start,
            end: range.end,
        }
    }
}

impl From<Span> for Range<usize> {
    fn from(span: Span) -> Self {
        span.start..span.end
    }
}

/// One problem, located in a file. Its JSON form is the documented output of
/// `plexica plugin validate -o json` and of the servers' `422` bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Stable code, e.g. `manifest::event-name`.
    pub code: String,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// File the span refers to, relative to the plugin directory.
    pub file: String,
    /// 1-based line of the span's start.
    pub line: usize,
    /// 1-based column (in characters) of the span's start.
    pub column: usize,
    /// Byte range in the file.
    pub span: Span,
    /// What to do about it, e.g. "did you mean `core.user.created`?".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    /// Is this an error (as opposed to a warning)?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}[{}]: {} ({}:{}:{})",
            self.severity, self.code, self.message, self.file, self.line, self.column
        )?;
        if let Some(help) = &self.help {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

/// A named source text that turns byte spans into located [`Diagnostic`]s.
#[derive(Debug, Clone)]
pub struct SourceFile<'a> {
    name: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceFile<'a> {
    /// Indexes `text`, known to users as `name`.
    pub fn new(name: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            name,
            text,
            line_starts,
        }
    }

    /// The file's name as shown to users.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        self.text
    }

    /// 1-based line and character column of byte `offset`.
    pub fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line.saturating_sub(1)];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(1, |prefix| prefix.chars().count() + 1);
        (line.max(1), column)
    }

    /// Builds a diagnostic at `span` of this file.
    pub fn diagnostic(
        &self,
        severity: Severity,
        code: &str,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        let (line, column) = self.locate(span.start);
        Diagnostic {
            code: code.to_owned(),
            severity,
            message: message.into(),
            file: self.name.to_owned(),
            line,
            column,
            span: span.into(),
            help,
        }
    }
}

/// The closest of `candidates` to `word`, if close enough to suggest ("did you mean …?").
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, c)| *score >= 0.8 && *c != word)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_character_columns() {
        let file = SourceFile::new("f", "ab\nçd = 1\n");
        assert_eq!(file.locate(0), (1, 1));
        assert_eq!(file.locate(3), (2, 1));
        assert_eq!(file.locate(5), (2, 2));
        assert_eq!(file.locate(100), (3, 1));
    }

    #[test]
    fn suggests_only_close_words() {
        assert_eq!(closest("usr", ["user", "tenant"]), Some("user"));
        assert_eq!(closest("zzzz", ["user", "tenant"]), None);
    }
}
