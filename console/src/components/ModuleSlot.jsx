import { lazy, Suspense, useState } from "react";
import { usePluginHost } from "../console.jsx";
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

/** Is the plugin's state `failed` (whatever the case the server writes it in)? */
export const isFailed = (plugin) => String(plugin.state).toLowerCase() === "failed";

/**
 * Renders one module of a plugin, `<Component host={host} />`, inside an error boundary: a
 * module that fails to load or throws shows an error card in its place. A failed plugin's
 * modules are not loaded; the card says why it failed.
 */
export function ModuleSlot({ plugin, module }) {
  const host = usePluginHost(plugin);
  const [attempt, setAttempt] = useState(0);
  const label = `${module.menu?.label || module.name} (${plugin.name})`;
  if (isFailed(plugin)) {
    return <ErrorCard title={`${plugin.name} has failed`} message={plugin.error || "No reason was given."} />;
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
        <ErrorCard title={`${label} could not be shown`} message={error?.message || String(error)} onRetry={retry} />
      )}
    >
      <Suspense fallback={<Loading label={`Loading ${label}…`} />}>
        <Component host={host} />
      </Suspense>
    </ErrorBoundary>
  );
}
