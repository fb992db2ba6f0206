//! Dependency rules of an install or upgrade (core-api.md, "Plugins in a tenant"): required
//! plugins installed, active and in range; optional ones in range when present; conflicts in
//! either direction; no cycle among required dependencies; and, on upgrade, the plugins that
//! require this one still satisfied. Every problem is reported, not only the first.

use std::collections::{BTreeMap, BTreeSet};

use plexica_sdk::api::core::PluginState;
use plexica_sdk::manifest::Manifest;
use semver::Version;
use serde::Serialize;

/// What is installed in the tenant, as the rules see it.
#[derive(Debug, Clone)]
pub struct Installed<'a> {
    /// Version.
    pub version: &'a Version,
    /// State.
    pub state: PluginState,
    /// Its manifest.
    pub manifest: &'a Manifest,
}

/// One unmet rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyProblem {
    /// `missing`, `version`, `inactive`, `optional-version`, `conflict`, `cycle` or
    /// `required-by`.
    pub kind: &'static str,
    /// The other plugin concerned.
    pub plugin: String,
    /// For people.
    pub message: String,
}

fn problem(kind: &'static str, plugin: &str, message: String) -> DependencyProblem {
    DependencyProblem {
        kind,
        plugin: plugin.to_owned(),
        message,
    }
}

/// Checks `manifest` (to be installed, or upgraded to) against `installed` (every other
/// plugin of the tenant, by id; the plugin itself left out).
pub fn check(
    manifest: &Manifest,
    installed: &BTreeMap<String, Installed<'_>>,
) -> Vec<DependencyProblem> {
    let own = &manifest.plugin.id;
    let mut problems = Vec::new();
    for (id, req) in &manifest.dependencies.required {
        match installed.get(id) {
            None => problems.push(problem(
                "missing",
                id,
                format!("requires `{id}` {req}, which is not installed"),
            )),
            Some(dep) if !req.matches(dep.version) => problems.push(problem(
                "version",
                id,
                format!("requires `{id}` {req}, but {} is installed", dep.version),
            )),
            Some(dep) if dep.state != PluginState::Active => problems.push(problem(
                "inactive",
                id,
                format!(
                    "requires `{id}` to be active, but it is {}",
                    dep.state.as_str()
                ),
            )),
            Some(_) => {}
        }
    }
    for (id, req) in &manifest.dependencies.optional {
        if let Some(dep) = installed.get(id)
            && !req.matches(dep.version)
        {
            problems.push(problem(
                "optional-version",
                id,
                format!(
                    "works with `{id}` {req} when present, but {} is installed",
                    dep.version
                ),
            ));
        }
    }
    for id in &manifest.dependencies.conflicts {
        if installed.contains_key(id) {
            problems.push(problem(
                "conflict",
                id,
                format!("conflicts with `{id}`, which is installed"),
            ));
        }
    }
    for (id, other) in installed {
        if other.manifest.dependencies.conflicts.contains(own) {
            problems.push(problem(
                "conflict",
                id,
                format!("`{id}` is installed and conflicts with `{own}`"),
            ));
        }
        if let Some(req) = other.manifest.dependencies.required.get(own)
            && !req.matches(&manifest.plugin.version)
        {
            problems.push(problem(
                "required-by",
                id,
                format!(
                    "`{id}` requires `{own}` {req}, which {} does not satisfy",
                    manifest.plugin.version
                ),
            ));
        }
    }
    if let Some(cycle) = cycle_through(manifest, installed) {
        problems.push(problem(
            "cycle",
            cycle.get(1).map_or(own.as_str(), String::as_str),
            format!("required dependencies form a cycle: {}", cycle.join(" → ")),
        ));
    }
    problems
}

