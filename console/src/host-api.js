// The `host` prop every plugin component receives (documented for plugin authors in
// host-api.d.ts): who and where, client-side navigation, and calls to the plugin's own
// backend through the platform gateway. Those calls carry a short-lived token that opens
// that plugin's endpoints only, and not the session cookie.

import { api, seg, tenantPath } from "./api.js";
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

/** Plugin UI tokens by `user/tenant/plugin`: `{ token, until }` (ms). */
const tokens = new Map();

/** Forgets every UI token (the session ended: the next person gets none of them). */
export function forgetTokens() {
  tokens.clear();
}
/** A token is renewed when it has less than this left (ms). */
const RENEW_BEFORE = 60_000;

/** A UI token for `plugin` in `tenant`, minted with the session when none is fresh. */
async function uiToken(user, tenant, plugin) {
  const key = `${user}/${tenant}/${plugin}`;
  const held = tokens.get(key);
  if (held && held.until - Date.now() > RENEW_BEFORE) return held.token;
  const minted = await api.post(tenantPath(tenant, `/plugins/${seg(plugin)}/ui-token`), {});
  tokens.set(key, { token: minted.token, until: Date.now() + minted.expires_in * 1000 });
  return minted.token;
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
      const call = async () => {
        const headers = new Headers(init.headers);
        if (workspace) headers.set("X-Plexica-Workspace", workspace.slug);
        headers.set("Authorization", `Bearer ${await uiToken(user.id, tenant.slug, plugin.id)}`);
        return fetch(`${gateway}/${seg(service)}${path}`, { ...init, headers, credentials: "omit" });
      };
      const response = await call();
      if (response.status !== 401) return response;
      // The token ended (or its session was renewed): one more try with a new one.
      tokens.delete(`${user.id}/${tenant.slug}/${plugin.id}`);
      return call();
    },
  });
}
