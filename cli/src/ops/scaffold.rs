//! A new plugin from a template: the answers (id, name, description, author, template) given,
//! asked or defaulted; the files rendered; a Rust plugin gets the SDK this CLI carries
//! (`vendor/`, see [`sdk_copy`]) and its lock file, so that it builds anywhere.

use std::path::{Path, PathBuf};

use plexica_sdk::manifest::is_valid_plugin_id;
use serde::Serialize;

use crate::error::{CliError, CliResult, ExitKind, IoContext};
use crate::output::Ui;
use crate::sdk_copy;
use crate::templates::{self, RenderedFile, Template, Values};

/// What [`scaffold`] creates, and where.
#[derive(Debug, Clone, Default)]
pub struct NewOptions {
    /// Plugin id (asked on a terminal when missing).
    pub name: Option<String>,
    /// Template (asked on a terminal when missing; `rust-backend` otherwise).
    pub template: Option<Template>,
    /// Answers given up front, `KEY=VALUE`.
    pub set: Vec<String>,
    /// Directory to create [default: `./ID`].
    pub dir: Option<PathBuf>,
    /// The `sdk/` of a Plexica checkout to build against instead of the SDK this CLI carries.
    pub sdk_path: Option<PathBuf>,
    /// Write into a non-empty directory.
    pub force: bool,
}

/// The questions `new` asks, with the `--set` key that answers each.
const KEYS: [&str; 5] = ["id", "name", "description", "author", "template"];

/// The answers, once complete.
#[derive(Debug, Clone, Serialize)]
struct Answers {
    id: String,
    name: String,
    description: String,
    author: String,
    template: Template,
}

/// A plugin [`scaffold`] wrote (the JSON result of `plugin new`).
#[derive(Debug, Serialize)]
pub struct Created {
    /// Plugin id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The template it started from.
    pub template: Template,
    /// The plugin directory.
    pub path: String,
    /// The files written, relative to it.
    pub files: Vec<String>,
}

/// Scaffolds the plugin: the answers `options` gives, the others asked on a terminal or
/// defaulted; the template rendered into the directory (a Rust plugin with the SDK this CLI
/// carries, or the one at `sdk_path`, and its lock file).
pub fn scaffold(options: &NewOptions, ui: &Ui) -> CliResult<Created> {
    let answers = answers(options, ui)?;
    let dir = options
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&answers.id));
    ensure_writable(&dir, options.force)?;
    let sdk_patch = match &options.sdk_path {
        Some(path) => {
            let absolute = std::fs::canonicalize(path).context("find the SDK at", path)?;
            if !absolute.join("Cargo.toml").is_file() {
                return Err(CliError::usage(format!(
                    "{} is not a crate directory",
                    absolute.display()
                ))
                .with_help("pass the `sdk/` directory of a Plexica checkout"));
            }
            format!("{{ path = {:?} }}", absolute.display().to_string())
        }
        None => format!(
            "{{ path = \"{}/{}\" }}",
            sdk_copy::VENDOR_DIR,
            sdk_copy::SDK_DIR
        ),
    };
    let crate_name = answers.id.replace('-', "_");
    // A plugin's pages live under `/<id>`, unless that is one of the console's own paths.
    let mut route_prefix = format!("/{}", answers.id);
    if plexica_sdk::manifest::is_console_path(&route_prefix) {
        route_prefix.push_str("-plugin");
    }
    let values = Values {
        pairs: vec![
            ("plugin_id", answers.id.clone()),
            ("route_prefix", route_prefix),
            ("plugin_name", toml_escape(&answers.name)),
            ("description", toml_escape(&answers.description)),
            ("author", toml_escape(&answers.author)),
            ("crate_name", crate_name.clone()),
            ("table_prefix", crate_name),
            ("sdk_version", sdk_copy::VERSION.to_owned()),
            ("sdk_patch", sdk_patch),
        ],
    };
    let mut files = templates::render(answers.template, &values);
    if files.iter().any(|f| f.path == Path::new("Cargo.toml")) {
        // A Rust plugin builds against the SDK this CLI carries, with the dependency versions
        // it was tested with.
        if options.sdk_path.is_none() {
            files.extend(sdk_copy::files().map_err(|e| CliError::failed(e.to_string()))?);
        }
        files.push(RenderedFile {
            path: PathBuf::from("Cargo.lock"),
            contents: sdk_copy::LOCK_FILE.as_bytes().to_vec(),
        });
    }
    templates::write_files(&dir, &files)?;
    let created = Created {
        id: answers.id.clone(),
        name: answers.name.clone(),
        template: answers.template,
        path: dir.display().to_string(),
        files: files.iter().map(|f| f.path.display().to_string()).collect(),
    };
    ui.status(
        "Created",
        format!(
            "{} plugin `{}` in {}",
            answers.template.name(),
            answers.id,
            dir.display()
        ),
    );
    Ok(created)
}

