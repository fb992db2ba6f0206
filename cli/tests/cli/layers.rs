//! The CLI's shape (ARCHITECTURE.md, `cli/`), checked on its source:
//!
//! - a command never imports another command: a module under `commands/` imports, of
//!   `commands/`, only its own subcommands (to dispatch to them) and the items of the groups it
//!   belongs to (`commands::core_client`, `workspace`'s `TenantArg`); what two commands share
//!   lives in `ops/`;
//! - `ops/` and the modules below it know no command, no grammar (`cli`, `global`) and no
//!   clap;
//! - no import cycle between modules (a subcommand naming its group's items aside).
//!
//! Imports are read from the text — `crate::` and `super::` paths, `use` groups included —
//! leaving out comments and `#[cfg(test)]` items; a module is a file (`a/mod.rs` is `a`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules by path (`commands::plugin::build`), each with the modules it imports (its own
/// ancestors left out: a subcommand may use its group's items) and whether it names clap.
#[derive(Debug, Default)]
struct Graph {
    imports: BTreeMap<String, BTreeSet<String>>,
    clap: BTreeSet<String>,
}

/// The grammar and the commands: what the modules below them may not import.
const ABOVE_OPS: &[&str] = &["cli", "global", "commands", "examples", "complete"];

/// Modules that may name clap: the grammar, the commands, and the value enums a flag takes.
const CLAP_ALLOWED: &[&str] = &[
    "crate",
    "cli",
    "global",
    "commands",
    "examples",
    "complete",
    // `OutputFormat` and `ColorChoice` (`-o`, `--color`) and `Template` (`--template`) are
    // `clap::ValueEnum`s.
    "output",
    "templates",
];

fn within(module: &str, prefix: &str) -> bool {
    module == prefix
        || module
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::"))
}

fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    match parts.is_empty() {
        true => "crate".to_owned(),
        false => parts.join("::"),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("source directory")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` without comments, string and char literals (replaced by spaces).
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(text.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(text.len(), |n| i + n + 2);
            i = end;
        } else if rest.starts_with("r\"") || rest.starts_with("r#\"") {
            let hashes = rest[1..].chars().take_while(|c| *c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            let end = text[start..].find(&close).map_or(text.len(), |n| start + n);
            i = end + close.len();
            out.push(' ');
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
            out.push(' ');
        } else if bytes[i] == b'\'' && rest.len() > 2 {
            // A char literal ('x', '\n', '{'); a lifetime has no closing quote after one char.
            let closing = match bytes[i + 1] {
                b'\\' => rest[2..].find('\'').map(|n| i + 2 + n),
                _ => rest[1..]
                    .char_indices()
                    .nth(1)
                    .filter(|(_, c)| *c == '\'')
                    .map(|(n, _)| i + 1 + n),
            };
            match closing {
                Some(end) => {
                    i = end + 1;
                    out.push(' ');
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let c = rest.chars().next().expect("a char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `code` without the items marked `#[cfg(test)]`.
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        // The item ends at its `;` or at the brace closing its first block.
        let mut depth = 0usize;
        let mut end = item.len();
        for (n, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = n + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = n + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The paths a `use` tree or a path expression starting at `text` names, flattened, after
/// `prefix` (`super::super::x` climbs one more module per `super`).
fn expand_paths(prefix: &str, text: &str, out: &mut Vec<String>) -> usize {
    // Reads `ident(::ident)*` then, optionally, `::{ tree, tree }`.
    let mut path = prefix.to_owned();
    let mut i = 0;
    let bytes = text.as_bytes();
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i > start {
            let segment = &text[start..i];
            if segment == "super" {
                path = path.rsplit_once("::").map_or("", |(p, _)| p).to_owned();
            } else {
                if !path.is_empty() {
                    path.push_str("::");
                }
                path.push_str(segment);
            }
        }
        if text[i..].starts_with("::{") {
            i += 3;
            loop {
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == b'}' {
                    return i + 1;
                }
                i += expand_paths(&path, &text[i..], out);
                while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
                    i += 1;
                }
            }
        } else if text[i..].starts_with("::") {
            i += 2;
        } else {
            // `self` in a group names the group's path itself; ` as x` is an alias.
            let path = path.trim_end_matches("::self").trim_end_matches("self");
            out.push(path.to_owned());
            while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b';') {
                i += 1;
            }
            return i;
        }
    }
}

