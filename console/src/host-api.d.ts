/**
 * The Plexica console's host API (contract v1): what a plugin's UI module receives.
 *
 * ## How the console loads your UI
 *
 * - Your plugin's `[frontend]` is a Module Federation remote built as an ES module
 *   (`type: "module"`, e.g. with `@module-federation/vite`). The console fetches it from
 *   `/plugins/{id}/{version}/{remote-entry}` (same origin) with native `import()`.
 * - The remote's MF `name` is your plugin id with `-` replaced by `_` (`crm`, `my_plugin`).
 * - Each `[[frontend.modules]]` entry `name = "ContactsPage"` is exposed as `./ContactsPage`,
 *   and its **default export is a React component**. The console renders
 *   `<ContactsPage host={host} />` inside an error boundary: if the module fails to load or
 *   throws, an error card takes its place and the rest of the console keeps working.
 * - `react`, `react-dom` and `react/jsx-runtime` are shared singletons provided by the
 *   console (React 19; declare them `shared` with `singleton: true` and
 *   `requiredVersion: "^19.0.0"`). Do not bundle your own React.
 * - Where modules appear, by `extension-point`:
 *   - `sidebar.menu` with `kind = "page"`, a `route` and a `menu`: a sidebar entry (sorted by
 *     `menu.order`, then label) and a page at `route`. The page also answers every path under
 *     its route (`/crm/contacts/42`), so you can route inside it; read `location.pathname`.
 *   - `dashboard.widgets`: a card on the dashboard (`/`).
 *   - `header.logo`, `header.search`, `header.quick-actions`, `header.notifications`: the
 *     header (keep them small).
 *   - `page.tabs`, `page.aside-actions`, `form.fields` are reserved: the console does not
 *     render them yet.
 * - The console's Content-Security-Policy applies to your code: `script-src 'self'`,
 *   `style-src 'self'`, `connect-src 'self'`, `img-src 'self' data:`. So: no inline `<script>`,
 *   no `eval`/`new Function`, no CDN or third-party fonts, no inline `style="…"` attributes in
 *   HTML strings (React `style={{…}}` props are fine), stylesheets served from your own
 *   `dist`.
 * - When the plugin is `failed` the console does not load its modules; it shows why instead.
 */
export interface PlexicaHost {
  /** The tenant the user is signed in to. */
  tenant: { slug: string; name: string };
  /** The active workspace (the console's workspace switcher; `?ws=` in the URL). */
  workspace: { slug: string; name: string } | null;
  /** The signed-in user. */
  user: { id: string; email: string; name: string };
  /** Your plugin, as installed in the tenant. */
  plugin: { id: string; version: string };
  /**
   * Client-side route change in the console (a same-origin path such as `/crm/contacts/42`);
   * the active workspace is kept. Plain same-origin `<a href="/…">` links inside your module
   * are routed the same way (unless your handler calls `preventDefault()`, the link has a
   * `target`, or a modifier key is held).
   */
  navigate(path: string): void;
  /**
   * Calls the plugin's OWN backend through the platform gateway:
   * `host.fetch("crm.contacts", "/contacts", init)` →
   * `/api/v1/tenants/{t}/gateway/{plugin id}/crm.contacts/contacts`
   * (+ `X-Plexica-Workspace: <active workspace>` header), authenticated with a short-lived
   * token (5 minutes, renewed by the console) that opens your plugin's endpoints only, as
   * the signed-in user — plugin code never sees the user's session, which lives in a cookie
   * no script can read.
   *
   * `path` starts with `/` and may carry a query (`/contacts?limit=10`); `.`/`..` segments
   * are refused (the promise rejects with a `TypeError`). The answer is the gateway's
   * `Response`, whatever its status: check `response.ok`.
   */
  fetch(service: string, path: string, init?: RequestInit): Promise<Response>;
}

/** The props of every exposed module's default export. */
export interface PlexicaModuleProps {
  host: PlexicaHost;
}
