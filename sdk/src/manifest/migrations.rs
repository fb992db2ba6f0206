//! Rules on the files of `backend.migrations`: names, order, and what the SQL may touch.
//!
//! The SQL is scanned, not executed: a small tokenizer finds the tables each statement creates,
//! alters, drops or indexes, and any schema-qualified name, which is enough to hold a plugin to
//! its own `<id>_…` tables in its tenant's data space.

use std::ops::Range;

use super::PluginFiles;
use super::reader::Reader;
use crate::diagnostic::{Severity, SourceFile};

/// Checks the migrations directory `dir` of plugin `plugin_id`.
pub(crate) fn check(
    r: &mut Reader<'_>,
    files: &dyn PluginFiles,
    dir: &str,
    plugin_id: &str,
    workspace_aware: bool,
) {
    let Some(mut names) = files.list(dir) else {
        if let Some(span) = r.spans.get("backend.migrations") {
            r.error(
                "manifest::migrations",
                span,
                format!("migrations directory `{dir}` does not exist"),
                Some("create it, or remove `migrations` from `[backend]`".into()),
            );
        }
        return;
    };
    names.sort();
    let prefix = format!("{}_", plugin_id.replace('-', "_"));
    let mut previous: Option<(u32, String)> = None;
    for name in names {
        let path = format!("{dir}/{name}");
        let Some(number) = migration_number(&name) else {
            r.at_manifest(
                "manifest::migration-name",
                format!("migration `{path}` is not named `NNNN_name.sql`"),
                Some("rename it, e.g. `0001_create_contacts.sql`".into()),
            );
            continue;
        };
        if let Some((prev, prev_name)) = &previous
            && number <= *prev
        {
            r.at_manifest(
                "manifest::migration-order",
                format!("migration `{path}` has number {number:04}, not above `{prev_name}`"),
                Some("give every migration its own, increasing number".into()),
            );
        }
        previous = Some((number, name.clone()));
        let Some(sql) = files.read(&path) else {
            r.at_manifest(
                "manifest::migrations",
                format!("migration `{path}` cannot be read as UTF-8 text"),
                None,
            );
            continue;
        };
        let source = SourceFile::new(&path, &sql);
        for problem in scan(&sql, &prefix, workspace_aware) {
            r.diagnostics.push(source.diagnostic(
                Severity::Error,
                problem.code,
                problem.span,
                problem.message,
                problem.help,
            ));
        }
    }
}

impl Reader<'_> {
    fn at_manifest(&mut self, code: &str, message: String, help: Option<String>) {
        let span = self.spans.get("backend.migrations").unwrap_or(0..0);
        self.error(code, span, message, help);
    }
}

/// `0001_name.sql` → 1.
fn migration_number(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".sql")?;
    let (digits, rest) = stem.split_at_checked(4)?;
    let rest = rest.strip_prefix('_')?;
    let valid_rest = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if digits.bytes().all(|b| b.is_ascii_digit()) && valid_rest {
        digits.parse().ok()
    } else {
        None
    }
}

/// One problem found in a migration's SQL.
struct SqlProblem {
    code: &'static str,
    span: Range<usize>,
    message: String,
    help: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Word(&'a str),
    Quoted(&'a str),
    Symbol(u8),
}

fn tokenize(sql: &str) -> Vec<(Token<'_>, Range<usize>)> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i += 2;
        } else if c == b'\'' || c == b'"' || c == b'`' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += 1;
            }
            let end = (i + 1).min(bytes.len());
            let inner = sql.get(start + 1..i.min(bytes.len())).unwrap_or_default();
            // String literals are values, not names: only quoted identifiers become tokens.
            if c != b'\'' {
                out.push((Token::Quoted(inner), start..end));
            }
            i = end;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            if let Some(word) = sql.get(start..i) {
                out.push((Token::Word(word), start..i));
            }
        } else {
            out.push((Token::Symbol(c), i..i + 1));
            i += 1;
        }
    }
    out
}