/// Whether `code` names clap (`clap::…`, `use clap;`, or one of its companion crates).
fn names_clap(code: &str) -> bool {
    ["clap::", "clap;", "clap_complete", "clap_mangen"]
        .iter()
        .any(|needle| {
            code.match_indices(needle).any(|(at, _)| {
                !code[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            })
        })
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph = Graph::default();
    for file in &files {
        let module = module_of(&src, file);
        let code = without_tests(&code_only(
            &std::fs::read_to_string(file).expect("a source file"),
        ));
        if names_clap(&code) {
            graph.clap.insert(module.clone());
        }
        let own = if module == "crate" { "" } else { &module };
        // Its submodules, named without a prefix (`plugin::run`, `use build::BuildArgs`).
        let children: Vec<String> = modules
            .iter()
            .filter_map(|m| {
                let rest = if own.is_empty() {
                    Some(m.as_str()).filter(|m| *m != "crate")
                } else {
                    m.strip_prefix(own)?.strip_prefix("::")
                };
                rest.filter(|r| !r.contains("::")).map(|r| format!("{r}::"))
            })
            .collect();
        let mut keywords = vec![("crate::", ""), ("super::", own), ("self::", own)];
        keywords.extend(children.iter().map(|c| (c.as_str(), own)));
        let mut paths = Vec::new();
        for (keyword, base) in keywords {
            let mut rest = code.as_str();
            while let Some(at) = rest.find(keyword) {
                let before = code.len() - rest.len() + at;
                let preceded = code[..before]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
                // `super::` and a submodule's name are read as the path's first segment.
                let start = if matches!(keyword, "crate::" | "self::") {
                    at + keyword.len()
                } else {
                    at
                };
                rest = &rest[at + keyword.len()..];
                if !preceded {
                    let text = &code[before + (start - at)..];
                    expand_paths(base, text, &mut paths);
                }
            }
        }
        let imports = graph.imports.entry(module.clone()).or_default();
        for path in paths {
            // The longest prefix of the path that is a module.
            let parts: Vec<&str> = path.split("::").collect();
            let target = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|m| modules.contains(m));
            if let Some(target) = target
                && target != module
                && !within(&module, &target)
            {
                imports.insert(target);
            }
        }
    }
    graph
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(imports: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        imports: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.imports.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        imports,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in imports.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn the_reader_sees_imports_through_groups_and_super() {
    let mut paths = Vec::new();
    expand_paths(
        "commands::plugin::publish",
        "super::{self, build::Parts, sign::{sign_now, X}};",
        &mut paths,
    );
    assert_eq!(
        paths,
        [
            "commands::plugin",
            "commands::plugin::build::Parts",
            "commands::plugin::sign::sign_now",
            "commands::plugin::sign::X"
        ]
    );
    let mut paths = Vec::new();
    expand_paths(
        "commands::plugin::dev",
        "super::super::tenant::f()",
        &mut paths,
    );
    assert_eq!(paths, ["commands::tenant::f"]);
    let code = code_only("let s = \"crate::cli\"; // crate::commands\nlet c = '{'; x");
    assert!(!code.contains("crate::"), "{code}");
    assert!(!code.contains('{'), "{code}");
    assert_eq!(
        without_tests("a\n#[cfg(test)]\nmod tests { use super::*; }\nb"),
        "a\n\nb"
    );
    assert!(names_clap("use clap::Args;"));
    assert!(!names_clap(&code_only("// clap::Args\nlet x = 1;")));
    // The graph of this crate is read at all.
    let graph = graph();
    let dispatcher = &graph.imports["commands::plugin"];
    assert!(
        dispatcher.contains("commands::plugin::build"),
        "{dispatcher:?}"
    );
    assert!(graph.clap.contains("commands::plugin::build"));
}

#[test]
fn no_command_imports_another() {
    let graph = graph();
    let mut broken = Vec::new();
    for (module, imports) in &graph.imports {
        if !within(module, "commands") {
            continue;
        }
        for target in imports {
            // Its own subcommands (dispatch); its groups' items never reach `imports`.
            if within(target, "commands") && !within(target, module) {
                broken.push(format!("{module} imports {target}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "commands that import other commands (move what they share to ops/):\n{}",
        broken.join("\n")
    );
}

#[test]
fn nothing_below_the_commands_knows_them_or_clap() {
    let graph = graph();
    let mut broken = Vec::new();
    for (module, imports) in &graph.imports {
        if module == "crate" || ABOVE_OPS.iter().any(|a| within(module, a)) {
            continue;
        }
        for target in imports {
            if ABOVE_OPS.iter().any(|a| within(target, a)) {
                broken.push(format!("{module} imports {target}"));
            }
        }
    }
    for module in &graph.clap {
        if !CLAP_ALLOWED.iter().any(|a| within(module, a)) {
            broken.push(format!("{module} names clap"));
        }
    }
    assert!(
        broken.is_empty(),
        "modules below the commands that reach up (pass them plain values instead):\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_import_cycle_between_modules() {
    let graph = graph();
    let found = cycles(&graph.imports);
    assert!(
        found.is_empty(),
        "modules that import each other (break the cycle; see ARCHITECTURE.md, `cli/`): {found:#?}"
    );
}
