//! The plugin configuration `tenant plugin install|upgrade|configure` and `workspace
//! plugin-settings set` send: values from the command
//! line (never a secret's: argv is visible to every process and kept in shell history), a
//! file, standard input or a prompt; and, on a terminal, questions for the required fields
//! still missing. The core API checks every value again; this module only asks well.

use std::path::Path;

use plexica_sdk::manifest::config::resolve_config;
use plexica_sdk::manifest::{ConfigField, ConfigType};
use serde_json::{Map, Value};

use crate::client::ClientError;
use crate::error::{CliError, CliResult, IoContext};
use crate::output::Ui;

/// Parses `KEY=VALUE`: VALUE is JSON when it parses as JSON, else taken as a string.
pub fn parse_setting(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("`{text}` has no key before `=`"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

/// Refuses any of `keys` that names a secret field: it came on the command line (`flag`);
/// the help names `stdin_flag`, this command's way to give it.
pub fn refuse_secrets<'a>(
    fields: &[ConfigField],
    keys: impl IntoIterator<Item = &'a String>,
    flag: &str,
    stdin_flag: &str,
) -> CliResult<()> {
    let secret = keys.into_iter().find(|key| {
        fields
            .iter()
            .any(|f| &f.key == *key && f.kind == ConfigType::Secret)
    });
    match secret {
        None => Ok(()),
        Some(key) => Err(CliError::usage(format!(
            "`{key}` is a secret: it may not be given on the command line ({flag})"
        ))
        .with_help(format!(
            "pipe it in with `{stdin_flag} {key}` (asked for with a hidden prompt on a terminal){}",
            match stdin_flag {
                "--config-stdin" => ", or put it in a --config-file",
                _ => "",
            }
        ))),
    }
}

/// The value of `key` read from standard input, or asked for with a hidden prompt on a
/// terminal. Text and secret fields take it as it is; other kinds as JSON when it parses.
pub fn stdin_value(fields: &[ConfigField], key: &str, ui: &Ui, flag: &str) -> CliResult<Value> {
    let Some(field) = fields.iter().find(|f| f.key == key) else {
        let known: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
        return Err(
            CliError::usage(format!("{flag}: `{key}` is not a configuration field")).with_help(
                match known.is_empty() {
                    true => "this plugin has no configuration".to_owned(),
                    false => format!("its fields: {}", known.join(", ")),
                },
            ),
        );
    };
    if ui.can_prompt() {
        return ask(field);
    }
    let text = crate::prompt::read_stdin(&format!("value of `{key}`"))?;
    Ok(match field.kind {
        ConfigType::Secret | ConfigType::String | ConfigType::Text => Value::String(text),
        _ => serde_json::from_str(&text).unwrap_or(Value::String(text)),
    })
}

/// Fields that must be given and are not: required, without a default, neither in `values`
/// nor kept (`kept` says whether the installed configuration already holds a key).
fn missing<'a>(
    fields: &'a [ConfigField],
    values: &Map<String, Value>,
    kept: impl Fn(&str) -> bool,
) -> Vec<&'a ConfigField> {
    fields
        .iter()
        .filter(|f| f.required && f.default.is_none())
        .filter(|f| !values.contains_key(&f.key) && !kept(&f.key))
        .collect()
}

/// Completes `values` with the required fields still missing: asked for on a terminal (hidden
/// for secrets), otherwise an error naming the flags that give them. `what` names the plugin
/// version (`hello 0.3.0`).
pub fn complete(
    fields: &[ConfigField],
    values: &mut Map<String, Value>,
    kept: impl Fn(&str) -> bool,
    what: &str,
    ui: &Ui,
) -> CliResult<()> {
    let missing = missing(fields, values, kept);
    if missing.is_empty() {
        return Ok(());
    }
    if !ui.can_prompt() {
        let keys: Vec<String> = missing.iter().map(|f| format!("`{}`", f.key)).collect();
        let ways: Vec<String> = missing.iter().map(|f| flag_for(f)).collect();
        return Err(CliError::usage(format!(
            "{what} requires {} and {} not given",
            keys.join(", "),
            if keys.len() == 1 {
                "it was"
            } else {
                "they were"
            }
        ))
        .with_help(format!(
            "pass {}, or put the values in --config-file FILE",
            ways.join(" and ")
        )));
    }
    for field in missing {
        let value = ask(field)?;
        values.insert(field.key.clone(), value);
    }
    Ok(())
}

