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

/**
 * Plugin UI tokens by `user/tenant/plugin`: `{ token, until }`, `token` a promise of the
 * token and `until` (ms) set once it came. Callers asking while it is being minted share
 * the one request; a failed request is forgotten.
 */
const tokens = new Map();

/** Forgets every UI token (the session ended: the next person gets none of them). */
export function forgetTokens() {
  tokens.clear();
}
/** A token is renewed when it has less than this left (ms). */
const RENEW_BEFORE = 60_000;

/**
 * The UI token entry for `plugin` in `tenant` under `key`: the one held when it is fresh or
 * still being minted, else a new one minted with the session.
 */
function uiToken(key, tenant, plugin) {
  const held = tokens.get(key);
  if (held && (held.until === undefined || held.until - Date.now() > RENEW_BEFORE)) return held;
  const entry = { token: null, until: undefined };
  entry.token = api.post(tenantPath(tenant, `/plugins/${seg(plugin)}/ui-token`), {}).then((minted) => {
    entry.until = Date.now() + minted.expires_in * 1000;
    return minted.token;
  });
  tokens.set(key, entry);
  entry.token.catch(() => {
    if (tokens.get(key) === entry) tokens.delete(key);
  });
  return entry;
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
      const key = `${user.id}/${tenant.slug}/${plugin.id}`;
      const call = async (entry) => {
        const headers = new Headers(init.headers);
        if (workspace) headers.set("X-Plexica-Workspace", workspace.slug);
        headers.set("Authorization", `Bearer ${await entry.token}`);
        return fetch(`${gateway}/${seg(service)}${path}`, { ...init, headers, credentials: "omit" });
      };
      const used = uiToken(key, tenant.slug, plugin.id);
      const response = await call(used);
      if (response.status !== 401) return response;
      // The token ended (or its session was renewed): one more try with a new one (the one
      // another call may have minted meanwhile).
      if (tokens.get(key) === used) tokens.delete(key);
      return call(uiToken(key, tenant.slug, plugin.id));
    },
  });
}