/// A possibly qualified name starting at token `i`: its parts, span, and the index after it.
fn qualified_name<'a>(
    tokens: &[(Token<'a>, Range<usize>)],
    mut i: usize,
) -> Option<(Vec<&'a str>, Range<usize>, usize)> {
    let mut parts = Vec::new();
    let start = tokens.get(i)?.1.start;
    let mut end;
    loop {
        match tokens.get(i)? {
            (Token::Word(w) | Token::Quoted(w), span) => {
                parts.push(*w);
                end = span.end;
            }
            _ => return None,
        }
        i += 1;
        match tokens.get(i) {
            Some((Token::Symbol(b'.'), _)) => i += 1,
            _ => return Some((parts, start..end, i)),
        }
    }
}

fn is_word(token: Option<&(Token<'_>, Range<usize>)>, word: &str) -> bool {
    matches!(token, Some((Token::Word(w), _)) if w.eq_ignore_ascii_case(word))
}

fn skip_words(tokens: &[(Token<'_>, Range<usize>)], mut i: usize, words: &[&str]) -> usize {
    while words.iter().any(|w| is_word(tokens.get(i), w)) {
        i += 1;
    }
    i
}

fn scan(sql: &str, prefix: &str, workspace_aware: bool) -> Vec<SqlProblem> {
    let tokens = tokenize(sql);
    let mut problems = Vec::new();
    let statements = tokens.split(|(t, _)| *t == Token::Symbol(b';'));
    for statement in statements {
        let Some((Token::Word(verb), _)) = statement.first().map(|(t, s)| (t.clone(), s)) else {
            continue;
        };
        let verb = verb.to_ascii_lowercase();
        let mut i = 1;
        let creates_table;
        match verb.as_str() {
            "create" => {
                i = skip_words(
                    statement,
                    i,
                    &["or", "replace", "temp", "temporary", "unlogged", "unique"],
                );
                if is_word(statement.get(i), "table") {
                    creates_table = true;
                    i = skip_words(statement, i + 1, &["if", "not", "exists"]);
                } else if is_word(statement.get(i), "index") {
                    creates_table = false;
                    // The index name is free; the table follows ON.
                    match statement.iter().position(
                        |(t, _)| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("on")),
                    ) {
                        Some(on) => i = skip_words(statement, on + 1, &["only"]),
                        None => continue,
                    }
                } else if is_word(statement.get(i), "schema") {
                    let span = statement.get(i).map_or(0..0, |(_, s)| s.clone());
                    problems.push(SqlProblem {
                        code: "manifest::migration-schema",
                        span,
                        message: "a plugin migration may not create schemas".into(),
                        help: Some("create tables in the tenant's data space instead".into()),
                    });
                    continue;
                } else {
                    continue;
                }
            }
            "alter" | "drop" => {
                if !is_word(statement.get(i), "table") {
                    continue;
                }
                creates_table = false;
                i = skip_words(statement, i + 1, &["if", "exists", "only"]);
            }
            "set" if is_word(statement.get(1), "search_path") => {
                problems.push(SqlProblem {
                    code: "manifest::migration-schema",
                    span: statement[0].1.start..statement[1].1.end,
                    message: "a plugin migration may not change `search_path`".into(),
                    help: None,
                });
                continue;
            }
            _ => continue,
        }
        let Some((parts, span, _)) = qualified_name(statement, i) else {
            continue;
        };
        if parts.len() > 1 {
            problems.push(SqlProblem {
                code: "manifest::migration-schema",
                span: span.clone(),
                message: format!("`{}` names another schema", parts.join(".")),
                help: Some(
                    "write the bare table name; migrations run in the tenant's data space".into(),
                ),
            });
        }
        let table = parts.last().copied().unwrap_or_default();
        if !table.starts_with(prefix) {
            problems.push(SqlProblem {
                code: "manifest::migration-table",
                span: span.clone(),
                message: format!("table `{table}` does not belong to this plugin"),
                help: Some(format!("plugin tables are named `{prefix}…`")),
            });
        }
        if creates_table
            && workspace_aware
            && !statement
                .iter()
                .any(|(t, _)| matches!(t, Token::Word(w) | Token::Quoted(w) if w.eq_ignore_ascii_case("workspace_id")))
        {
            problems.push(SqlProblem {
                code: "manifest::migration-workspace-id",
                span,
                message: format!("table `{table}` has no `workspace_id` column, and the plugin is workspace-aware"),
                help: Some("add `workspace_id TEXT NOT NULL`".into()),
            });
        }
    }
    for window in tokens.windows(3) {
        if let [
            (Token::Word(kw), _),
            (Token::Word(_) | Token::Quoted(_), _),
            (Token::Symbol(b'.'), _),
        ] = window
            && ["references", "from", "join", "into", "update"]
                .iter()
                .any(|k| kw.eq_ignore_ascii_case(k))
            && let Some((parts, span, _)) = qualified_name(&tokens, index_of(&tokens, &window[1].1))
            && parts.len() > 1
        {
            problems.push(SqlProblem {
                code: "manifest::migration-schema",
                span,
                message: format!("`{}` names another schema", parts.join(".")),
                help: Some("plugin migrations may only use their own tables".into()),
            });
        }
    }
    problems
}

fn index_of(tokens: &[(Token<'_>, Range<usize>)], span: &Range<usize>) -> usize {
    tokens
        .iter()
        .position(|(_, s)| s == span)
        .unwrap_or(tokens.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(sql: &str, workspace_aware: bool) -> Vec<&'static str> {
        scan(sql, "crm_", workspace_aware)
            .into_iter()
            .map(|p| p.code)
            .collect()
    }

    #[test]
    fn names_must_be_numbered() {
        assert_eq!(migration_number("0001_init.sql"), Some(1));
        assert_eq!(migration_number("0012_add_deals.sql"), Some(12));
        assert_eq!(migration_number("1_init.sql"), None);
        assert_eq!(migration_number("0001-init.sql"), None);
        assert_eq!(migration_number("0001_init.txt"), None);
        assert_eq!(migration_number("0001_.sql"), None);
    }

    #[test]
    fn own_tables_pass() {
        let sql = "-- comment with other_table\nCREATE TABLE IF NOT EXISTS crm_contacts (id TEXT, workspace_id TEXT);\n\
                   CREATE INDEX crm_contacts_ws ON crm_contacts (workspace_id);\nALTER TABLE crm_contacts ADD COLUMN name TEXT;";
        assert!(codes(sql, true).is_empty());
    }

    #[test]
    fn foreign_tables_schemas_and_missing_workspace_column_fail() {
        assert_eq!(
            codes("CREATE TABLE users (id TEXT);", false),
            ["manifest::migration-table"]
        );
        assert_eq!(
            codes("ALTER TABLE core_users ADD x INT;", false),
            ["manifest::migration-table"]
        );
        assert_eq!(
            codes("DROP TABLE IF EXISTS tenants;", false),
            ["manifest::migration-table"]
        );
        assert_eq!(
            codes("CREATE INDEX i ON users (id);", false),
            ["manifest::migration-table"]
        );
        assert_eq!(
            codes("CREATE TABLE public.crm_x (id TEXT);", false),
            ["manifest::migration-schema"]
        );
        assert_eq!(
            codes(
                "CREATE TABLE crm_x (id TEXT REFERENCES core.users(id));",
                false
            ),
            ["manifest::migration-schema"]
        );
        assert_eq!(
            codes("SET search_path TO other;", false),
            ["manifest::migration-schema"]
        );
        assert_eq!(
            codes("CREATE SCHEMA evil;", false),
            ["manifest::migration-schema"]
        );
        assert_eq!(
            codes("CREATE TABLE crm_x (id TEXT);", true),
            ["manifest::migration-workspace-id"]
        );
    }
}