/// Escapes a value placed inside a TOML basic string of a template.
fn toml_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn answers(options: &NewOptions, ui: &Ui) -> CliResult<Answers> {
    let mut set: std::collections::BTreeMap<&str, String> = Default::default();
    for item in &options.set {
        let (key, value) = item.split_once('=').ok_or_else(|| {
            CliError::usage(format!("`--set {item}` is not KEY=VALUE"))
                .with_help(format!("keys: {}", KEYS.join(", ")))
        })?;
        let known = KEYS.iter().find(|k| **k == key).ok_or_else(|| {
            CliError::usage(format!("unknown answer `{key}` in --set"))
                .with_help(format!("keys: {}", KEYS.join(", ")))
        })?;
        set.insert(known, value.to_owned());
    }
    let id = match options.name.clone().or_else(|| set.remove("id")) {
        Some(id) => id,
        None if ui.interactive() => prompt_id()?,
        None => {
            return Err(CliError::usage("missing the plugin id")
                .with_help("pass NAME (`plexica plugin new crm`) or `--set id=crm`"));
        }
    };
    if !is_valid_plugin_id(&id) {
        return Err(
            CliError::usage(format!("`{id}` is not a valid plugin id")).with_help(
                "use 2-63 lowercase letters, digits and single `-`, starting with a letter",
            ),
        );
    }
    let template = match (options.template, set.remove("template")) {
        (Some(t), _) => t,
        (None, Some(name)) => Template::named(&name).ok_or_else(|| {
            CliError::usage(format!("unknown template `{name}`"))
                .with_help("templates: rust-backend, frontend, fullstack")
        })?,
        (None, None) if ui.interactive() => prompt_template()?,
        (None, None) => Template::RustBackend,
    };
    let default_name = title_case(&id);
    let default_description = format!("{default_name}: a Plexica plugin.");
    let default_author =
        git_author().unwrap_or_else(|| "Plugin Author <author@example.com>".into());
    let mut answer = |key: &str, label: &str, default: String| -> CliResult<String> {
        match set.remove(key) {
            Some(value) => Ok(value),
            None if ui.interactive() => prompt_text(label, Some(default)),
            None => Ok(default),
        }
    };
    let name = single_line("name", answer("name", "Display name", default_name)?)?;
    let description = single_line(
        "description",
        answer("description", "Description", default_description)?,
    )?;
    let author = single_line("author", answer("author", "Author", default_author)?)?;
    Ok(Answers {
        id,
        name,
        description,
        author,
        template,
    })
}

/// Answers are placed inside string literals of the templates: one line, no control characters.
fn single_line(key: &str, value: String) -> CliResult<String> {
    if value.chars().any(char::is_control) {
        return Err(CliError::usage(format!(
            "the {key} may not contain line breaks or control characters"
        ))
        .with_help(format!("pass a single line with --set {key}=…")));
    }
    Ok(value)
}

fn prompt_text(label: &str, default: Option<String>) -> CliResult<String> {
    let theme = dialoguer::theme::SimpleTheme;
    let mut input = dialoguer::Input::<String>::with_theme(&theme).with_prompt(label);
    if let Some(default) = default {
        input = input.default(default);
    }
    input
        .interact_text()
        .map_err(|e| CliError::usage(format!("no answer for `{label}`: {e}")))
}

/// Asks for the plugin id, again until it is valid.
fn prompt_id() -> CliResult<String> {
    dialoguer::Input::<String>::with_theme(&dialoguer::theme::SimpleTheme)
        .with_prompt("Plugin id")
        .validate_with(|id: &String| match is_valid_plugin_id(id) {
            true => Ok(()),
            false => Err("2-63 lowercase letters, digits and single `-`, starting with a letter"),
        })
        .interact_text()
        .map_err(|e| CliError::usage(format!("no plugin id: {e}")))
}

fn prompt_template() -> CliResult<Template> {
    let names: Vec<&str> = Template::ALL.iter().map(|t| t.name()).collect();
    let theme = dialoguer::theme::SimpleTheme;
    let index = dialoguer::Select::with_theme(&theme)
        .with_prompt("Template")
        .items(&names)
        .default(0)
        .interact()
        .map_err(|e| CliError::usage(format!("no template chosen: {e}")))?;
    Ok(Template::ALL[index])
}

fn title_case(id: &str) -> String {
    id.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn git_author() -> Option<String> {
    let read = |key: &str| {
        std::process::Command::new("git")
            .args(["config", "--get", key])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    Some(format!("{} <{}>", read("user.name")?, read("user.email")?))
}

fn ensure_writable(dir: &Path, force: bool) -> CliResult {
    let non_empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if non_empty && !force {
        return Err(CliError::new(
            ExitKind::Conflict,
            format!("{} already exists and is not empty", dir.display()),
        )
        .with_help("choose another --dir, or pass --force to write into it"));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::new(
            ExitKind::Conflict,
            format!("{} exists and is not a directory", dir.display()),
        ));
    }
    Ok(())
}
