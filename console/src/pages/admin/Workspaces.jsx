import { api, tenantPath } from "../../api.js";
import { Field } from "../../components/Field.jsx";
import { FormCard } from "../../components/FormCard.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useAction, useForm } from "../../hooks.js";
import { Link } from "../../router.jsx";
import { can } from "../../session.jsx";

/** Create a workspace (its creator becomes its admin). */
function CreateWorkspace({ tenant, onCreated }) {
  const create = useAction();
  const { form, bind, reset } = useForm({ slug: "", name: "", description: "" }, create);
  const submit = async () => {
    const body = { slug: form.slug.trim(), name: form.name.trim(), description: form.description.trim() || undefined };
    const made = await create.run(
      () => api.post(tenantPath(tenant, "/workspaces"), body),
      (w) => `Workspace ${w.name} created.`,
    );
    if (made) {
      reset();
      onCreated();
    }
  };
  return (
    <FormCard
      title="Create a workspace"
      action={create}
      fields={["slug", "name", "description"]}
      onSubmit={submit}
      submitLabel="Create workspace"
    >
      <div className="form-grid">
        <Field label="Slug" required hint="Lowercase letters, digits and -; used in addresses" {...bind("slug")} />
        <Field label="Name" required {...bind("name")} />
        <Field label="Description" {...bind("description")} />
      </div>
    </FormCard>
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
