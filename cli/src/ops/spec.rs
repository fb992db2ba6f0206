//! Values as commands take them: plugin ids (`ID`, `ID@VERSION`), settings objects.

use plexica_sdk::manifest::is_valid_plugin_id;

use crate::error::{CliError, CliResult};

/// Parses `ID[@VERSION]`.
pub fn parse_spec(spec: &str) -> CliResult<(String, Option<String>)> {
    let (id, version) = match spec.split_once('@') {
        Some((id, version)) => (id, Some(version)),
        None => (spec, None),
    };
    if !is_valid_plugin_id(id) {
        return Err(
            CliError::usage(format!("`{id}` is not a valid plugin id")).with_help(
                "use 2-63 lowercase letters, digits and single `-`, starting with a letter",
            ),
        );
    }
    if version.is_some_and(str::is_empty) {
        return Err(CliError::usage(format!("`{spec}` has an empty version"))
            .with_help("write ID@VERSION, e.g. crm@1.2.0"));
    }
    Ok((id.to_owned(), version.map(str::to_owned)))
}

/// Parses a plugin id without a version.
pub fn parse_id(text: &str) -> CliResult<String> {
    match parse_spec(text)? {
        (id, None) => Ok(id),
        (id, Some(_)) => Err(CliError::usage(format!(
            "`{text}` names a version, but this takes a whole plugin"
        ))
        .with_help(format!("pass `{id}`"))),
    }
}

/// Parses `ID@VERSION` (the version is required).
pub fn parse_versioned(spec: &str) -> CliResult<(String, String)> {
    match parse_spec(spec)? {
        (id, Some(version)) => Ok((id, version)),
        (id, None) => Err(CliError::usage(format!("`{spec}` names no version"))
            .with_help(format!("write {id}@VERSION, e.g. {id}@1.2.0"))),
    }
}

/// Parses a `--settings` value.
pub fn parse_json_object(text: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err("settings must be a JSON object, e.g. '{\"plan\":\"pro\"}'".to_owned()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}
