// The Module Federation host. Plugins' remotes are registered at run time from the
// ui-modules answer and loaded with native `import()` (ES-module remotes, `type: "module"`:
// no `new Function`, no eval, so the console's CSP holds). React, ReactDOM (and its client
// entry) and the JSX runtime are provided from the console's own copies as singletons, so
// every plugin renders with the console's React.

import * as React from "react";
import * as ReactDOM from "react-dom";
import * as ReactDOMClient from "react-dom/client";
import * as JsxRuntime from "react/jsx-runtime";
import { createInstance } from "@module-federation/enhanced/runtime";

const REQUIRED = "^19.0.0";

/** A shared module provided from the console's own copy. */
const provide = (lib) => ({
  version: React.version,
  lib: () => lib,
  shareConfig: { singleton: true, requiredVersion: REQUIRED },
});

const federation = createInstance({
  name: "plexica_console",
  remotes: [],
  shared: {
    react: provide(React),
    "react-dom": provide(ReactDOM),
    "react-dom/client": provide(ReactDOMClient),
    "react/jsx-runtime": provide(JsxRuntime),
  },
});

/** The MF name of a plugin's remote: its id with `-` turned into `_`. */
const remoteName = (pluginId) => pluginId.replace(/-/g, "_");

/** Remote name → the entry URL it is registered with. */
const registered = new Map();

/**
 * Registers the remotes of the plugins in a ui-modules answer (again when a plugin's entry
 * changed, e.g. after an upgrade).
 *
 * @param {{id: string, remote_entry: string}[]} plugins
 */
export function registerPlugins(plugins) {
  const changed = plugins
    .filter((p) => p.remote_entry && registered.get(remoteName(p.id)) !== p.remote_entry)
    .map((p) => ({ name: remoteName(p.id), entry: p.remote_entry, type: "module" }));
  if (changed.length === 0) return;
  federation.registerRemotes(changed, { force: true });
  for (const remote of changed) registered.set(remote.name, remote.entry);
}

/**
 * Loads an exposed module of a plugin and returns its default export, which must be a React
 * component.
 *
 * @param {string} pluginId
 * @param {string} module the `[[frontend.modules]]` name, exposed as `./<name>`
 */
export async function loadComponent(pluginId, module) {
  const exports = await federation.loadRemote(`${remoteName(pluginId)}/${module}`);
  const component = exports && exports.default;
  if (typeof component !== "function" && !(component && typeof component === "object" && component.$$typeof)) {
    throw new Error(`${module} of ${pluginId} does not default-export a React component`);
  }
  return component;
}
