import { api, tenantPath } from "../../api.js";
import { Alert, Loading } from "../../components/ErrorCard.jsx";
import { Field } from "../../components/Field.jsx";
import { FormCard } from "../../components/FormCard.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useAction, useForm, useResource } from "../../hooks.js";
import { can } from "../../session.jsx";

/** Permission strings typed one per line or separated by commas or spaces. */
const permissionsOf = (text) => text.split(/[\s,]+/).filter(Boolean);

/** `/admin/roles`: the tenant's roles and their permissions; custom roles can be added. */
export default function Roles() {
  const { me, tenant } = useConsole();
  const roles = useResource("roles", (signal) => api.get(tenantPath(tenant.slug, "/roles"), { signal }));
  const create = useAction();
  const { form, bind, reset } = useForm({ name: "", permissions: "" }, create);
  const permissions = bind("permissions");
  const submit = async () => {
    const body = { name: form.name.trim(), permissions: permissionsOf(form.permissions) };
    if (await create.run(() => api.post(tenantPath(tenant.slug, "/roles"), body), (r) => `Role ${r.name} created.`)) {
      reset();
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
        <FormCard
          title="Add a role"
          action={create}
          fields={["name", "permissions"]}
          onSubmit={submit}
          submitLabel="Add role"
        >
          <Field label="Name" required hint="Lowercase letters, digits, - and _; 2 to 40 characters" {...bind("name")} />
          <Field
            label="Permissions"
            hint="resource:action, one per line or separated by commas, e.g. users:read"
            error={permissions.error}
          >
            {(id, describedBy) => (
              <textarea
                id={id}
                aria-describedby={describedBy}
                value={permissions.value}
                onChange={permissions.onChange}
              />
            )}
          </Field>
        </FormCard>
      ) : null}
    </Page>
  );
}
