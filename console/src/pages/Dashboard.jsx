import { ModuleSlot } from "../components/ModuleSlot.jsx";
import { Loading } from "../components/ErrorCard.jsx";
import { Page } from "../components/Page.jsx";
import { modulesAt, useConsole } from "../console.jsx";
import { consoleRoutes } from "../routes.js";
import { Link } from "../router.jsx";

/** `/`: the plugins' `dashboard.widgets` in a grid (the super admin gets the platform pages). */
export function Dashboard() {
  const { me, tenant, workspace, plugins, pluginsLoading } = useConsole();
  if (!tenant) {
    const pages = consoleRoutes.filter((r) => r.section === "platform" && r.label && r.allowed(me));
    return (
      <Page title="Platform">
        <ul className="link-list">
          {pages.map((r) => (
            <li key={r.path}>
              <Link to={r.path}>{r.label}</Link>
            </li>
          ))}
        </ul>
      </Page>
    );
  }
  const widgets = modulesAt(plugins, "dashboard.widgets");
  return (
    <Page title={workspace ? `Dashboard · ${workspace.name}` : "Dashboard"}>
      {pluginsLoading ? <Loading /> : null}
      {!pluginsLoading && widgets.length === 0 ? (
        <p className="muted">No plugin adds a dashboard widget in this workspace yet.</p>
      ) : null}
      <div className="widget-grid">
        {widgets.map(([plugin, module]) => (
          <section className="widget" key={`${plugin.id}/${module.name}`} aria-label={`${module.name} (${plugin.name})`}>
            <ModuleSlot plugin={plugin} module={module} />
          </section>
        ))}
      </div>
    </Page>
  );
}
