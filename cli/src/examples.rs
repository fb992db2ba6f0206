//! Examples for the commands whose definitions carry none, shown under "Examples:" in their
//! `--help` and manual pages. A test parses every example, so none drifts from the flags.

use clap::Command;

/// Command path → example lines (a `#` starts a comment for people).
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "events tail",
        &[
            "plexica events tail --tenant acme",
            "plexica events tail --tenant acme --type 'crm.*' --from-start --count 10 -o json",
        ],
    ),
    (
        "events dlq list",
        &[
            "plexica events dlq list",
            "plexica events dlq list --state pending -o json",
        ],
    ),
    ("events dlq show", &["plexica events dlq show 01JD6Y1T0Q8W"]),
    (
        "events dlq retry",
        &[
            "plexica events dlq retry 01JD6Y1T0Q8W",
            "plexica events dlq retry --all --type crm.contact.created",
        ],
    ),
    (
        "events dlq delete",
        &["plexica events dlq delete 01JD6Y1T0Q8W --yes"],
    ),
    (
        "keys list",
        &["plexica keys list", "plexica keys ls -o json"],
    ),
    ("keys register", &["plexica keys register default"]),
    (
        "keys export",
        &["plexica keys export default > default.pub"],
    ),
    (
        "login",
        &[
            "plexica login                       # the profile's core API, else its registry",
            "plexica login --api-url http://127.0.0.1:7800 --tenant acme --username ada@acme.test",
            "printenv REGISTRY_TOKEN | plexica login --registry --token-stdin   # in CI",
        ],
    ),
    (
        "plugin new",
        &[
            "plexica plugin new crm",
            "plexica plugin new crm --template fullstack --set name='Acme CRM'",
        ],
    ),
    (
        "plugin validate",
        &[
            "plexica plugin validate",
            "plexica plugin validate crm --deny-warnings -o json",
        ],
    ),
    (
        "plugin build",
        &[
            "plexica plugin build",
            "plexica plugin build --debug --skip-frontend",
        ],
    ),
    (
        "plugin dev",
        &[
            "plexica plugin dev",
            "plexica plugin dev --tenant acme --port-ui 0",
        ],
    ),
    (
        "plugin test",
        &[
            "plexica plugin test",
            "plexica plugin test -- contacts_are_listed",
        ],
    ),
    (
        "plugin package",
        &["plexica plugin package", "plexica plugin package --list"],
    ),
    (
        "plugin sign",
        &["plexica plugin sign target/plexica/crm-0.1.0.pxp --key release"],
    ),
    (
        "plugin verify",
        &[
            "plexica plugin verify crm-0.1.0.pxp",
            "plexica plugin verify crm-0.1.0.pxp --key ./release.pub",
        ],
    ),
    (
        "plugin publish",
        &[
            "plexica plugin publish              # build, validate, package, sign, upload",
            "plexica plugin publish --dry-run",
            "plexica plugin publish crm-0.1.0.pxp --registry staging",
        ],
    ),
    (
        "plugin search",
        &[
            "plexica plugin search crm",
            "plexica plugin search report --sort downloads",
        ],
    ),
    (
        "plugin info",
        &[
            "plexica plugin info crm",
            "plexica plugin info crm@1.2.0 -o json",
        ],
    ),
    (
        "plugin download",
        &[
            "plexica plugin download crm",
            "plexica plugin download crm@1.2.0 --out crm.pxp",
        ],
    ),
    (
        "plugin yank",
        &["plexica plugin yank crm@1.2.0 --reason 'leaks the API key in logs'"],
    ),
    (
        "plugin deprecate",
        &["plexica plugin deprecate crm --message 'use acme-crm' --successor acme-crm"],
    ),
    ("plugin owner add", &["plexica plugin owner add crm bob"]),
    ("plugin owner list", &["plexica plugin owner list crm"]),
    (
        "plugin owner remove",
        &["plexica plugin owner remove crm bob"],
    ),
    ("plugin sdk update", &["plexica plugin sdk update"]),
    (
        "profile list",
        &["plexica profile list", "plexica profile ls -o json"],
    ),
    ("profile use", &["plexica profile use staging"]),
    (
        "profile show",
        &[
            "plexica profile show",
            "plexica profile show staging -o json",
        ],
    ),
    ("profile unset", &["plexica profile unset default-tenant"]),
    (
        "quickstart",
        &["plexica quickstart", "plexica quickstart --keep -o json"],
    ),
    (
        "registry user add",
        &[
            "plexica registry user add ada",
            "plexica registry user add ada --expires-in-days 3",
        ],
    ),
    (
        "registry signup",
        &[
            "PLEXICA_REGISTRY_INVITE=plxi_… plexica registry signup ada --registry-url https://registry.example.com",
        ],
    ),
    (
        "token list",
        &["plexica token list", "plexica token ls --registry -o json"],
    ),
    (
        "token revoke",
        &["plexica token revoke 0193c3a2 --registry"],
    ),
    (
        "tenant create",
        &[
            "plexica tenant create acme --name 'Acme Corp'",
            "plexica tenant create acme --name 'Acme Corp' --admin-email admin@acme.test -o json",
        ],
    ),
    (
        "tenant list",
        &[
            "plexica tenant list",
            "plexica tenant ls --status suspended --search acme",
        ],
    ),
    ("tenant get", &["plexica tenant get acme"]),
    (
        "tenant update",
        &["plexica tenant update acme --name 'Acme Inc.'"],
    ),
    ("tenant suspend", &["plexica tenant suspend acme"]),
    ("tenant activate", &["plexica tenant activate acme"]),
    (
        "tenant delete",
        &[
            "plexica tenant delete acme          # soft: reversible with `tenant activate`",
            "plexica tenant delete acme --hard --yes",
        ],
    ),
    (
        "tenant user add",
        &[
            "plexica tenant user add acme ada@acme.test --roles admin",
            "printenv ADA_PASSWORD | plexica tenant user add acme ada@acme.test --password-stdin",
        ],
    ),
    ("tenant user list", &["plexica tenant user list acme"]),
    (
        "tenant user remove",
        &["plexica tenant user remove acme 0193c3a2"],
    ),
    (
        "tenant user set-roles",
        &["plexica tenant user set-roles acme 0193c3a2 member,billing"],
    ),
    (
        "tenant role create",
        &["plexica tenant role create acme billing --permissions invoices:read,invoices:write"],
    ),
    ("tenant role list", &["plexica tenant role list acme"]),
    ("tenant plugin list", &["plexica tenant plugin list acme"]),
    (
        "tenant plugin get",
        &["plexica tenant plugin get acme crm -o json"],
    ),
    (
        "tenant plugin logs",
        &[
            "plexica tenant plugin logs acme crm -n 50",
            "plexica tenant plugin logs acme crm --follow",
        ],
    ),
    (
        "tenant plugin activate",
        &["plexica tenant plugin activate acme crm"],
    ),
    (
        "tenant plugin deactivate",
        &["plexica tenant plugin deactivate acme crm"],
    ),
    (
        "tenant plugin configure",
        &["plexica tenant plugin configure acme crm --set refresh=300 --unset currency"],
    ),
    (
        "tenant plugin uninstall",
        &[
            "plexica tenant plugin uninstall acme crm",
            "plexica tenant plugin uninstall acme crm --purge --yes",
        ],
    ),
    (
        "workspace create",
        &["plexica workspace create sales --tenant acme --name Sales"],
    ),
    (
        "workspace list",
        &[
            "plexica workspace list --tenant acme",
            "plexica workspace ls --sort=-created_at",
        ],
    ),
    (
        "workspace get",
        &["plexica workspace get sales --tenant acme"],
    ),
    (
        "workspace update",
        &["plexica workspace update sales --tenant acme --description 'EMEA sales'"],
    ),
    (
        "workspace delete",
        &["plexica workspace delete sales --tenant acme --yes"],
    ),
    (
        "workspace member add",
        &["plexica workspace member add sales ada@acme.test --tenant acme --role admin"],
    ),
    (
        "workspace member list",
        &["plexica workspace member list sales --tenant acme"],
    ),
    (
        "workspace member set-role",
        &["plexica workspace member set-role sales 0193c3a2 --role viewer --tenant acme"],
    ),
    (
        "workspace member remove",
        &["plexica workspace member remove sales 0193c3a2 --tenant acme"],
    ),
    (
        "workspace team create",
        &["plexica workspace team create sales closers --tenant acme"],
    ),
    (
        "workspace team list",
        &["plexica workspace team list sales --tenant acme"],
    ),
    (
        "workspace plugin-settings get",
        &["plexica workspace plugin-settings get sales crm --tenant acme"],
    ),
    (
        "workspace plugin-settings set",
        &["plexica workspace plugin-settings set sales crm currency=EUR --tenant acme"],
    ),
];

