import { useState } from "react";
import { api, tenantPath } from "../../api.js";
import { Alert, Notice } from "../../components/ErrorCard.jsx";
import { Field } from "../../components/Field.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useAction } from "../../hooks.js";
import { Link } from "../../router.jsx";
import { can } from "../../session.jsx";

/** Create a workspace (its creator becomes its admin). */
function CreateWorkspace({ tenant, onCreated }) {
  const empty = { slug: "", name: "", description: "" };
  const [form, setForm] = useState(empty);
  const create = useAction();
  const field = create.error?.details?.field;
  const message = (name) => (field === name ? create.error.message : null);
  const submit = async (event) => {
    event.preventDefault();
    const body = { slug: form.slug.trim(), name: form.name.trim(), description: form.description.trim() || undefined };
    const made = await create.run(
      () => api.post(tenantPath(tenant, "/workspaces"), body),
      (w) => `Workspace ${w.name} created.`,
    );
    if (made) {
      setForm(empty);
      onCreated();
    }
  };
  return (
    <section aria-labelledby="create-ws-heading" className="card">
      <h2 id="create-ws-heading">Create a workspace</h2>
      <Notice>{create.notice}</Notice>
      <form onSubmit={submit} noValidate>
        <Alert error={create.error && !["slug", "name", "description"].includes(field) ? create.error : null} />
        <div className="form-grid">
          <Field
            label="Slug"
            required
            hint="Lowercase letters, digits and -; used in addresses"
            value={form.slug}
            error={message("slug")}
            onChange={(e) => setForm({ ...form, slug: e.target.value })}
          />
          <Field
            label="Name"
            required
            value={form.name}
            error={message("name")}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
          />
          <Field
            label="Description"
            value={form.description}
            error={message("description")}
            onChange={(e) => setForm({ ...form, description: e.target.value })}
          />
        </div>
        <button type="submit" className="button button-primary" disabled={create.busy}>
          Create workspace
        </button>
      </form>
    </section>
  );
}

/** `/admin/workspaces`: the caller's workspaces (all of them for tenant admins). */
export default function Workspaces() {
  const { me, tenant, workspaces, reloadWorkspaces } = useConsole();
  return (
    <Page title="Workspaces">
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Workspace</th>
              <th scope="col">Your role</th>
              <th scope="col">Members</th>
              <th scope="col">Teams</th>
            </tr>
          </thead>
          <tbody>
            {workspaces.map((w) => (
              <tr key={w.slug}>
                <td>
                  <Link to={`/admin/workspaces/${encodeURIComponent(w.slug)}`}>{w.name}</Link>
                  {w.is_default ? <span className="muted"> (default)</span> : null}
                  <div className="muted">{w.slug}</div>
                  {w.description ? <div>{w.description}</div> : null}
                </td>
                <td>{w.role ?? "—"}</td>
                <td>{w.member_count}</td>
                <td>{w.team_count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {can(me, "workspaces:write") ? <CreateWorkspace tenant={tenant.slug} onCreated={reloadWorkspaces} /> : null}
    </Page>
  );
}
