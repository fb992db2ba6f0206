// The browser session: who is signed in (`Me`), sign-in and sign-out. The session itself is
// a pair of HttpOnly cookies the console never sees; `Me` is all it knows.

import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { api, setSessionLostHandler } from "./api.js";
import { forgetTokens } from "./host-api.js";

/**
 * @typedef {object} Me
 * @property {string} id
 * @property {string} email
 * @property {string} name
 * @property {string} [tenant] the tenant's slug; absent for the super admin
 * @property {boolean} super_admin
 * @property {string[]} roles
 * @property {string[]} permissions `resource:action`, `*` for all
 * @property {string} auth
 */

const SessionContext = createContext(null);

/** Does `me` hold `permission`? (`*` and `resource:*` grant more than one.) */
export function can(me, permission) {
  if (!me) return false;
  const resource = permission.split(":")[0];
  return me.permissions.some((p) => p === "*" || p === permission || p === resource + ":*");
}

/** Provides the session to the app; `me` is `undefined` while the first check runs. */
export function SessionProvider({ children }) {
  const [me, setMe] = useState(/** @type {Me | null | undefined} */ (undefined));

  useEffect(() => {
    setSessionLostHandler(() => {
      forgetTokens();
      setMe(null);
    });
    const controller = new AbortController();
    api
      .get("/api/v1/auth/me", { signal: controller.signal })
      .then(setMe, (e) => {
        if (e.name !== "AbortError") setMe(null);
      });
    return () => controller.abort();
  }, []);

  const signIn = useCallback(async ({ tenant, email, password }) => {
    const body = tenant ? { tenant, email, password } : { email, password };
    setMe(await api.post("/api/v1/auth/session", body, { refresh: false }));
  }, []);

  const signOut = useCallback(async () => {
    // Signed out either way: a session the server no longer knows is over too.
    await api.del("/api/v1/auth/session", { refresh: false }).catch(() => null);
    forgetTokens();
    // The next person starts from the dashboard, not from where this one was.
    window.history.replaceState(null, "", "/");
    setMe(null);
  }, []);

  const value = useMemo(() => ({ me, signIn, signOut }), [me, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** `{me, signIn, signOut}`. */
export function useSession() {
  return useContext(SessionContext);
}
