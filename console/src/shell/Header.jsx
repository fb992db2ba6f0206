import { useEffect, useId, useRef, useState } from "react";
import { ModuleSlot } from "../components/ModuleSlot.jsx";
import { isFailed, modulesAt, useConsole } from "../console.jsx";
import { Link, setQuery } from "../router.jsx";
import { useSession } from "../session.jsx";

/** The modules at a `header.*` extension point; failed plugins stay out of the header. */
const headerModules = (plugins, point) => modulesAt(plugins, point).filter(([plugin]) => !isFailed(plugin));

/** The plugins' modules at one `header.*` extension point. */
function HeaderSlots({ point }) {
  const { plugins } = useConsole();
  return headerModules(plugins, point).map(([plugin, module]) => (
      <div className="header-slot" key={`${plugin.id}/${module.name}`}>
        <ModuleSlot plugin={plugin} module={module} compact />
      </div>
    ));
}

/** Picks the active workspace; it is kept in the URL (`?ws=`). */
function WorkspaceSwitcher() {
  const { workspaces, workspace } = useConsole();
  const id = useId();
  if (workspaces.length === 0) return null;
  return (
    <div className="workspace-switcher">
      <label htmlFor={id}>Workspace</label>
      <select id={id} value={workspace?.slug ?? ""} onChange={(e) => setQuery({ ws: e.target.value })}>
        {workspace ? null : <option value="">Choose…</option>}
        {workspaces.map((w) => (
          <option key={w.slug} value={w.slug}>
            {w.name}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Who is signed in, and sign out: a disclosure that closes on Escape or a click elsewhere. */
function UserMenu() {
  const { me, signOut } = useSession();
  const [open, setOpen] = useState(false);
  const box = useRef(null);
  const button = useRef(null);
  const panelId = useId();
  useEffect(() => {
    if (!open) return undefined;
    const onKey = (e) => {
      if (e.key === "Escape") {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onClick = (e) => {
      if (!box.current?.contains(e.target)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("click", onClick);
    };
  }, [open]);
  return (
    <div className="user-menu" ref={box}>
      <button
        type="button"
        ref={button}
        className="button button-quiet"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        {me.name || me.email}
      </button>
      <div id={panelId} className="user-menu-panel" hidden={!open}>
        <p className="user-menu-who">
          <span>{me.name}</span>
          <span className="muted">{me.email}</span>
        </p>
        {me.roles.length > 0 ? <p className="muted">Roles: {me.roles.join(", ")}</p> : null}
        <button type="button" className="button" onClick={signOut}>
          Sign out
        </button>
      </div>
    </div>
  );
}

/** The console's header: brand or `header.logo`, tenant, workspace, plugin slots, user. */
export function Header() {
  const { tenant, plugins } = useConsole();
  const hasLogo = headerModules(plugins, "header.logo").length > 0;
  return (
    <header className="header">
      <div className="brand">
        {hasLogo ? (
          <HeaderSlots point="header.logo" />
        ) : (
          <Link to="/" className="brand-name">
            Plexica
          </Link>
        )}
        <span className="tenant-name">{tenant ? tenant.name : "Platform administration"}</span>
      </div>
      <div className="header-search">
        <HeaderSlots point="header.search" />
      </div>
      <div className="header-end">
        <WorkspaceSwitcher />
        <HeaderSlots point="header.quick-actions" />
        <HeaderSlots point="header.notifications" />
        <UserMenu />
      </div>
    </header>
  );
}
