import { isFailed, useConsole } from "../console.jsx";
import { consoleRoutes, pluginMenu } from "../routes.js";
import { Link, useLocation } from "../router.jsx";

const isCurrent = (route, path) => path === route || path.startsWith(route + "/");

/** A titled group of links in the sidebar. */
function Group({ id, title, links, path }) {
  if (links.length === 0) return null;
  return (
    <>
      {title ? (
        <h2 className="nav-heading" id={id}>
          {title}
        </h2>
      ) : null}
      <ul className="nav-list" aria-labelledby={title ? id : undefined}>
        {links.map((link) => (
          <li key={link.to}>
            <Link to={link.to} current={link.exact ? path === link.to : isCurrent(link.to, path)}>
              {link.label}
              {link.note ? <span className="nav-note"> ({link.note})</span> : null}
            </Link>
          </li>
        ))}
      </ul>
    </>
  );
}

/** Dashboard, the plugins' menu entries, then the admin pages the user may open. */
export function Sidebar() {
  const { me, plugins } = useConsole();
  const { path } = useLocation();
  const main = [
    { to: "/", label: "Dashboard", exact: true },
    ...pluginMenu(plugins).map(({ plugin, module, label }) => ({
      to: module.route,
      label,
      note: isFailed(plugin) ? "failed" : null,
    })),
  ];
  const section = (name) =>
    consoleRoutes
      .filter((r) => r.section === name && r.label && r.allowed(me))
      .map((r) => ({ to: r.path, label: r.label }));
  return (
    <nav className="sidebar" aria-label="Console">
      <Group id="nav-main" links={main} path={path} />
      <Group id="nav-admin" title="Administration" links={section("admin")} path={path} />
      <Group id="nav-platform" title="Platform" links={section("platform")} path={path} />
    </nav>
  );
}