/// `command` (the command-line definition) with every command's examples: what is parsed,
/// completed and turned into manual pages (`cli::command`).
pub fn add_examples(command: Command) -> Command {
    with_examples(command, "")
}

fn with_examples(mut command: Command, path: &str) -> Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        let sub_path = match path.is_empty() {
            true => name.clone(),
            false => format!("{path} {name}"),
        };
        command = command.mut_subcommand(&name, |sub| with_examples(sub, &sub_path));
    }
    let Some((_, lines)) = EXAMPLES.iter().find(|(p, _)| *p == path) else {
        return command;
    };
    let examples = format!("Examples:\n  {}", lines.join("\n  "));
    let text = match command.get_after_help() {
        Some(existing) => format!("{existing}\n\n{examples}"),
        None => examples,
    };
    command.after_help(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command;

    /// The words of an example as a shell would split them (quotes kept together), up to a
    /// comment, a pipe or a redirection; the leading `VAR=…` assignments and commands before
    /// a pipe dropped.
    fn words(line: &str) -> Vec<String> {
        let line = line
            .split(" | ")
            .find(|part| part.split(' ').any(|w| w == "plexica"))
            .unwrap_or(line);
        let line = line.split(" && ").next().unwrap_or(line);
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => quote = Some(c),
                (None, ' ') => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                (None, c) => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        let end = words
            .iter()
            .position(|w| w == "#" || w.starts_with('>'))
            .unwrap_or(words.len());
        words.truncate(end);
        words.retain(|w| !(w.contains('=') && w.chars().next().is_some_and(char::is_uppercase)));
        words
    }

    fn leaves(command: &Command, path: &str, found: &mut Vec<(String, Option<String>)>) {
        let mut subcommands = command.get_subcommands().peekable();
        if subcommands.peek().is_none() {
            found.push((
                path.to_owned(),
                command.get_after_help().map(ToString::to_string),
            ));
        }
        for sub in subcommands {
            leaves(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_command_has_examples_and_every_example_parses() {
        let mut found = Vec::new();
        leaves(&command(), "plexica", &mut found);
        let mut missing = Vec::new();
        let mut checked = 0;
        for (path, help) in &found {
            let Some(examples) = help.as_deref().and_then(|h| h.split_once("Examples:")) else {
                missing.push(path.clone());
                continue;
            };
            for line in examples.1.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let words = words(line);
                assert_eq!(words.first().map(String::as_str), Some("plexica"), "{line}");
                if let Err(e) = command().try_get_matches_from(&words) {
                    panic!("`{line}` ({path}) does not parse: {e}");
                }
                checked += 1;
            }
        }
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
        assert!(checked > 100, "{checked} examples");
    }

    #[test]
    fn examples_name_commands_that_exist() {
        let mut found = Vec::new();
        leaves(&command(), "", &mut found);
        for (path, _) in EXAMPLES {
            assert!(
                found.iter().any(|(leaf, _)| leaf.trim() == *path),
                "no command `{path}`"
            );
        }
    }
}
