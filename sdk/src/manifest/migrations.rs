//! Rules on the files of `backend.migrations`: names, order, and what the SQL may touch.
//!
//! The SQL is parsed, not executed (`sqlparser`, as SQLite and as PostgreSQL read it, which
//! must agree): a migration may create, alter, index, drop and fill only tables named `<id>_…`,
//! never name a schema, and use no other kind of statement (views, triggers, functions,
//! `ATTACH`, `PRAGMA`, `SET`, grants…). The same check runs in `plexica plugin validate` and at
//! install, in time linear in the file, which is capped in size and statements. It explains
//! problems early; the boundary is the database itself (the core API runs plugin SQL under
//! SQLite's authorizer or the plugin's own PostgreSQL role).

use std::ops::{ControlFlow, Range};

use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, ObjectName, ObjectType, Query,
    RenameTableNameKind, Spanned, Statement, TableConstraint, Visit, Visitor,
};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

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

/// Largest migration file checked (and installed): bigger ones are refused unread.
pub const MAX_MIGRATION_BYTES: usize = 16 * 1024 * 1024;

/// Most statements one migration file may hold.
pub const MAX_MIGRATION_STATEMENTS: usize = 100_000;

/// `sql` as SQLite and as PostgreSQL read it, and what keeps the two from agreeing.
struct Parsed {
    /// Every statement either database would run (both readings when they differ).
    statements: Vec<Statement>,
    /// Why the file is not one plain SQL text both databases read the same way.
    disagreement: Option<String>,
}

/// Parses `sql` as SQLite and as PostgreSQL read it. A file the two would read differently —
/// other tokens (comments nest in PostgreSQL and not in SQLite, `$$` quotes a string in one
/// and not the other …) or, then, other statements — is refused: what the checker sees must be
/// what every database runs. When the tokens agree, one parse of them gives the statements
/// (both tokenizers run side by side, so a large file costs about one parse); when they do
/// not, whatever either reading gives is checked, so a statement one of them would hide is
/// still reported.
fn parse(sql: &str) -> Result<Parsed, String> {
    let (sqlite, postgres) = std::thread::scope(|scope| {
        let postgres = scope.spawn(|| tokens(&PostgreSqlDialect {}, sql));
        let sqlite = tokens(&SQLiteDialect {}, sql);
        let postgres = postgres
            .join()
            .unwrap_or_else(|_| Err("the PostgreSQL reading failed".into()));
        (sqlite, postgres)
    });
    let same = match (&sqlite, &postgres) {
        (Ok(a), Ok(b)) => {
            let significant = |t: &&TokenWithSpan| !matches!(t.token, Token::Whitespace(_));
            a.iter()
                .filter(significant)
                .eq(b.iter().filter(significant))
        }
        _ => false,
    };
    if same && let Ok(tokens) = sqlite {
        let statements = Parser::new(&SQLiteDialect {})
            .with_tokens_with_locations(tokens)
            .parse_statements()
            .map_err(|e| e.to_string())?;
        return Ok(Parsed {
            statements,
            disagreement: None,
        });
    }
    let sqlite = Parser::parse_sql(&SQLiteDialect {}, sql);
    let postgres = Parser::parse_sql(&PostgreSqlDialect {}, sql);
    Ok(match (sqlite, postgres) {
        (Err(e), Err(_)) => return Err(e.to_string()),
        (Ok(statements), Err(e)) => Parsed {
            statements,
            disagreement: Some(format!("PostgreSQL cannot read it: {e}")),
        },
        (Err(e), Ok(statements)) => Parsed {
            statements,
            disagreement: Some(format!("SQLite cannot read it: {e}")),
        },
        (Ok(mut sqlite), Ok(postgres)) => {
            let disagreement = format!(
                "they split it into other tokens (SQLite reads {} statements, PostgreSQL {}): \
                 nested comments, quoting or syntax one of them does not share",
                sqlite.len(),
                postgres.len()
            );
            sqlite.extend(postgres);
            Parsed {
                statements: sqlite,
                disagreement: Some(disagreement),
            }
        }
    })
}

/// The tokens of `sql` in `dialect`, with their places.
fn tokens(dialect: &dyn Dialect, sql: &str) -> Result<Vec<TokenWithSpan>, String> {
    Tokenizer::new(dialect, sql)
        .tokenize_with_location()
        .map_err(|e| e.to_string())
}

