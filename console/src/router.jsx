// A small client-side router over the History API. The active workspace lives in the
// query (`?ws=<slug>`) and is carried to every path the console navigates to, so a reload or a
// shared link keeps it.

import { useSyncExternalStore } from "react";

const listeners = new Set();

function subscribe(listener) {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** The current location: `path` (no query) and its `query` parameters. */
export function useLocation() {
  const href = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(href, window.location.origin);
  return { href, path: url.pathname, query: url.searchParams };
}

/** `to` with the current `ws` parameter added, unless `to` names a workspace itself. */
export function withWorkspace(to) {
  const url = new URL(to, window.location.origin);
  const ws = new URLSearchParams(window.location.search).get("ws");
  if (ws && !url.searchParams.has("ws")) url.searchParams.set("ws", ws);
  return url.pathname + url.search + url.hash;
}

/**
 * Goes to a console path (same origin only), keeping the active workspace.
 *
 * @param {string} to e.g. `/admin/users` or `/crm/contacts?id=4`
 * @param {{replace?: boolean}} [options]
 */
export function navigate(to, { replace = false } = {}) {
  const url = new URL(to, window.location.origin);
  if (url.origin !== window.location.origin) throw new Error(`not a console path: ${to}`);
  const target = withWorkspace(url.pathname + url.search + url.hash);
  if (target === snapshot() + window.location.hash) return;
  window.history[replace ? "replaceState" : "pushState"](null, "", target);
  for (const listener of listeners) listener();
}

/** Sets (or, with `null`, removes) query parameters of the current path. */
export function setQuery(params, options) {
  const url = new URL(window.location.href);
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") url.searchParams.delete(key);
    else url.searchParams.set(key, value);
  }
  navigate(url.pathname + url.search, options);
}

/** Matches `path` against `pattern` (`/admin/users/:id`); returns the parameters or null. */
export function match(pattern, path) {
  const want = pattern.split("/");
  const have = path.split("/");
  if (want.length !== have.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(have[i]);
    else if (want[i] !== have[i]) return null;
  }
  return params;
}

/** An in-console link: a real `<a href>` (open in a new tab works) that routes on click. */
export function Link({ to, children, current, ...rest }) {
  const href = withWorkspace(to);
  const onClick = (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={href} onClick={onClick} aria-current={current ? "page" : undefined} {...rest}>
      {children}
    </a>
  );
}
