import { useState } from "react";
import { api, tenantPath } from "../../api.js";
import { Alert, Loading, Notice } from "../../components/ErrorCard.jsx";
import { Field } from "../../components/Field.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useAction, useResource } from "../../hooks.js";
import { can } from "../../session.jsx";

/** Permission strings typed one per line or separated by commas or spaces. */
const permissionsOf = (text) => text.split(/[\s,]+/).filter(Boolean);

/** `/admin/roles`: the tenant's roles and their permissions; custom roles can be added. */
export default function Roles() {
  const { me, tenant } = useConsole();
  const roles = useResource("roles", (signal) => api.get(tenantPath(tenant.slug, "/roles"), { signal }));
  const [form, setForm] = useState({ name: "", permissions: "" });
  const create = useAction();
  const field = create.error?.details?.field;
  const submit = async (event) => {
    event.preventDefault();
    const body = { name: form.name.trim(), permissions: permissionsOf(form.permissions) };
    if (await create.run(() => api.post(tenantPath(tenant.slug, "/roles"), body), (r) => `Role ${r.name} created.`)) {
      setForm({ name: "", permissions: "" });
      roles.reload();
    }
  };
  return (
    <Page title="Roles">
      <Alert error={roles.error} />
      {roles.loading && !roles.data ? <Loading /> : null}
      {roles.data ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Permissions</th>
                <th scope="col">Kind</th>
              </tr>
            </thead>
            <tbody>
              {roles.data.map((r) => (
                <tr key={r.name}>
                  <td>{r.name}</td>
                  <td>
                    <code>{r.permissions.join(", ") || "none"}</code>
                  </td>
                  <td>{r.builtin ? "built in" : "custom"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {can(me, "roles:write") ? (
        <section aria-labelledby="create-role-heading" className="card">
          <h2 id="create-role-heading">Add a role</h2>
          <Notice>{create.notice}</Notice>
          <form onSubmit={submit} noValidate>
            <Alert error={create.error && field !== "name" && field !== "permissions" ? create.error : null} />
            <Field
              label="Name"
              required
              hint="Lowercase letters, digits, - and _; 2 to 40 characters"
              value={form.name}
              error={field === "name" ? create.error.message : null}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
            />
            <Field
              label="Permissions"
              hint="resource:action, one per line or separated by commas, e.g. users:read"
              error={field === "permissions" ? create.error.message : null}
            >
              {(id, describedBy) => (
                <textarea
                  id={id}
                  aria-describedby={describedBy}
                  value={form.permissions}
                  onChange={(e) => setForm({ ...form, permissions: e.target.value })}
                />
              )}
            </Field>
            <button type="submit" className="button button-primary" disabled={create.busy}>
              Add role
            </button>
          </form>
        </section>
      ) : null}
    </Page>
  );
}
