import { useEffect, useMemo, useRef } from "react";
import { api, query, tenantPath } from "../api.js";
import { prefetchPages } from "../components/ModuleSlot.jsx";
import { ConsoleContext } from "../console.jsx";
import { useResource } from "../hooks.js";
import { setQuery, useLocation } from "../router.jsx";
import { can, useSession } from "../session.jsx";
import { Header } from "./Header.jsx";
import { Main } from "./Main.jsx";
import { Sidebar } from "./Sidebar.jsx";

/**
 * The signed-in console: loads the caller's workspaces and, for the active one (`?ws=`), the
 * plugins' UI modules; then lays out header, sidebar and main area.
 */
export function Shell() {
  const { me } = useSession();
  const { path, query: params } = useLocation();
  const slug = me.tenant ?? null;
  const name = me.tenant_name ?? slug;
  const tenant = useMemo(() => (slug ? { slug, name } : null), [slug, name]);

  const workspaces = useResource(
    slug && can(me, "workspaces:read") ? `workspaces:${slug}` : null,
    (signal) => api.get(tenantPath(slug, "/workspaces?per_page=100"), { signal }),
  );
  const list = useMemo(() => workspaces.data?.data ?? [], [workspaces.data]);
  const wanted = params.get("ws");
  const workspace = list.find((w) => w.slug === wanted) ?? null;

  // No workspace in the URL, or one the caller cannot see: go to the default one.
  useEffect(() => {
    if (!workspaces.data || workspace) return;
    const fallback = list.find((w) => w.is_default) ?? list[0];
    if (fallback) setQuery({ ws: fallback.slug }, { replace: true });
  }, [workspaces.data, workspace, list]);

  const settled = workspaces.error || !workspaces.loading || !slug;
  const resolved = workspace || list.length === 0 || workspaces.error;
  const ui = useResource(
    slug && settled && resolved ? `ui:${slug}:${workspace?.slug ?? ""}` : null,
    // The Module Federation runtime is fetched alongside (not with the first page load).
    async (signal) => {
      const [answer, federation] = await Promise.all([
        api.get(tenantPath(slug, `/ui-modules${query({ workspace: workspace?.slug })}`), { signal }),
        import("../federation.js"),
      ]);
      federation.registerPlugins(answer.plugins);
      prefetchPages(answer.plugins);
      return answer;
    },
  );

  const value = useMemo(
    () => ({
      me,
      tenant,
      workspace,
      workspaces: list,
      plugins: ui.data?.plugins ?? [],
      pluginsLoading: Boolean(slug) && !ui.data && !ui.error,
      pluginsError: ui.error,
      reloadPlugins: ui.reload,
      reloadWorkspaces: workspaces.reload,
    }),
    [me, tenant, workspace, list, ui.data, ui.error, ui.reload, slug, workspaces.reload],
  );

  // After a client-side navigation, move focus to the new page (not on the first render).
  const mainRef = useRef(null);
  const navigated = useRef(false);
  useEffect(() => {
    if (navigated.current) mainRef.current?.focus();
    navigated.current = true;
  }, [path]);

  return (
    <ConsoleContext.Provider value={value}>
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <Header />
      <div className="layout">
        <Sidebar />
        <main id="main" ref={mainRef} tabIndex={-1}>
          <Main />
        </main>
      </div>
    </ConsoleContext.Provider>
  );
}
