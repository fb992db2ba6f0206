// The dashboard widget (extension point `dashboard.widgets`): how many contacts the active
// workspace has, and the way to the Contacts page.

import { useEffect, useState } from "react";

import { listContacts } from "./api.js";

/** The `route` of ContactsPage in plexica.toml. */
const CONTACTS_PAGE = "/crm/contacts";

export default function PipelineWidget({ host }) {
  const workspace = host.workspace;
  const [count, setCount] = useState({ state: "loading" });

  useEffect(() => {
    if (!workspace) {
      return undefined;
    }
    let current = true;
    // Another workspace's count must not stand under this one's name while it loads.
    setCount({ state: "loading" });
    // One row is enough: the answer's `total` counts them all.
    listContacts(host, 1).then(
      ({ total }) => current && setCount({ state: "ready", total }),
      (error) => current && setCount({ state: "error", message: error.message }),
    );
    return () => {
      current = false;
    };
  }, [host.tenant.slug, workspace?.slug]);

  return (
    <article>
      <h2>Pipeline</h2>
      {!workspace && <p>Choose a workspace to see its contacts.</p>}
      {workspace && count.state === "loading" && <p>Counting the contacts…</p>}
      {workspace && count.state === "error" && <p role="alert">{count.message}</p>}
      {workspace && count.state === "ready" && (
        <p>
          <strong data-count>{count.total}</strong>{" "}
          {count.total === 1 ? "contact" : "contacts"} in {workspace.name}
        </p>
      )}
      <a
        href={CONTACTS_PAGE}
        onClick={(event) => {
          event.preventDefault();
          host.navigate(CONTACTS_PAGE);
        }}
      >
        Open Contacts
      </a>
    </article>
  );
}
