//! A tenant's configuration of a plugin, checked against the manifest's `[[config]]` fields:
//! at install (defaults applied), on update (merged into what is stored), on upgrade (the
//! stored values against the new manifest) and per workspace (fields marked
//! `workspace-override` only). Values of `secret` fields never leave in clear: [`redact`].

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ConfigField, ConfigType, check_config_value};

/// What a secret value reads as.
pub const REDACTED: &str = "********";

/// One configuration value that is not acceptable, with the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    /// The field's key.
    pub key: String,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.key, self.message)
    }
}

fn problem(key: &str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        key: key.to_owned(),
        message: message.into(),
    }
}

fn pattern_of(field: &ConfigField) -> Result<Option<Regex>, ConfigProblem> {
    field
        .pattern
        .as_deref()
        .map(|p| {
            RegexBuilder::new(p)
                .size_limit(1 << 20)
                .build()
                .map_err(|_| problem(&field.key, "has a `pattern` that does not compile"))
        })
        .transpose()
}

fn check_value(field: &ConfigField, value: &Value) -> Result<(), ConfigProblem> {
    let pattern = pattern_of(field)?;
    check_config_value(field, pattern.as_ref(), value).map_err(|m| problem(&field.key, m))
}

/// The complete configuration from `given`: every key must be a field, every value valid;
/// missing fields take their default; a required field without value or default is a problem.
/// Every problem is reported, not only the first.
pub fn resolve_config(
    fields: &[ConfigField],
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<ConfigProblem>> {
    let mut problems: Vec<ConfigProblem> = given
        .keys()
        .filter(|k| !fields.iter().any(|f| &f.key == *k))
        .map(|k| problem(k, "is not a configuration field of this plugin"))
        .collect();
    let mut resolved = Map::new();
    for field in fields {
        match given.get(&field.key).filter(|v| !v.is_null()) {
            Some(value) => match check_value(field, value) {
                Ok(()) => {
                    resolved.insert(field.key.clone(), value.clone());
                }
                Err(p) => problems.push(p),
            },
            None => match &field.default {
                Some(default) => {
                    resolved.insert(field.key.clone(), default.clone());
                }
                None if field.required => problems.push(problem(&field.key, "is required")),
                None => {}
            },
        }
    }
    match problems.is_empty() {
        true => Ok(resolved),
        false => Err(problems),
    }
}

/// `stored` updated by `patch` (a `null` resets a field to its default; a secret sent back as
/// [`REDACTED`] keeps its stored value), then resolved as by [`resolve_config`].
pub fn update_config(
    fields: &[ConfigField],
    stored: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<ConfigProblem>> {
    let mut merged = stored.clone();
    for (key, value) in patch {
        let unchanged_secret = value.as_str() == Some(REDACTED)
            && fields
                .iter()
                .any(|f| &f.key == key && f.kind == ConfigType::Secret);
        if unchanged_secret {
            continue;
        }
        match value {
            Value::Null => merged.remove(key),
            value => merged.insert(key.clone(), value.clone()),
        };
    }
    resolve_config(fields, &merged)
}

/// `stored` carried to a new manifest's `fields` (upgrade) and updated by `patch` as by
/// [`update_config`]: values of fields that no longer exist are dropped, new fields take their
/// default or the patch's value, and every remaining value must satisfy the new rules.
pub fn carry_config(
    fields: &[ConfigField],
    stored: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<ConfigProblem>> {
    let kept: Map<String, Value> = stored
        .iter()
        .filter(|(k, _)| fields.iter().any(|f| &f.key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    update_config(fields, &kept, patch)
}

/// A workspace's overrides: only fields marked `workspace-override`, each valid; `null`
/// removes an override.
pub fn check_workspace_overrides(
    fields: &[ConfigField],
    overrides: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut kept = Map::new();
    for (key, value) in overrides {
        match fields.iter().find(|f| &f.key == key) {
            None => problems.push(problem(key, "is not a configuration field of this plugin")),
            Some(f) if !f.workspace_override => problems.push(problem(
                key,
                "is not marked `workspace-override`: only the tenant sets it",
            )),
            Some(_) if value.is_null() => {}
            Some(f) => match check_value(f, value) {
                Ok(()) => {
                    kept.insert(key.clone(), value.clone());
                }
                Err(p) => problems.push(p),
            },
        }
    }
    match problems.is_empty() {
        true => Ok(kept),
        false => Err(problems),
    }
}

/// `config` with the value of every `secret` field replaced by [`REDACTED`].
pub fn redact(fields: &[ConfigField], config: &Map<String, Value>) -> Map<String, Value> {
    config
        .iter()
        .map(|(key, value)| {
            let secret = fields
                .iter()
                .any(|f| &f.key == key && f.kind == ConfigType::Secret);
            let shown = match secret {
                true => Value::String(REDACTED.to_owned()),
                false => value.clone(),
            };
            (key.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::manifest::Manifest;

    fn fields() -> Vec<ConfigField> {
        let text = r#"
[plugin]
id = "crm"
name = "CRM"
version = "1.0.0"
description = "Contacts and deals"
authors = ["Ada <ada@example.com>"]
license = "MIT"
[frontend]
dist = "ui/dist"
remote-entry = "remoteEntry.js"
[[config]]
key = "currency"
type = "select"
options = ["USD", "EUR", "GBP"]
default = "USD"
workspace-override = true
[[config]]
key = "refresh"
type = "integer"
min = 60
max = 3600
required = true
[[config]]
key = "code"
type = "string"
pattern = "^[A-Z]{3}$"
[[config]]
key = "apiKey"
type = "secret"
[[config]]
key = "ratio"
type = "number"
max = 1
[[config]]
key = "on"
type = "boolean"
"#;
        match Manifest::parse(text) {
            Ok(m) => m.config,
            Err(e) => panic!("test manifest is invalid: {e}"),
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn keys(problems: &[ConfigProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.key.as_str()).collect()
    }

    #[test]
    fn defaults_are_applied_and_required_fields_demanded() {
        let resolved = resolve_config(&fields(), &object(json!({ "refresh": 60 })));
        assert_eq!(
            resolved,
            Ok(object(json!({ "currency": "USD", "refresh": 60 })))
        );
        let missing = resolve_config(&fields(), &Map::new()).unwrap_err();
        assert_eq!(keys(&missing), ["refresh"]);
        assert!(missing[0].message.contains("required"));
    }

    #[test]
    fn every_rule_is_refused_with_its_field_all_at_once() {
        let bad = object(json!({
            "currency": "JPY",
            "refresh": 59,
            "code": "usd",
            "apiKey": 12,
            "ratio": 1.5,
            "on": "yes",
            "colour": "red",
        }));
        let problems = resolve_config(&fields(), &bad).unwrap_err();
        let mut got = keys(&problems);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "apiKey", "code", "colour", "currency", "on", "ratio", "refresh"
            ]
        );
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.contains("below `min` 60")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("`pattern`")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("not one of")), "{text:?}");
        let too_big = resolve_config(&fields(), &object(json!({ "refresh": 3601 })));
        assert!(too_big.unwrap_err()[0].message.contains("above `max`"));
        let fraction = resolve_config(&fields(), &object(json!({ "refresh": 61.5 })));
        assert_eq!(keys(&fraction.unwrap_err()), ["refresh"]);
    }

    #[test]
    fn secrets_are_redacted_and_survive_a_redacted_round_trip() {
        let stored = object(json!({ "currency": "EUR", "refresh": 90, "apiKey": "s3cr3t" }));
        let shown = redact(&fields(), &stored);
        assert_eq!(shown["apiKey"], json!(REDACTED));
        assert_eq!(shown["currency"], json!("EUR"));
        let updated = update_config(&fields(), &stored, &shown).unwrap_or_default();
        assert_eq!(updated["apiKey"], json!("s3cr3t"));
        let reset = update_config(&fields(), &stored, &object(json!({ "currency": null })));
        assert_eq!(reset.unwrap_or_default()["currency"], json!("USD"));
    }

    #[test]
    fn upgrade_carries_known_values_and_reports_ones_the_new_rules_refuse() {
        let stored = object(json!({ "currency": "EUR", "refresh": 90, "gone": 1 }));
        let carried = carry_config(&fields(), &stored, &Map::new()).unwrap_or_default();
        assert!(!carried.contains_key("gone"));
        assert_eq!(carried["currency"], json!("EUR"));
        let mut narrower = fields();
        narrower[0].options = vec!["USD".into()];
        narrower[0].default = Some(json!("USD"));
        let refused = carry_config(&narrower, &stored, &Map::new()).unwrap_err();
        assert_eq!(keys(&refused), ["currency"]);
        let fixed = carry_config(&narrower, &stored, &object(json!({ "currency": "USD" })));
        assert_eq!(fixed.unwrap_or_default()["currency"], json!("USD"));
    }

    #[test]
    fn workspaces_override_only_marked_fields() {
        let ok = check_workspace_overrides(&fields(), &object(json!({ "currency": "GBP" })));
        assert_eq!(ok, Ok(object(json!({ "currency": "GBP" }))));
        let refused =
            check_workspace_overrides(&fields(), &object(json!({ "refresh": 100, "x": 1 })))
                .unwrap_err();
        assert_eq!(keys(&refused), ["refresh", "x"]);
        let bad = check_workspace_overrides(&fields(), &object(json!({ "currency": "JPY" })));
        assert_eq!(keys(&bad.unwrap_err()), ["currency"]);
    }
}
