// The core API client: same-origin fetches that carry the session cookie (never an
// Authorization header), JSON in and out, the error envelope turned into `ApiError`, and one
// session refresh followed by one retry when an answer is 401.

/** An error answer of the API: `{"error":{"code","message","details"?}}` with its status. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} code stable UPPER_SNAKE code
   * @param {string} message for people
   * @param {any} [details] structured context, e.g. `{problems:[{key,message}]}` or `{field}`
   */
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const REFRESH = "/api/v1/auth/session/refresh";
const ME = "/api/v1/auth/me";

/** Called once the session is over (refresh refused); the app shows the sign-in screen. */
let onSessionLost = () => {};
/** The refresh under way, shared by every request that got a 401 meanwhile. */
let refreshing = null;

/** Registers what to do when the session cannot be renewed. */
export function setSessionLostHandler(handler) {
  onSessionLost = handler;
}

/**
 * Renews the session cookies; resolves to the new `Me`, or rejects with the 401. Tabs share
 * the cookies and a refresh token is single-use (a reused one ends the session), so one tab
 * refreshes at a time, and a tab that waited first checks whether another one already did.
 */
function refreshSession() {
  const renew = async () => {
    const current = await fetch(ME, { credentials: "same-origin" });
    if (current.ok) return parse(current);
    return parse(await send(REFRESH, { method: "POST" }, { refresh: false }));
  };
  refreshing ??= (navigator.locks ? navigator.locks.request(REFRESH, renew) : renew()).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/**
 * Sends a request to the API and returns the raw `Response`, renewing the session once on a
 * 401. A failed renewal ends the session (`onSessionLost`) and the 401 answer is returned.
 *
 * @param {string} path absolute path, e.g. `/api/v1/auth/me`
 * @param {RequestInit} [init]
 * @param {{refresh?: boolean}} [options] `refresh: false` for the sign-in calls themselves
 * @returns {Promise<Response>}
 */
export async function send(path, init = {}, { refresh = true } = {}) {
  const request = () => fetch(path, { ...init, credentials: "same-origin" });
  const response = await request();
  if (response.status !== 401 || !refresh) return response;
  try {
    await refreshSession();
  } catch {
    onSessionLost();
    return response;
  }
  return request();
}

/** Turns an answer into its JSON body (or `null` for 204), throwing `ApiError` on errors. */
async function parse(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (response.ok) return body;
  const error = body && body.error;
  throw new ApiError(
    response.status,
    (error && error.code) || "HTTP_" + response.status,
    (error && error.message) || `The server answered ${response.status} ${response.statusText}`,
    error && error.details,
  );
}

/**
 * Calls the API with an optional JSON body and returns the JSON answer.
 *
 * @param {string} method
 * @param {string} path
 * @param {any} [body] sent as JSON when given
 * @param {{refresh?: boolean, signal?: AbortSignal}} [options]
 */
export async function call(method, path, body, { refresh = true, signal } = {}) {
  /** @type {RequestInit} */
  const init = { method, signal, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await send(path, init, { refresh });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw new ApiError(0, "NETWORK", "The server cannot be reached. Check your connection and try again.");
  }
  return parse(response);
}

/** Shorthands for the verbs. */
export const api = {
  get: (path, options) => call("GET", path, undefined, options),
  post: (path, body, options) => call("POST", path, body, options),
  put: (path, body, options) => call("PUT", path, body, options),
  patch: (path, body, options) => call("PATCH", path, body, options),
  del: (path, options) => call("DELETE", path, undefined, options),
};

/** Encodes one path segment (slugs, ids) for a URL. */
export const seg = encodeURIComponent;

/** `?a=1&b=2` from an object, leaving out empty values; "" when nothing is left. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? "?" + text : "";
}

/** Paths of the tenant-scoped API. */
export const tenantPath = (tenant, rest = "") => `/api/v1/tenants/${seg(tenant)}${rest}`;
