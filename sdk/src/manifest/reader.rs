//! Typed access to a spanned TOML tree that reports every type error and unknown key instead of
//! stopping at the first, and remembers where each value was written.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, Severity, SourceFile, closest};

/// Where each value of the manifest was written, by path (`plugin.id`, `events.subscribes[0]`,
/// `permissions[1].key`, `dependencies.required.billing`).
#[derive(Debug, Default)]
pub(crate) struct SpanIndex(HashMap<String, Range<usize>>);

impl SpanIndex {
    /// The span of the value at `path`, if it was written (with the right type).
    pub(crate) fn get(&self, path: &str) -> Option<Range<usize>> {
        self.0.get(path).cloned()
    }

    fn insert(&mut self, path: String, span: Range<usize>) {
        self.0.insert(path, span);
    }
}

/// Collects diagnostics and spans while the builder reads the tree.
pub(crate) struct Reader<'s> {
    pub(crate) file: &'s SourceFile<'s>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) spans: SpanIndex,
}

/// One TOML table being read: remembers which keys the schema knows.
pub(crate) struct Table<'t, 'i> {
    entries: &'t DeTable<'i>,
    path: String,
    span: Range<usize>,
    known: Vec<&'static str>,
}

impl<'t, 'i> Table<'t, 'i> {
    /// The root table of a document.
    pub(crate) fn root(doc: &'t Spanned<DeTable<'i>>) -> Self {
        Self {
            entries: doc.get_ref(),
            path: String::new(),
            span: 0..0,
            known: Vec::new(),
        }
    }

    /// The path of a key of this table.
    pub(crate) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Records `key` as one the schema reads here (once, for the "known keys" help).
    fn know(&mut self, key: &'static str) {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
    }

    fn lookup(&mut self, key: &'static str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.know(key);
        self.entries
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }
}

