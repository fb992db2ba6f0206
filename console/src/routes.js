// The console's own pages: where they live, who sees them, and the (lazily loaded) code that
// renders them. Plugin pages are routed from the ui-modules answer instead (see Main.jsx).

import { lazy } from "react";
import { can } from "./session.jsx";

const tenantCan = (permission) => (me) => Boolean(me.tenant) && can(me, permission);
const superAdmin = (me) => me.super_admin;

/**
 * @typedef {object} ConsoleRoute
 * @property {string} path pattern, `:name` for a parameter
 * @property {string} [label] shown in the sidebar when set
 * @property {"admin" | "platform"} section
 * @property {(me: import("./session.jsx").Me) => boolean} allowed
 * @property {import("react").ComponentType<{params: Record<string, string>}>} page
 */

/** @type {ConsoleRoute[]} */
export const consoleRoutes = [
  {
    path: "/admin/users",
    label: "Users",
    section: "admin",
    allowed: tenantCan("users:read"),
    page: lazy(() => import("./pages/admin/Users.jsx")),
  },
  {
    path: "/admin/roles",
    label: "Roles",
    section: "admin",
    allowed: tenantCan("roles:read"),
    page: lazy(() => import("./pages/admin/Roles.jsx")),
  },
  {
    path: "/admin/workspaces",
    label: "Workspaces",
    section: "admin",
    allowed: tenantCan("workspaces:read"),
    page: lazy(() => import("./pages/admin/Workspaces.jsx")),
  },
  {
    path: "/admin/workspaces/:ws",
    section: "admin",
    allowed: tenantCan("workspaces:read"),
    page: lazy(() => import("./pages/admin/Workspace.jsx")),
  },
  {
    path: "/admin/plugins",
    label: "Plugins",
    section: "admin",
    allowed: tenantCan("plugins:read"),
    page: lazy(() => import("./pages/admin/Plugins.jsx")),
  },
  {
    path: "/admin/plugins/:id",
    section: "admin",
    allowed: tenantCan("plugins:read"),
    page: lazy(() => import("./pages/admin/Plugin.jsx")),
  },
  {
    path: "/admin/catalog",
    label: "Plugin catalog",
    section: "admin",
    allowed: tenantCan("plugins:write"),
    page: lazy(() => import("./pages/admin/Catalog.jsx")),
  },
  {
    path: "/admin/catalog/:plugin",
    section: "admin",
    allowed: tenantCan("plugins:write"),
    page: lazy(() => import("./pages/admin/Offer.jsx")),
  },
  {
    path: "/platform/tenants",
    label: "Tenants",
    section: "platform",
    allowed: superAdmin,
    page: lazy(() => import("./pages/platform/Tenants.jsx")),
  },
  {
    path: "/platform/dead-letters",
    label: "Dead letters",
    section: "platform",
    allowed: superAdmin,
    page: lazy(() => import("./pages/platform/DeadLetters.jsx")),
  },
  {
    path: "/platform/dead-letters/:id",
    section: "platform",
    allowed: superAdmin,
    page: lazy(() => import("./pages/platform/DeadLetter.jsx")),
  },
];

/** The plugin pages of the ui-modules answer: `[plugin, module]` with a `route`. */
function pluginPages(plugins) {
  return plugins.flatMap((plugin) =>
    plugin.modules.filter((m) => m.kind === "page" && m.route).map((m) => [plugin, m]),
  );
}

/**
 * The plugin page for `path`: the page whose route is the path, or else the one with the
 * longest route the path continues (`/crm/contacts/42` → `/crm/contacts`), so plugins can
 * route inside their pages.
 */
export function findPluginPage(plugins, path) {
  let best = null;
  let bestLength = -1;
  for (const [plugin, module] of pluginPages(plugins)) {
    const route = module.route.replace(/\/+$/, "") || "/";
    const hit = path === route || (route !== "/" && path.startsWith(route + "/"));
    if (hit && route.length > bestLength) {
      best = [plugin, module];
      bestLength = route.length;
    }
  }
  return best;
}

/**
 * The sidebar entries of plugins (`sidebar.menu` with a `menu`), by order then label; entries
 * without an order come last.
 */
export function pluginMenu(plugins) {
  return plugins
    .flatMap((plugin) =>
      plugin.modules
        .filter((m) => m.extension_point === "sidebar.menu" && m.menu && m.route)
        .map((m) => ({ plugin, module: m, label: m.menu.label, order: m.menu.order ?? Number.MAX_SAFE_INTEGER })),
    )
    .sort((a, b) => a.order - b.order || a.label.localeCompare(b.label));
}
