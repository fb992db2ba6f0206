// The Contacts page (sidebar "Contacts", route /crm/contacts): the active workspace's contacts,
// newest first, and a form to add one. The console renders it as `<ContactsPage host={host} />`
// under a heading of its own (the menu label, "Contacts").

import { useEffect, useState } from "react";

import { createContact, listContacts } from "./api.js";

/** The most contacts the page lists (the backend answers with at most 500). */
const SHOWN = 100;

const EMPTY = { name: "", email: "", company: "" };

const styles = {
  form: { display: "flex", flexWrap: "wrap", gap: "8px 16px", alignItems: "end", margin: "16px 0" },
  field: { display: "flex", flexDirection: "column", gap: 4 },
  table: { borderCollapse: "collapse", width: "100%" },
  cell: { textAlign: "left", padding: "6px 8px", borderBottom: "1px solid #ddd" },
  alert: { color: "#a00" },
};

export default function ContactsPage({ host }) {
  const workspace = host.workspace;
  const [list, setList] = useState({ state: "loading" });
  const [draft, setDraft] = useState(EMPTY);
  const [saving, setSaving] = useState(false);
  const [problem, setProblem] = useState(null);
  const [added, setAdded] = useState(null);

  // Loaded again when the console switches workspace (`host` need not be the same object on
  // every render).
  useEffect(() => {
    if (!workspace) {
      return undefined;
    }
    let current = true;
    setList({ state: "loading" });
    listContacts(host, SHOWN).then(
      ({ contacts, total }) => current && setList({ state: "ready", contacts, total }),
      (error) => current && setList({ state: "error", message: error.message }),
    );
    return () => {
      current = false;
    };
  }, [host.tenant.slug, workspace?.slug]);

  if (!workspace) {
    return (
      <p>CRM keeps contacts per workspace: choose a workspace to see its contacts.</p>
    );
  }

  async function add(event) {
    event.preventDefault();
    setSaving(true);
    setProblem(null);
    setAdded(null);
    try {
      const contact = await createContact(host, {
        name: draft.name,
        email: draft.email || null,
        company: draft.company || null,
      });
      setList((shown) =>
        shown.state === "ready"
          ? { ...shown, contacts: [contact, ...shown.contacts], total: shown.total + 1 }
          : shown,
      );
      setDraft(EMPTY);
      setAdded(contact.name);
    } catch (error) {
      setProblem(error.message);
    } finally {
      setSaving(false);
    }
  }

  const edit = (field) => (event) => setDraft({ ...draft, [field]: event.target.value });

  return (
    <section>
      <p>
        {list.state === "ready"
          ? `${list.total} ${list.total === 1 ? "contact" : "contacts"} in ${workspace.name}`
          : `The contacts of ${workspace.name}`}
      </p>

      <form onSubmit={add} style={styles.form} aria-label="New contact">
        <label style={styles.field}>
          Name
          <input value={draft.name} onChange={edit("name")} required maxLength={200} />
        </label>
        <label style={styles.field}>
          Email
          <input type="email" value={draft.email} onChange={edit("email")} maxLength={254} />
        </label>
        <label style={styles.field}>
          Company
          <input value={draft.company} onChange={edit("company")} maxLength={200} />
        </label>
        <button type="submit" disabled={saving}>
          {saving ? "Adding…" : "Add contact"}
        </button>
      </form>
      {problem && (
        <p role="alert" style={styles.alert}>
          The contact was not added: {problem}
        </p>
      )}
      {added && <p role="status">Added {added}.</p>}

      <Contacts list={list} />
    </section>
  );
}

function Contacts({ list }) {
  if (list.state === "loading") {
    return <p>Loading the contacts…</p>;
  }
  if (list.state === "error") {
    return (
      <p role="alert" style={styles.alert}>
        The contacts could not be loaded: {list.message}
      </p>
    );
  }
  if (list.contacts.length === 0) {
    return <p data-empty>No contacts yet: add the first one above.</p>;
  }
  return (
    <>
      <table style={styles.table}>
        <thead>
          <tr>
            {["Name", "Email", "Company", "Added"].map((heading) => (
              <th key={heading} scope="col" style={styles.cell}>
                {heading}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {list.contacts.map((contact) => (
            <tr key={contact.id}>
              <td style={styles.cell}>{contact.name}</td>
              <td style={styles.cell}>{contact.email ?? "—"}</td>
              <td style={styles.cell}>{contact.company ?? "—"}</td>
              <td style={styles.cell}>{new Date(contact.created_at).toLocaleDateString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.total > list.contacts.length && (
        <p>
          The newest {list.contacts.length} of {list.total}.
        </p>
      )}
    </>
  );
}
