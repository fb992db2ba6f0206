import { lazy, Suspense, useState } from "react";
import { isFailed, usePluginHost } from "../console.jsx";
import { navigate } from "../router.jsx";
import { ErrorBoundary } from "./ErrorBoundary.jsx";
import { ErrorCard, Loading } from "./ErrorCard.jsx";

/** Lazy components of loaded modules, by `id@version/module`. */
const components = new Map();

const keyOf = (plugin, module) => `${plugin.id}@${plugin.version}/${module}`;

function lazyComponent(plugin, module) {
  const key = keyOf(plugin, module);
  if (!components.has(key)) {
    const load = async () => {
      const { loadComponent } = await import("../federation.js");
      return { default: await loadComponent(plugin.id, module) };
    };
    components.set(key, lazy(load));
  }
  return components.get(key);
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
  const Component = lazyComponent(plugin, module.name);
  const retry = () => {
    components.delete(keyOf(plugin, module.name));
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
