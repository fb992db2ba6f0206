// The plugin's own backend, reached through the console's `host.fetch` (the platform's
// gateway). A fullstack plugin's backend declares the service `<plugin id>.greetings` with
// `GET /hello` in plexica.toml; a frontend-only plugin has no service, and the gateway says so.

/**
 * The backend's greeting: `{ state: "ok", message }`, `{ state: "none" }` when the plugin has
 * no such service, or `{ state: "error", message }`.
 */
export async function fetchGreeting(host) {
  try {
    const response = await host.fetch(`${host.plugin.id}.greetings`, "/hello");
    const body = await response.json().catch(() => null);
    if (response.ok) {
      return { state: "ok", message: body?.message ?? "" };
    }
    if (body?.error?.code === "SERVICE_NOT_FOUND") {
      return { state: "none" };
    }
    return { state: "error", message: body?.error?.message ?? `HTTP ${response.status}` };
  } catch (e) {
    return { state: "error", message: e instanceof Error ? e.message : String(e) };
  }
}
