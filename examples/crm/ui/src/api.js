// CRM's backend, called through the console's `host.fetch` (the platform's gateway, as the
// signed-in user, in the console's active workspace). The routes are the `crm.contacts`
// service's in plexica.toml; errors come as `{"error": {"code", "message"}}`.

const CONTACTS = "crm.contacts";

/** A refusal of the backend or the gateway, with its message for people. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(host, path, init) {
  const response = await host.fetch(CONTACTS, path, init);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body?.error ?? {};
    throw new ApiError(response.status, error.code ?? null, error.message ?? `HTTP ${response.status}`);
  }
  return body;
}

/** `GET /contacts`: the newest `limit` contacts and how many there are, `{ contacts, total }`. */
export function listContacts(host, limit) {
  return call(host, `/contacts?limit=${limit}`);
}

/** `POST /contacts`: the stored contact (422 for a bad name or email, 409 for a known email). */
export function createContact(host, contact) {
  return call(host, "/contacts", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(contact),
  });
}