/// Where each line of a text starts, so that parser positions become byte offsets without
/// scanning the text again (a migration of many statements stays linear to check).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    /// The byte offset of a 1-based line and column (in characters).
    fn offset(&self, line: u64, column: u64) -> usize {
        let Some(&line_start) = usize::try_from(line.saturating_sub(1))
            .ok()
            .and_then(|i| self.starts.get(i))
        else {
            return self.text.len();
        };
        let rest = self.text.get(line_start..).unwrap_or_default();
        let column = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
        line_start
            + rest
                .char_indices()
                .nth(column)
                .map_or(rest.len(), |(i, _)| i)
    }

    /// The bytes `node` was parsed from (empty at 0 when unknown).
    fn span(&self, node: &impl Spanned) -> Range<usize> {
        let span = node.span();
        if span.start.line == 0 {
            return 0..0;
        }
        let start = self.offset(span.start.line, span.start.column);
        let end = self.offset(span.end.line, span.end.column).max(start);
        start..end
    }
}

/// What one statement is checked for, collecting problems without repeating one.
struct StatementCheck<'a> {
    lines: &'a Lines<'a>,
    prefix: &'a str,
    /// Names the statement defines for itself (`WITH name AS …`).
    local: Vec<String>,
    problems: Vec<SqlProblem>,
}

impl StatementCheck<'_> {
    fn push(&mut self, problem: SqlProblem) {
        let seen = self
            .problems
            .iter()
            .any(|p| p.code == problem.code && p.message == problem.message);
        if !seen {
            self.problems.push(problem);
        }
    }

    /// `name` must be a bare name of one of the plugin's tables (or of the statement's own
    /// common table expressions).
    fn own_table(&mut self, name: &ObjectName) {
        let parts: Vec<&str> = name
            .0
            .iter()
            .map(|part| part.as_ident().map_or("?", |ident| ident.value.as_str()))
            .collect();
        if parts.len() > 1 {
            self.push(SqlProblem {
                code: "manifest::migration-schema",
                span: self.lines.span(name),
                message: format!("`{}` names another schema", parts.join(".")),
                help: Some(
                    "write the bare table name; migrations run in the tenant's data space".into(),
                ),
            });
        }
        let table = parts.last().copied().unwrap_or_default();
        if parts.len() == 1 && self.local.iter().any(|l| l.eq_ignore_ascii_case(table)) {
            return;
        }
        if !table.starts_with(self.prefix) {
            self.push(SqlProblem {
                code: "manifest::migration-table",
                span: self.lines.span(name),
                message: format!("table `{table}` does not belong to this plugin"),
                help: Some(format!("plugin tables are named `{}…`", self.prefix)),
            });
        }
    }

    fn refuse(&mut self, statement: &Statement, code: &'static str, what: &str, help: &str) {
        let span = self.lines.span(statement);
        self.push(SqlProblem {
            code,
            span,
            message: format!("a plugin migration may not {what}"),
            help: Some(help.to_owned()),
        });
    }
}

/// What one walk of a statement finds: the names of the common table expressions of its
/// queries, and every table it names.
#[derive(Default)]
struct Names {
    local: Vec<String>,
    relations: Vec<ObjectName>,
}

impl Visitor for Names {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.local.extend(
                with.cte_tables
                    .iter()
                    .map(|cte| cte.alias.name.value.clone()),
            );
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.relations.push(relation.clone());
        ControlFlow::Continue(())
    }
}

/// The foreign tables a column's options reference.
fn column_references(column: &ColumnDef) -> impl Iterator<Item = &ObjectName> {
    column
        .options
        .iter()
        .filter_map(|option| match &option.option {
            ColumnOption::ForeignKey(fk) => Some(&fk.foreign_table),
            _ => None,
        })
}

/// The foreign table a table constraint references, if any.
fn constraint_reference(constraint: &TableConstraint) -> Option<&ObjectName> {
    match constraint {
        TableConstraint::ForeignKey(fk) => Some(&fk.foreign_table),
        _ => None,
    }
}

