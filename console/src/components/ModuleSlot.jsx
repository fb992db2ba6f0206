import { lazy, Suspense, useState } from "react";
import { isFailed, usePluginHost } from "../console.jsx";
import { navigate } from "../router.jsx";
import { ErrorBoundary } from "./ErrorBoundary.jsx";
import { ErrorCard, Loading } from "./ErrorCard.jsx";

/** Lazy components of modules being loaded, by `id@version/module`. */
const components = new Map();
/** Components already loaded, by the same key: rendered at once, without suspending. */
const loaded = new Map();

const keyOf = (plugin, module) => `${plugin.id}@${plugin.version}/${module}`;

/** Loads a module's component and keeps it in `loaded`. */
async function load(plugin, module) {
  const { loadComponent } = await import("../federation.js");
  const component = await loadComponent(plugin.id, module);
  loaded.set(keyOf(plugin, module), component);
  return component;
}

function lazyComponent(plugin, module) {
  const key = keyOf(plugin, module);
  if (!components.has(key)) {
    components.set(
      key,
      lazy(async () => ({ default: await load(plugin, module) })),
    );
  }
  return components.get(key);
}

/**
 * Loads the pages of the active plugins' sidebar entries while the browser is idle, so that
 * a click on one renders at once. A failure is left to the slot that renders the page.
 *
 * @param {import("../console.jsx").UiPlugin[]} plugins
 */
export function prefetchPages(plugins) {
  const pages = plugins
    .filter((p) => !isFailed(p))
    .flatMap((p) => p.modules.filter((m) => m.kind === "page" && m.menu).map((m) => [p, m.name]));
  const idle = window.requestIdleCallback ?? ((run) => setTimeout(run, 200));
  idle(() => {
    for (const [plugin, module] of pages) {
      if (!loaded.has(keyOf(plugin, module))) load(plugin, module).catch(() => {});
    }
  });
}

/**
 * Routes plain same-origin links inside a module (`<a href="/crm/contacts">`) in the console,
 * as `host.navigate` would, instead of reloading the page (and losing the workspace).
 */
function routeLinks(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
  if (!link || (link.target && link.target !== "_self") || link.hasAttribute("download")) return;
  const url = new URL(link.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith("/api/")) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

/**
 * Renders one module of a plugin, `<Component host={host} />`, inside an error boundary: a
 * module that fails to load or throws shows an error card in its place. A failed plugin's
 * modules are not loaded; the card says why it failed.
 */
export function ModuleSlot({ plugin, module, compact = false }) {
  const host = usePluginHost(plugin);
  const [attempt, setAttempt] = useState(0);
  const label = `${module.menu?.label || module.name} (${plugin.name})`;
  if (isFailed(plugin)) {
    return (
      <ErrorCard
        title={`${plugin.name} has failed`}
        message={plugin.error || "No reason was given."}
        compact={compact}
      />
    );
  }
  const key = keyOf(plugin, module.name);
  const Component = loaded.get(key) ?? lazyComponent(plugin, module.name);
  const retry = () => {
    components.delete(key);
    loaded.delete(key);
    setAttempt(attempt + 1);
  };
  return (
    <ErrorBoundary
      key={attempt}
      fallback={(error) => (
        <ErrorCard
          title={`${label} could not be shown`}
          message={error?.message || String(error)}
          onRetry={retry}
          compact={compact}
        />
      )}
    >
      <Suspense fallback={<Loading label={`Loading ${label}…`} />}>
        <div className="module-slot" onClick={routeLinks}>
          <Component host={host} />
        </div>
      </Suspense>
    </ErrorBoundary>
  );
}