/// The TOML type name of a value, for "expected X, found Y" messages.
fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'s> Reader<'s> {
    /// A reader reporting into `file`.
    pub(crate) fn new(file: &'s SourceFile<'s>) -> Self {
        Self {
            file,
            diagnostics: Vec::new(),
            spans: SpanIndex::default(),
        }
    }

    /// Records an error at `span`.
    pub(crate) fn error(
        &mut self,
        code: &str,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let diagnostic = self
            .file
            .diagnostic(Severity::Error, code, span, message, help);
        self.diagnostics.push(diagnostic);
    }

    fn wrong_type(&mut self, path: &str, expected: &str, value: &Spanned<DeValue<'_>>) {
        self.error(
            "manifest::wrong-type",
            value.span(),
            format!(
                "`{path}` must be {expected}, found {}",
                type_name(value.get_ref())
            ),
            None,
        );
    }

    /// Reports a required key that is absent, at the table's header.
    pub(crate) fn missing(&mut self, table: &Table<'_, '_>, key: &str) {
        let path = table.path_of(key);
        let where_ = if table.path.is_empty() {
            "the manifest".to_owned()
        } else {
            format!("`[{}]`", table.path)
        };
        self.error(
            "manifest::missing-field",
            table.span.clone(),
            format!("`{path}` is required"),
            Some(format!("add `{key} = …` to {where_}")),
        );
    }

    /// Reads any value, recording its span.
    pub(crate) fn value<'t, 'i>(
        &mut self,
        table: &mut Table<'t, 'i>,
        key: &'static str,
    ) -> Option<&'t Spanned<DeValue<'i>>> {
        let value = table.lookup(key)?;
        self.spans.insert(table.path_of(key), value.span());
        Some(value)
    }

    /// Reads an optional string.
    pub(crate) fn string(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Option<String> {
        let path = table.path_of(key);
        let value = table.lookup(key)?;
        match value.get_ref() {
            DeValue::String(s) => {
                self.spans.insert(path, value.span());
                Some(s.to_string())
            }
            _ => {
                self.wrong_type(&path, "a string", value);
                None
            }
        }
    }

    /// Reads a required string; reports it missing.
    pub(crate) fn required_string(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Option<String> {
        let present = table
            .entries
            .iter()
            .any(|(k, _)| k.get_ref().as_ref() == key);
        if !present {
            table.know(key);
            self.missing(table, key);
            return None;
        }
        self.string(table, key)
    }

    /// Reads an optional boolean.
    pub(crate) fn boolean(&mut self, table: &mut Table<'_, '_>, key: &'static str) -> Option<bool> {
        let path = table.path_of(key);
        let value = table.lookup(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => {
                self.spans.insert(path, value.span());
                Some(*b)
            }
            _ => {
                self.wrong_type(&path, "a boolean", value);
                None
            }
        }
    }

    /// Reads an optional number (integer or float).
    pub(crate) fn number(&mut self, table: &mut Table<'_, '_>, key: &'static str) -> Option<f64> {
        let path = table.path_of(key);
        let value = table.lookup(key)?;
        match number_of(value.get_ref()) {
            Some(n) => {
                self.spans.insert(path, value.span());
                Some(n)
            }
            None => {
                self.wrong_type(&path, "a number", value);
                None
            }
        }
    }

    /// Reads an optional integer.
    pub(crate) fn integer(&mut self, table: &mut Table<'_, '_>, key: &'static str) -> Option<i64> {
        let path = table.path_of(key);
        let value = table.lookup(key)?;
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => {
                    self.spans.insert(path, value.span());
                    Some(n)
                }
                Err(_) => {
                    self.wrong_type(&path, "a 64-bit integer", value);
                    None
                }
            },
            _ => {
                self.wrong_type(&path, "an integer", value);
                None
            }
        }
    }

    /// Reads an optional array of integers; records each element's span as `path[i]`.
    pub(crate) fn integers(&mut self, table: &mut Table<'_, '_>, key: &'static str) -> Vec<i64> {
        self.array_of(
            table,
            key,
            ("an array of integers", "an integer"),
            |value| match value {
                DeValue::Integer(n) => i64::from_str_radix(n.as_str(), n.radix()).ok(),
                _ => None,
            },
        )
    }

    /// Reads an optional array of strings; records each element's span as `path[i]`.
    pub(crate) fn strings(&mut self, table: &mut Table<'_, '_>, key: &'static str) -> Vec<String> {
        self.array_of(
            table,
            key,
            ("an array of strings", "a string"),
            |value| match value {
                DeValue::String(s) => Some(s.to_string()),
                _ => None,
            },
        )
    }

    /// Reads an optional array whose elements `pick` takes; `expected` names the array and an
    /// element for errors. Records each element's span as `path[i]` and reports every other
    /// element as a wrong type.
    fn array_of<T>(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
        (array, expected): (&str, &str),
        pick: impl Fn(&DeValue<'_>) -> Option<T>,
    ) -> Vec<T> {
        let path = table.path_of(key);
        let Some(value) = table.lookup(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(&path, array, value);
            return Vec::new();
        };
        self.spans.insert(path.clone(), value.span());
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match pick(item.get_ref()) {
                Some(picked) => {
                    self.spans.insert(item_path, item.span());
                    out.push(picked);
                }
                None => self.wrong_type(&item_path, expected, item),
            }
        }
        out
    }

    /// Reads an optional table of string values (`{ analytics = "^1.0" }`); records each value's
    /// span as `path.key`.
    pub(crate) fn string_map(
        &mut self,
        table: &mut Table<'_, '_>,
        key: &'static str,
    ) -> Vec<(String, String)> {
        let path = table.path_of(key);
        let Some(value) = table.lookup(key) else {
            return Vec::new();
        };
        let DeValue::Table(entries) = value.get_ref() else {
            self.wrong_type(&path, "a table", value);
            return Vec::new();
        };
        self.spans.insert(path.clone(), value.span());
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries.iter() {
            let item_path = format!("{path}.{}", k.get_ref());
            match v.get_ref() {
                DeValue::String(s) => {
                    self.spans.insert(format!("{item_path}#key"), k.span());
                    self.spans.insert(item_path, v.span());
                    out.push((k.get_ref().to_string(), s.to_string()));
                }
                _ => self.wrong_type(&item_path, "a version requirement string", v),
            }
        }
        out
    }

    /// Reads an optional sub-table.
    pub(crate) fn table<'t, 'i>(
        &mut self,
        table: &mut Table<'t, 'i>,
        key: &'static str,
    ) -> Option<Table<'t, 'i>> {
        let path = table.path_of(key);
        let value = table.lookup(key)?;
        match value.get_ref() {
            DeValue::Table(entries) => {
                self.spans.insert(path.clone(), value.span());
                Some(Table {
                    entries,
                    path,
                    span: value.span(),
                    known: Vec::new(),
                })
            }
            _ => {
                self.wrong_type(&path, "a table", value);
                None
            }
        }
    }

    /// Reads an optional array of tables (`[[permissions]]`); element `i` has path `key[i]`.
    pub(crate) fn tables<'t, 'i>(
        &mut self,
        table: &mut Table<'t, 'i>,
        key: &'static str,
    ) -> Vec<Table<'t, 'i>> {
        let path = table.path_of(key);
        let Some(value) = table.lookup(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(&path, "an array of tables", value);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match item.get_ref() {
                DeValue::Table(entries) => {
                    self.spans.insert(item_path.clone(), item.span());
                    out.push(Table {
                        entries,
                        path: item_path,
                        span: item.span(),
                        known: Vec::new(),
                    });
                }
                _ => self.wrong_type(&item_path, "a table", item),
            }
        }
        out
    }

    /// Reports every key of `table` the schema did not read, suggesting the closest known key.
    pub(crate) fn finish(&mut self, table: Table<'_, '_>) {
        for (key, _) in table.entries.iter() {
            let name = key.get_ref().as_ref();
            if table.known.contains(&name) {
                continue;
            }
            let help = closest(name, table.known.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .or_else(|| Some(format!("known keys here: {}", table.known.join(", "))));
            let path = table.path_of(name);
            self.error(
                "manifest::unknown-key",
                key.span(),
                format!("unknown key `{path}`"),
                help,
            );
        }
    }
}

/// The numeric value of an integer or float.
pub(crate) fn number_of(value: &DeValue<'_>) -> Option<f64> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|n| n as f64),
        DeValue::Float(f) => f.as_str().replace('_', "").parse().ok(),
        _ => None,
    }
}

/// Converts a TOML value into JSON (config defaults are stored and compared as JSON).
pub(crate) fn to_json(value: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map_or(Value::Null, |n| Value::Number(n.into())),
        DeValue::Float(_) => number_of(value)
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(items) => Value::Array(items.iter().map(|v| to_json(v.get_ref())).collect()),
        DeValue::Table(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
}
