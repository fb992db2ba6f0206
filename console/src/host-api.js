// The `host` prop every plugin component receives (documented for plugin authors in
// host-api.d.ts): who and where, client-side navigation, and calls to the plugin's own
// backend through the platform gateway.

import { send, seg, tenantPath } from "./api.js";
import { navigate } from "./router.jsx";

/** Refuses gateway paths that could climb out of the plugin's service (`.`/`..` segments). */
function checkPath(path) {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new TypeError(`host.fetch: the path must start with "/" (got ${JSON.stringify(path)})`);
  }
  const segments = path.split(/[?#]/)[0].split("/");
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s))) {
    throw new TypeError(`host.fetch: "." and ".." segments are not allowed in ${JSON.stringify(path)}`);
  }
}

/**
 * Builds the host API handed to one plugin's components.
 *
 * @param {object} context
 * @param {{slug: string, name: string}} context.tenant
 * @param {{slug: string, name: string} | null} context.workspace
 * @param {{id: string, email: string, name: string}} context.user
 * @param {{id: string, version: string}} context.plugin
 * @returns {import("./host-api").PlexicaHost}
 */
export function createHost({ tenant, workspace, user, plugin }) {
  const gateway = tenantPath(tenant.slug, `/gateway/${seg(plugin.id)}`);
  return Object.freeze({
    tenant: Object.freeze({ slug: tenant.slug, name: tenant.name }),
    workspace: workspace ? Object.freeze({ slug: workspace.slug, name: workspace.name }) : null,
    user: Object.freeze({ id: user.id, email: user.email, name: user.name }),
    plugin: Object.freeze({ id: plugin.id, version: plugin.version }),
    navigate(path) {
      navigate(path);
    },
    async fetch(service, path, init = {}) {
      if (typeof service !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(service)) {
        throw new TypeError(`host.fetch: not a service name: ${JSON.stringify(service)}`);
      }
      checkPath(path);
      const headers = new Headers(init.headers);
      if (workspace) headers.set("X-Plexica-Workspace", workspace.slug);
      return send(`${gateway}/${seg(service)}${path}`, { ...init, headers });
    },
  });
}