fn scan(sql: &str, prefix: &str, workspace_aware: bool) -> Vec<SqlProblem> {
    let too_big = |what: String| {
        vec![SqlProblem {
            code: "manifest::migration-size",
            span: 0..0,
            message: format!("the migration has {what}"),
            help: Some("split it into several migrations".into()),
        }]
    };
    if sql.len() > MAX_MIGRATION_BYTES {
        return too_big(format!(
            "{} bytes, more than the {MAX_MIGRATION_BYTES} allowed",
            sql.len()
        ));
    }
    let Parsed {
        statements,
        disagreement,
    } = match parse(sql) {
        Ok(parsed) => parsed,
        Err(error) => {
            return vec![SqlProblem {
                code: "manifest::migration-syntax",
                span: 0..0,
                message: format!("cannot parse the SQL: {error}"),
                help: Some("migrations are plain SQL that SQLite and PostgreSQL both run".into()),
            }];
        }
    };
    if statements.len() > MAX_MIGRATION_STATEMENTS {
        return too_big(format!(
            "{} statements, more than the {MAX_MIGRATION_STATEMENTS} allowed",
            statements.len()
        ));
    }
    let lines = Lines::new(sql);
    let mut problems = Vec::new();
    if let Some(disagreement) = disagreement {
        problems.push(SqlProblem {
            code: "manifest::migration-dialect",
            span: 0..0,
            message: format!("SQLite and PostgreSQL would run different SQL: {disagreement}"),
            help: Some(
                "write plain SQL both databases read alike (no nested comments, no dialect-only syntax)"
                    .into(),
            ),
        });
    }
    for statement in &statements {
        // One walk of the statement: its own names (`WITH name AS …`) and every table it reads
        // or writes anywhere (subqueries, `INSERT … SELECT`).
        let mut names = Names::default();
        let _ = statement.visit(&mut names);
        let mut check = StatementCheck {
            lines: &lines,
            prefix,
            local: names.local,
            problems: Vec::new(),
        };
        match statement {
            Statement::CreateTable(table) => {
                check.own_table(&table.name);
                for referenced in table.columns.iter().flat_map(column_references) {
                    check.own_table(referenced);
                }
                for referenced in table.constraints.iter().filter_map(constraint_reference) {
                    check.own_table(referenced);
                }
                let has_workspace = table
                    .columns
                    .iter()
                    .any(|c| c.name.value.eq_ignore_ascii_case("workspace_id"));
                if workspace_aware && table.query.is_none() && !has_workspace {
                    let name = table.name.to_string();
                    check.push(SqlProblem {
                        code: "manifest::migration-workspace-id",
                        span: lines.span(&table.name),
                        message: format!(
                            "table `{name}` has no `workspace_id` column, and the plugin is workspace-aware"
                        ),
                        help: Some("add `workspace_id TEXT NOT NULL`".into()),
                    });
                }
            }
            Statement::CreateIndex(index) => check.own_table(&index.table_name),
            Statement::AlterTable(alter) => {
                check.own_table(&alter.name);
                for operation in &alter.operations {
                    match operation {
                        AlterTableOperation::RenameTable {
                            table_name:
                                RenameTableNameKind::As(name) | RenameTableNameKind::To(name),
                        } => check.own_table(name),
                        AlterTableOperation::AddConstraint { constraint, .. } => {
                            if let Some(referenced) = constraint_reference(constraint) {
                                check.own_table(referenced);
                            }
                        }
                        AlterTableOperation::AddColumn { column_def, .. } => {
                            for referenced in column_references(column_def) {
                                check.own_table(referenced);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Statement::Drop {
                object_type: ObjectType::Table,
                names,
                ..
            } => {
                for name in names {
                    check.own_table(name);
                }
            }
            Statement::Drop {
                object_type: ObjectType::Index,
                ..
            }
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Query(_) => {}
            Statement::CreateSchema { .. } => check.refuse(
                statement,
                "manifest::migration-schema",
                "create schemas",
                "create tables in the tenant's data space instead",
            ),
            Statement::Set(_)
                if statement
                    .to_string()
                    .to_ascii_lowercase()
                    .contains("search_path") =>
            {
                check.refuse(
                    statement,
                    "manifest::migration-schema",
                    "change `search_path`",
                    "write bare table names; migrations run in the tenant's data space",
                );
            }
            other => {
                let kind: String = other
                    .to_string()
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                check.refuse(
                    statement,
                    "manifest::migration-statement",
                    &format!("run `{kind} …` statements"),
                    "use CREATE/ALTER/DROP TABLE, CREATE INDEX, INSERT, UPDATE and DELETE on the plugin's own tables",
                );
            }
        }
        for name in &names.relations {
            check.own_table(name);
        }
        problems.extend(check.problems);
    }
    problems
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
            ["manifest::migration-schema", "manifest::migration-table"]
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

    #[test]
    fn reads_and_writes_of_other_tables_fail_wherever_they_hide() {
        for sql in [
            "INSERT INTO crm_x SELECT * FROM users;",
            "INSERT INTO crm_x (id) SELECT id FROM \"core\".\"users\";",
            "UPDATE crm_x SET a = (SELECT b FROM tenant_other.t);",
            "DELETE FROM crm_x WHERE id IN (SELECT id FROM analytics_reports);",
            "ALTER TABLE crm_x RENAME TO users;",
            "ALTER TABLE crm_x ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id);",
            "CREATE TABLE crm_x (id TEXT, FOREIGN KEY (id) REFERENCES analytics_y (id));",
            "DROP TABLE crm_x, users;",
            "WITH t AS (SELECT * FROM users) INSERT INTO crm_x SELECT * FROM t;",
        ] {
            let found = codes(sql, false);
            assert!(
                !found.is_empty()
                    && found
                        .iter()
                        .all(|c| *c == "manifest::migration-table"
                            || *c == "manifest::migration-schema"),
                "{sql}: {found:?}"
            );
        }
    }

    #[test]
    fn only_table_statements_are_allowed() {
        for sql in [
            "CREATE VIEW crm_v AS SELECT * FROM crm_x;",
            "CREATE TRIGGER crm_t AFTER INSERT ON crm_x BEGIN DELETE FROM crm_x; END;",
            "PRAGMA foreign_keys = 0;",
            "ATTACH DATABASE 'other.db' AS other;",
            "GRANT ALL ON crm_x TO public;",
        ] {
            assert!(
                codes(sql, false).contains(&"manifest::migration-statement"),
                "{sql}: {:?}",
                codes(sql, false)
            );
        }
        assert_eq!(
            codes("CREATE TABLE (", false),
            ["manifest::migration-syntax"]
        );
        let ok = "WITH seed AS (SELECT 1 AS n) INSERT INTO crm_x (n) SELECT n FROM seed;\n\
                  UPDATE crm_x SET n = 2 WHERE n = 1;\nDELETE FROM crm_x WHERE n = 3;\n\
                  DROP INDEX crm_x_n;\nCREATE TABLE crm_y (id BIGINT PRIMARY KEY, \
                  x TEXT REFERENCES crm_x (id));";
        assert!(codes(ok, false).is_empty(), "{:?}", codes(ok, false));
    }

    #[test]
    fn sql_the_two_databases_read_differently_is_refused_and_what_hides_is_reported() {
        // PostgreSQL nests block comments and SQLite does not: SQLite would run the ATTACH.
        let hidden = "CREATE TABLE crm_x (id TEXT);\n\
                      /* /* */ ATTACH DATABASE 'core.db' AS c; -- */";
        let found = codes(hidden, false);
        assert!(found.contains(&"manifest::migration-dialect"), "{found:?}");
        assert!(
            found.contains(&"manifest::migration-statement"),
            "{found:?}"
        );
        // A string to PostgreSQL, something else to SQLite.
        let dollars = "INSERT INTO crm_x (id) VALUES ($$ ' ; DELETE FROM users; -- $$);";
        let found = codes(dollars, false);
        assert!(found.contains(&"manifest::migration-dialect"), "{found:?}");
    }

    #[test]
    fn size_and_statement_count_are_capped() {
        let big = "-- x\n".repeat(MAX_MIGRATION_BYTES / 5 + 1);
        assert_eq!(codes(&big, false), ["manifest::migration-size"]);
        let many = "DELETE FROM crm_x;".repeat(MAX_MIGRATION_STATEMENTS + 1);
        assert_eq!(codes(&many, false), ["manifest::migration-size"]);
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_reported_not_panicked_on(sql in "(?s).{0,300}") {
            for problem in scan(&sql, "crm_", true) {
                proptest::prop_assert!(sql.get(problem.span.clone()).is_some());
            }
        }
    }

    #[test]
    fn deeply_nested_sql_is_refused_without_overflowing_the_stack() {
        let sql = format!(
            "INSERT INTO crm_x SELECT {}1{};",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert_eq!(codes(&sql, false), ["manifest::migration-syntax"]);
    }

    #[test]
    fn problems_point_at_the_offending_name() {
        let sql = "CREATE TABLE crm_x (id TEXT);\nALTER TABLE users ADD x INT;";
        let problems = scan(sql, "crm_", false);
        assert_eq!(problems.len(), 1);
        assert_eq!(&sql[problems[0].span.clone()], "users");
    }
}