/// The flag that gives `field` from a script.
fn flag_for(field: &ConfigField) -> String {
    match field.kind {
        ConfigType::Secret => format!("--config-stdin {} (its value on stdin)", field.key),
        _ => format!("--config {}=VALUE", field.key),
    }
}

/// Asks for one field's value, again until it satisfies the field's rules.
fn ask(field: &ConfigField) -> CliResult<Value> {
    let theme = dialoguer::theme::SimpleTheme;
    let label = match &field.label {
        Some(label) => format!("{label} ({})", field.key),
        None => field.key.clone(),
    };
    let cancelled = |e: dialoguer::Error| {
        CliError::usage(format!("no value for `{}`: {e}", field.key)).with_help(flag_for(field))
    };
    let value = match field.kind {
        ConfigType::Secret => dialoguer::Password::with_theme(&theme)
            .with_prompt(label)
            .validate_with(|text: &String| check(field, Value::String(text.clone())))
            .interact()
            .map(Value::String),
        ConfigType::Boolean => dialoguer::Confirm::with_theme(&theme)
            .with_prompt(label)
            .interact()
            .map(Value::Bool),
        ConfigType::Select if !field.options.is_empty() => dialoguer::Select::with_theme(&theme)
            .with_prompt(label)
            .items(&field.options)
            .default(0)
            .interact()
            .map(|i| Value::String(field.options[i].clone())),
        ConfigType::Multiselect if !field.options.is_empty() => {
            dialoguer::MultiSelect::with_theme(&theme)
                .with_prompt(label)
                .items(&field.options)
                .interact()
                .map(|picked| {
                    Value::Array(
                        picked
                            .into_iter()
                            .map(|i| Value::String(field.options[i].clone()))
                            .collect(),
                    )
                })
        }
        _ => dialoguer::Input::<String>::with_theme(&theme)
            .with_prompt(label)
            .validate_with(|text: &String| check(field, typed(field, text)))
            .interact_text()
            .map(|text| typed(field, &text)),
    };
    value.map_err(cancelled)
}

/// `text` as the field's kind expects it: numbers and JSON parsed, text as it is.
fn typed(field: &ConfigField, text: &str) -> Value {
    match field.kind {
        ConfigType::String | ConfigType::Text | ConfigType::Secret => Value::String(text.into()),
        _ => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())),
    }
}

