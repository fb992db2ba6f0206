// What the signed-in console knows and shares with its parts: the user, the tenant, the
// active workspace and the plugins' UI modules for it.

import { createContext, useContext, useMemo } from "react";
import { createHost } from "./host-api.js";

/**
 * @typedef {object} UiModule
 * @property {string} name exposed as `./<name>`
 * @property {string} kind page | widget | component | layout
 * @property {string} extension_point
 * @property {string} [route]
 * @property {{label: string, icon?: string, order?: number}} [menu]
 *
 * @typedef {object} UiPlugin
 * @property {string} id
 * @property {string} name
 * @property {string} version
 * @property {string} state "active" or "failed"
 * @property {string | null} [error]
 * @property {string} remote_entry
 * @property {UiModule[]} modules
 *
 * @typedef {object} ConsoleState
 * @property {import("./session.jsx").Me} me
 * @property {{slug: string, name: string} | null} tenant null for the super admin
 * @property {object | null} workspace the active workspace (API `Workspace`)
 * @property {object[]} workspaces the caller's workspaces
 * @property {UiPlugin[]} plugins
 * @property {() => void} reloadPlugins fetch the ui-modules again (after installs)
 * @property {() => void} reloadWorkspaces fetch the workspaces again
 */

export const ConsoleContext = createContext(/** @type {ConsoleState | null} */ (null));

/** The console state. */
export function useConsole() {
  return useContext(ConsoleContext);
}

/** Is the plugin's state `failed` (whatever the case the server writes it in)? */
export const isFailed = (plugin) => String(plugin.state).toLowerCase() === "failed";

/** Every `[plugin, module]` pair mounted at an extension point, in the server's order. */
export function modulesAt(plugins, extensionPoint) {
  return plugins.flatMap((plugin) =>
    plugin.modules.filter((m) => m.extension_point === extensionPoint).map((m) => [plugin, m]),
  );
}

/** The host API for one plugin, stable while what it exposes (plugin, tenant, workspace, user) stays the same. */
export function usePluginHost(plugin) {
  const { me, tenant, workspace } = useConsole();
  const ws = workspace ? { slug: workspace.slug, name: workspace.name } : null;
  return useMemo(
    () =>
      createHost({
        tenant,
        workspace: ws,
        user: { id: me.id, email: me.email, name: me.name },
        plugin: { id: plugin.id, version: plugin.version },
      }),
    // Rebuilt only when what the host exposes changes, so plugin effects keyed on it stay quiet.
    [plugin.id, plugin.version, tenant?.slug, tenant?.name, ws?.slug, ws?.name, me.id, me.name, me.email],
  );
}
