//! The import graph of a crate's modules, read from its source, for the tests that keep a
//! crate's layers (core-api's `layers`, the CLI's `layers`): which module imports which, and
//! which names an outside crate. Imports are read from the text — `crate::`, `super::` and
//! `self::` paths and a module's own submodules, `use` groups included — leaving out comments,
//! literals and `#[cfg(test)]` items; a module is a file (`a/mod.rs` is `a`). It is a
//! reviewer's aid with good diagnostics, not a boundary: the compiler is.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

/// Whether `module` is `prefix` or inside it (`a::b` is within `a`).
pub fn within(module: &str, prefix: &str) -> bool {
    module == prefix
        || module
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::"))
}

/// Every module of a crate (`crate`, `db`, `db::core`, …) with the modules it imports (its
/// own ancestors left out: a submodule may use its parent's items).
#[derive(Debug, Default)]
pub struct ModuleGraph {
    /// Module → the modules it imports.
    pub imports: BTreeMap<String, BTreeSet<String>>,
    /// Module → its code, without comments, literals and tests.
    code: BTreeMap<String, String>,
}

impl ModuleGraph {
    /// Reads the crate whose sources are under `src`.
    pub fn read(src: &Path) -> io::Result<Self> {
        let mut files = Vec::new();
        rust_files(src, &mut files)?;
        let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
        let mut graph = ModuleGraph::default();
        for file in &files {
            let module = module_of(src, file);
            let code = without_tests(&code_only(&std::fs::read_to_string(file)?));
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
            graph.code.insert(module, code);
        }
        Ok(graph)
    }

    /// The modules whose code names one of `crates` (`axum`, `clap`) as a path's first
    /// segment: `axum::…` or `use axum;`.
    pub fn naming(&self, crates: &[&str]) -> BTreeSet<String> {
        self.code
            .iter()
            .filter(|(_, code)| names(code, crates))
            .map(|(module, _)| module.clone())
            .collect()
    }

    /// The import cycles: every group of two or more modules that reach each other.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        cycles(&self.imports)
    }
}

/// Whether `code` names one of `crates` as a path's first segment.
fn names(code: &str, crates: &[&str]) -> bool {
    crates.iter().any(|krate| {
        [format!("{krate}::"), format!("{krate};")]
            .iter()
            .any(|needle| {
                code.match_indices(needle.as_str()).any(|(at, _)| {
                    !code[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                })
            })
    })
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
            if let Some(c) = rest.chars().next() {
                out.push(c);
                i += c.len_utf8();
            }
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

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_read_through_groups_super_and_self() {
        let mut paths = Vec::new();
        expand_paths(
            "",
            "db::{self, core::CoreStore, tenant::{TenantDb, X}};",
            &mut paths,
        );
        assert_eq!(
            paths,
            [
                "db",
                "db::core::CoreStore",
                "db::tenant::TenantDb",
                "db::tenant::X"
            ]
        );
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
    }

    #[test]
    fn comments_literals_and_tests_are_not_code() {
        let code = code_only("let s = \"crate::state\"; // crate::routes\nlet c = '{'; x");
        assert!(!code.contains("crate::"), "{code}");
        assert!(!code.contains('{'), "{code}");
        assert_eq!(
            without_tests("a\n#[cfg(test)]\nmod tests { fn f() { crate::state::X } }\nb"),
            "a\n\nb"
        );
        assert!(names("use clap::Args;", &["clap"]));
        assert!(names("use axum;", &["axum"]));
        assert!(!names("tower_axum::x(); my::axum::y", &["axum"]));
        assert!(!names(&code_only("// clap::Args\nlet x = 1;"), &["clap"]));
    }

    #[test]
    fn a_cycle_is_found_and_a_chain_is_not() {
        let graph = |edges: &[(&str, &str)]| {
            let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (from, to) in edges {
                imports
                    .entry((*from).to_owned())
                    .or_default()
                    .insert((*to).to_owned());
            }
            cycles(&imports)
        };
        assert!(graph(&[("a", "b"), ("b", "c")]).is_empty());
        assert_eq!(
            graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]),
            [vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
        );
    }
}