/// Whether `value` satisfies `field`'s rules, with the reason when it does not.
fn check(field: &ConfigField, value: Value) -> Result<(), String> {
    let given = Map::from_iter([(field.key.clone(), value)]);
    match resolve_config(std::slice::from_ref(field), &given) {
        Ok(_) => Ok(()),
        Err(problems) => Err(problems
            .iter()
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// Reads a `--config-file`: a JSON or TOML object (by extension; otherwise JSON, then TOML).
pub fn read_config_file(path: &Path) -> CliResult<Map<String, Value>> {
    let text = std::fs::read_to_string(path).context("read", path)?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let as_json = || serde_json::from_str::<Value>(&text).map_err(|e| e.to_string());
    let as_toml = || toml::from_str::<Value>(&text).map_err(|e| e.to_string());
    let parsed = match extension {
        "json" => as_json(),
        "toml" => as_toml(),
        _ => as_json().or_else(|_| as_toml()),
    };
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CliError::usage(format!(
            "{} does not hold an object of configuration values",
            path.display()
        ))
        .with_help("write e.g. {\"currency\": \"EUR\"} (JSON) or currency = \"EUR\" (TOML)")),
        Err(e) => Err(CliError::usage(format!(
            "{} is neither JSON nor TOML: {e}",
            path.display()
        ))),
    }
}

/// `--set`/`--unset` (or positional settings) as one object: set values, and `null` for the
/// keys to unset. A key both set and unset is a usage error.
pub fn changes(set: Vec<(String, Value)>, unset: Vec<String>) -> CliResult<Map<String, Value>> {
    let mut changes: Map<String, Value> = set.into_iter().collect();
    for key in unset {
        if changes.contains_key(&key) {
            return Err(
                CliError::usage(format!("`{key}` is both set and unset")).with_help("pass it once")
            );
        }
        changes.insert(key, Value::Null);
    }
    Ok(changes)
}

/// `error` as a command's error; when the server refused the configuration
/// (`CONFIG_INVALID…`), with a help line naming the flags that fix it (`flags`: how this
/// command takes values).
pub fn with_fix(error: ClientError, flags: &str) -> CliError {
    let refused = error.has_code("CONFIG_INVALID") || error.has_code("CONFIG_INVALID_FOR_UPGRADE");
    let error = CliError::from(error);
    match refused {
        true => error.with_help(format!(
            "{flags}; `plexica plugin info ID` lists the fields and their rules"
        )),
        false => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unset_keys_become_null_and_may_not_also_be_set() -> CliResult {
        let set = vec![("a".to_owned(), Value::from(1))];
        let map = changes(set.clone(), vec!["b".to_owned()])?;
        assert_eq!(
            map,
            serde_json::json!({"a": 1, "b": null})
                .as_object()
                .cloned()
                .unwrap_or_default()
        );
        assert!(changes(set, vec!["a".to_owned()]).is_err());
        Ok(())
    }

    fn field(key: &str, kind: ConfigType, required: bool) -> ConfigField {
        serde_json::from_value(json!({ "key": key, "type": "string" }))
            .map(|f: ConfigField| ConfigField {
                kind,
                required,
                ..f
            })
            .unwrap_or_else(|e| panic!("field: {e}"))
    }

    #[test]
    fn values_are_json_when_they_parse_else_strings() {
        assert_eq!(
            parse_setting("refresh=120"),
            Ok(("refresh".to_owned(), Value::from(120)))
        );
        assert_eq!(
            parse_setting("currency=EUR"),
            Ok(("currency".to_owned(), Value::from("EUR")))
        );
        assert_eq!(
            parse_setting("url=http://x/?a=b"),
            Ok(("url".to_owned(), Value::from("http://x/?a=b")))
        );
        assert_eq!(
            parse_setting("tags=[\"a\"]"),
            Ok(("tags".to_owned(), json!(["a"])))
        );
        assert_eq!(
            parse_setting("empty="),
            Ok(("empty".to_owned(), Value::from("")))
        );
        assert!(parse_setting("novalue").is_err());
        assert!(parse_setting("=1").is_err());
    }

    #[test]
    fn secrets_on_the_command_line_are_refused_by_name() {
        let fields = [
            field("region", ConfigType::String, false),
            field("api_key", ConfigType::Secret, true),
        ];
        assert!(
            refuse_secrets(
                &fields,
                [&"region".to_owned()],
                "--config",
                "--config-stdin"
            )
            .is_ok()
        );
        let err = refuse_secrets(
            &fields,
            [&"api_key".to_owned()],
            "--config",
            "--config-stdin",
        )
        .err()
        .map(|e| (e.message, e.help.unwrap_or_default()));
        let (message, help) = err.unwrap_or_default();
        assert!(message.contains("`api_key` is a secret"), "{message}");
        assert!(help.contains("--config-stdin api_key"), "{help}");
    }

    #[test]
    fn required_fields_without_default_or_value_are_missing() {
        let mut with_default = field("currency", ConfigType::String, true);
        with_default.default = Some(json!("EUR"));
        let fields = [
            with_default,
            field("api_key", ConfigType::Secret, true),
            field("region", ConfigType::String, true),
            field("note", ConfigType::String, false),
        ];
        let given = Map::from_iter([("region".to_owned(), json!("eu"))]);
        let keys = |kept: &dyn Fn(&str) -> bool| {
            missing(&fields, &given, kept)
                .iter()
                .map(|f| f.key.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&|_| false), ["api_key"]);
        assert!(keys(&|k| k == "api_key").is_empty());
    }

    #[test]
    fn typed_values_follow_the_field_kind() {
        let number = field("n", ConfigType::Integer, false);
        assert_eq!(typed(&number, "12"), json!(12));
        let text = field("t", ConfigType::String, false);
        assert_eq!(typed(&text, "12"), json!("12"));
        assert!(check(&number, typed(&number, "x")).is_err());
        assert!(check(&number, typed(&number, "3")).is_ok());
    }
}
