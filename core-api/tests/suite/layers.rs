//! The core API's layers (ARCHITECTURE.md, "Layers"), checked on its source: no import cycle
//! between modules, and no module importing what its layer may not know.
//!
//! The graph is read by [`ModuleGraph`] (testkit), from the text of `src/`.

use std::path::Path;

use plexica_testkit::layers::{ModuleGraph, within};

/// What the bottom layers may import at all: `(modules, allowed)`; `x` matches `x` and `x::…`.
const ONLY: &[(&[&str], &[&str])] = &[
    // Leaves: nothing of the crate, or another leaf.
    (
        &[
            "slug",
            "secrets",
            "metrics",
            "transport",
            "registry",
            "auth::sealing",
            "plugins::client",
            "plugins::sandbox",
            "plugins::deps",
            "plugins::logs",
        ],
        &["secrets"],
    ),
    (&["config"], &["auth::sealing", "plugins::sandbox"]),
    // Storage: its own modules and the leaves; never errors' HTTP form, auth, events,
    // services, app state or HTTP.
    (&["db"], &["db", "slug", "secrets"]),
    (&["error"], &["db"]),
];

/// What the layers above storage may not import: `(modules, forbidden)`.
const FORBIDDEN: &[(&[&str], &[&str])] = &[
    // Authentication, authorization and the caches sit on storage: no events, services, app
    // state or HTTP.
    (
        &["auth", "authz", "caches", "invalidation", "limits"],
        &[
            "events",
            "plugins",
            "gateway",
            "provision",
            "retention",
            "state",
            "routes",
        ],
    ),
    // Events, tenants, plugins and the gateway never reach up to the app state or HTTP.
    (
        &["events", "plugins", "gateway", "provision", "retention"],
        &["state", "routes"],
    ),
    // Only the composition root and the HTTP layer know the HTTP layer.
    (&["state"], &["routes"]),
];

/// Modules that may name axum: the HTTP layer and the composition root.
const AXUM_ALLOWED: &[&str] = &["crate", "routes"];

fn graph() -> ModuleGraph {
    ModuleGraph::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).expect("the sources")
}

#[test]
fn the_graph_of_this_crate_is_read() {
    let graph = graph();
    let events = &graph.imports["routes::events"];
    assert!(events.contains("routes::correlation"), "{events:?}");
    assert!(events.contains("db::outbox"), "{events:?}");
    assert!(graph.naming(&["axum"]).contains("routes::guard"));
}

#[test]
fn no_import_cycle_between_modules() {
    let graph = graph();
    let found = graph.cycles();
    assert!(
        found.is_empty(),
        "modules that import each other (break the cycle; see ARCHITECTURE.md, Layers): {found:#?}"
    );
}

#[test]
fn no_layer_imports_what_it_may_not() {
    let graph = graph();
    let mut broken = Vec::new();
    for (layer, allowed) in ONLY {
        for (module, imports) in &graph.imports {
            if !layer.iter().any(|l| within(module, l)) {
                continue;
            }
            for target in imports {
                if !allowed.iter().any(|a| within(target, a)) {
                    broken.push(format!("{module} imports {target}"));
                }
            }
        }
    }
    for (layer, forbidden) in FORBIDDEN {
        for (module, imports) in &graph.imports {
            if !layer.iter().any(|l| within(module, l)) {
                continue;
            }
            for target in imports {
                if forbidden.iter().any(|f| within(target, f)) {
                    broken.push(format!("{module} imports {target}"));
                }
            }
        }
    }
    for module in &graph.naming(&["axum"]) {
        if !AXUM_ALLOWED.iter().any(|a| within(module, a)) {
            broken.push(format!("{module} names axum (only the HTTP layer may)"));
        }
    }
    assert!(
        broken.is_empty(),
        "layer rules broken:\n{}",
        broken.join("\n")
    );
}