/// A path of required dependencies from `manifest`'s plugin back to itself, if there is one.
fn cycle_through(
    manifest: &Manifest,
    installed: &BTreeMap<String, Installed<'_>>,
) -> Option<Vec<String>> {
    let own = manifest.plugin.id.as_str();
    let requires = |id: &str| -> Vec<String> {
        let m = match id == own {
            true => Some(manifest),
            false => installed.get(id).map(|i| i.manifest),
        };
        m.map(|m| m.dependencies.required.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut path = vec![own.to_owned()];
    let mut visited = BTreeSet::new();
    fn walk(
        at: &str,
        own: &str,
        requires: &dyn Fn(&str) -> Vec<String>,
        path: &mut Vec<String>,
        visited: &mut BTreeSet<String>,
    ) -> bool {
        for next in requires(at) {
            path.push(next.clone());
            if next == own {
                return true;
            }
            if visited.insert(next.clone()) && walk(&next, own, requires, path, visited) {
                return true;
            }
            path.pop();
        }
        false
    }
    walk(own, own, &requires, &mut path, &mut visited).then_some(path)
}

/// The installed plugins that require `plugin_id` (an uninstall must wait for them).
pub fn dependents(plugin_id: &str, installed: &BTreeMap<String, Installed<'_>>) -> Vec<String> {
    installed
        .iter()
        .filter(|(_, i)| i.manifest.dependencies.required.contains_key(plugin_id))
        .map(|(id, _)| id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(id: &str, version: &str, deps: &str) -> Manifest {
        let text = format!(
            "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"{version}\"\n\
             description = \"A test plugin\"\nauthors = [\"Ada <a@example.com>\"]\n\
             license = \"MIT\"\n[frontend]\ndist = \"ui\"\nremote-entry = \"r.js\"\n\
             [dependencies]\n{deps}\n"
        );
        match Manifest::parse(&text) {
            Ok(m) => m,
            Err(e) => panic!("{id}: {e}"),
        }
    }

    fn tenant(plugins: &[(Manifest, PluginState)]) -> BTreeMap<String, Installed<'_>> {
        plugins
            .iter()
            .map(|(m, state)| {
                (
                    m.plugin.id.clone(),
                    Installed {
                        version: &m.plugin.version,
                        state: *state,
                        manifest: m,
                    },
                )
            })
            .collect()
    }

    fn kinds(problems: &[DependencyProblem]) -> Vec<(&str, &str)> {
        problems
            .iter()
            .map(|p| (p.kind, p.plugin.as_str()))
            .collect()
    }

    #[test]
    fn every_problem_of_the_matrix_is_listed_at_once() {
        let installed = [
            (manifest("crm", "1.4.0", ""), PluginState::Active),
            (manifest("billing", "2.0.0", ""), PluginState::Inactive),
            (manifest("mail", "0.9.0", ""), PluginState::Active),
            (manifest("legacy", "1.0.0", ""), PluginState::Active),
            (manifest("chat", "1.0.0", ""), PluginState::Active),
            (
                manifest("audit", "1.0.0", "conflicts = [\"analytics\"]"),
                PluginState::Active,
            ),
        ];
        let analytics = manifest(
            "analytics",
            "1.0.0",
            "required = { crm = \"^2\", billing = \"^2\", search = \"^1\" }\n\
             optional = { mail = \">=1\", chat = \"^1\" }\nconflicts = [\"legacy\"]",
        );
        let problems = check(&analytics, &tenant(&installed));
        assert_eq!(
            kinds(&problems),
            [
                ("inactive", "billing"),
                ("version", "crm"),
                ("missing", "search"),
                ("optional-version", "mail"),
                ("conflict", "legacy"),
                ("conflict", "audit"),
            ]
        );
        assert!(problems[1].message.contains("1.4.0"), "{problems:?}");
    }

    #[test]
    fn satisfied_dependencies_pass() {
        let installed = [(manifest("crm", "1.4.0", ""), PluginState::Active)];
        let analytics = manifest(
            "analytics",
            "1.0.0",
            "required = { crm = \"^1.0\" }\noptional = { mail = \"^1\" }",
        );
        assert!(check(&analytics, &tenant(&installed)).is_empty());
    }

    #[test]
    fn a_cycle_is_named_with_its_path() {
        let installed = [
            (
                manifest("analytics", "1.0.0", "required = { crm = \"^1\" }"),
                PluginState::Active,
            ),
            (manifest("crm", "1.0.0", ""), PluginState::Active),
        ];
        let crm2 = manifest("crm", "1.1.0", "required = { analytics = \"^1\" }");
        let mut others = tenant(&installed);
        others.remove("crm");
        let problems = check(&crm2, &others);
        assert_eq!(kinds(&problems), [("cycle", "analytics")]);
        assert!(problems[0].message.contains("crm → analytics → crm"));
    }

    #[test]
    fn an_upgrade_must_keep_its_dependents_satisfied() {
        let installed = [(
            manifest("analytics", "1.0.0", "required = { crm = \"^1\" }"),
            PluginState::Active,
        )];
        let crm2 = manifest("crm", "2.0.0", "");
        let others = tenant(&installed);
        assert_eq!(
            kinds(&check(&crm2, &others)),
            [("required-by", "analytics")]
        );
        assert_eq!(dependents("crm", &others), ["analytics"]);
    }
}
