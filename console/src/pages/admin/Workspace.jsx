import { useId, useState } from "react";
import { api, seg, tenantPath } from "../../api.js";
import { Alert, Loading, Notice } from "../../components/ErrorCard.jsx";
import { CheckboxGroup, ConfirmButton, Field } from "../../components/Field.jsx";
import { When } from "../../components/format.jsx";
import { FormCard } from "../../components/FormCard.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useAction, useForm, useResource } from "../../hooks.js";
import { Link, navigate } from "../../router.jsx";
import { can } from "../../session.jsx";

const ROLES = ["admin", "member", "viewer"];

/** A workspace role picker. */
function RoleSelect({ label, value, onChange, disabled }) {
  const id = useId();
  return (
    <span className="row">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <select id={id} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
    </span>
  );
}

/** Members: their roles, adding and removing (workspace admins). */
function Members({ base, members, admin, users, onChanged }) {
  const act = useAction();
  const [form, setForm] = useState({ user: "", role: "member" });
  const memberPath = (m) => `${base}/members/${seg(m.user_id)}`;
  const setRole = async (m, role) => {
    if (await act.run(() => api.patch(memberPath(m), { role }), `${m.email} is now ${role}.`)) onChanged();
  };
  const remove = async (m) => {
    if (await act.run(() => api.del(memberPath(m)).then(() => true), `${m.email} was removed.`)) onChanged();
  };
  const add = async (event) => {
    event.preventDefault();
    const body = { user_id: form.user.trim(), role: form.role };
    if (await act.run(() => api.post(`${base}/members`, body), (m) => `${m.email} was added.`)) {
      setForm({ user: "", role: "member" });
      onChanged();
    }
  };
  const candidates = users.filter((u) => !members.some((m) => m.user_id === u.id));
  return (
    <section aria-labelledby="members-heading">
      <h2 id="members-heading">Members</h2>
      <Alert error={act.error} />
      <Notice>{act.notice}</Notice>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              <th scope="col">Added</th>
              {admin ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.user_id}>
                <td>
                  {m.name}
                  <div className="muted">{m.email}</div>
                </td>
                <td>
                  {admin ? (
                    <RoleSelect
                      label={`Role of ${m.email}`}
                      value={m.role}
                      disabled={act.busy}
                      onChange={(role) => setRole(m, role)}
                    />
                  ) : (
                    m.role
                  )}
                </td>
                <td>
                  <When at={m.added_at} />
                </td>
                {admin ? (
                  <td>
                    <ConfirmButton
                      label="Remove"
                      confirm={`Remove ${m.email} from the workspace?`}
                      disabled={act.busy}
                      onConfirm={() => remove(m)}
                    />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {admin ? (
        <form className="card" onSubmit={add}>
          <h3>Add a member</h3>
          <div className="row">
            {users.length > 0 ? (
              <Field label="User">
                {(id) => (
                  <select id={id} value={form.user} required onChange={(e) => setForm({ ...form, user: e.target.value })}>
                    <option value="">Choose…</option>
                    {candidates.map((u) => (
                      <option key={u.id} value={u.id}>
                        {u.name} ({u.email})
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            ) : (
              <Field
                label="User id or email"
                required
                value={form.user}
                onChange={(e) => setForm({ ...form, user: e.target.value })}
              />
            )}
            <Field label="Role">
              {(id) => (
                <select id={id} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <button type="submit" className="button button-primary" disabled={act.busy || !form.user.trim()}>
            Add member
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** Teams: listing and creating (members and up). */
function Teams({ base, teams, members, canCreate, onChanged }) {
  const empty = { name: "", description: "", members: [] };
  const [form, setForm] = useState(empty);
  const create = useAction();
  const nameOf = (id) => members.find((m) => m.user_id === id)?.name ?? id;
  const submit = async (event) => {
    event.preventDefault();
    const body = { name: form.name.trim(), description: form.description.trim() || undefined, members: form.members };
    if (await create.run(() => api.post(`${base}/teams`, body), (t) => `Team ${t.name} created.`)) {
      setForm(empty);
      onChanged();
    }
  };
  return (
    <section aria-labelledby="teams-heading">
      <h2 id="teams-heading">Teams</h2>
      {teams.length === 0 ? <p className="muted">No team yet.</p> : null}
      <ul className="link-list">
        {teams.map((t) => (
          <li key={t.id}>
            <strong>{t.name}</strong>
            {t.description ? ` · ${t.description}` : ""}
            <div className="muted">{t.members.map(nameOf).join(", ") || "no members"}</div>
          </li>
        ))}
      </ul>
      {canCreate ? (
        <form className="card" onSubmit={submit} noValidate>
          <h3>Create a team</h3>
          <Notice>{create.notice}</Notice>
          <Alert error={create.error} />
          <div className="form-grid">
            <Field label="Team name" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
            <Field
              label="Description"
              value={form.description}
              onChange={(e) => setForm({ ...form, description: e.target.value })}
            />
          </div>
          {members.length > 0 ? (
            <CheckboxGroup
              legend="Team members"
              options={members.map((m) => ({ value: m.user_id, label: `${m.name} (${m.email})` }))}
              value={form.members}
              onChange={(chosen) => setForm({ ...form, members: chosen })}
            />
          ) : null}
          <button type="submit" className="button button-primary" disabled={create.busy}>
            Create team
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** `n` things, e.g. "1 team", "3 members". */
const count = (n, thing) => `${n} ${thing}${n === 1 ? "" : "s"}`;

/**
 * Renaming the workspace and changing its description (workspace admins). `onSaved(workspace)`
 * gets the workspace as the API saved it.
 */
function EditWorkspace({ base, workspace, onSaved }) {
  const save = useAction();
  const { form, bind } = useForm({ name: workspace.name, description: workspace.description ?? "" }, save);
  const submit = async () => {
    const body = { name: form.name.trim(), description: form.description.trim() };
    const saved = await save.run(() => api.patch(base, body), (w) => `Workspace ${w.name} saved.`);
    if (saved) onSaved(saved);
  };
  return (
    <FormCard
      title="Edit the workspace"
      action={save}
      fields={["name", "description"]}
      onSubmit={submit}
      submitLabel="Save workspace"
      disabled={!form.name.trim()}
    >
      <div className="form-grid">
        <Field label="Workspace name" required {...bind("name")} />
        <Field label="Workspace description" {...bind("description")} />
      </div>
    </FormCard>
  );
}

/** Deleting the workspace, its memberships and teams with it (workspace admins). */
function DeleteWorkspace({ base, workspace, onDeleted }) {
  const remove = useAction();
  const confirm =
    `Delete ${workspace.name}, its ${count(workspace.member_count, "member")} and ` +
    `${count(workspace.team_count, "team")}? This cannot be undone.`;
  const run = async () => {
    if (await remove.run(() => api.del(`${base}?force=true`).then(() => true))) onDeleted();
  };
  return (
    <section aria-labelledby="delete-ws-heading" className="card">
      <h2 id="delete-ws-heading">Delete the workspace</h2>
      <Alert error={remove.error} />
      {workspace.is_default ? (
        <p className="muted">The tenant&apos;s default workspace cannot be deleted.</p>
      ) : (
        <ConfirmButton label="Delete workspace" confirm={confirm} disabled={remove.busy} onConfirm={run} />
      )}
    </section>
  );
}

/** `/admin/workspaces/:ws`: a workspace's details, members and teams; editing and deleting it. */
export default function Workspace({ params }) {
  const { me, tenant, reloadWorkspaces } = useConsole();
  const base = tenantPath(tenant.slug, `/workspaces/${seg(params.ws)}`);
  const workspace = useResource(base, (signal) => api.get(base, { signal }));
  const members = useResource(`${base}/members`, (signal) => api.get(`${base}/members`, { signal }));
  const teams = useResource(`${base}/teams`, (signal) => api.get(`${base}/teams`, { signal }));
  const users = useResource(can(me, "users:read") ? "users" : null, (signal) =>
    api.get(tenantPath(tenant.slug, "/users?per_page=100"), { signal }),
  );
  const w = workspace.data;
  const role = w?.role;
  const admin = role === "admin" && can(me, "workspaces:write");
  /** The workspace as the API saved it, in place of the loaded one; the switcher's list reloads. */
  const saved = (record) => {
    workspace.update(() => record);
    reloadWorkspaces();
  };
  const deleted = () => {
    reloadWorkspaces();
    navigate("/admin/workspaces");
  };
  const membersChanged = () => {
    members.reload();
    reloadWorkspaces();
  };
  return (
    <Page title={w ? `Workspace ${w.name}` : `Workspace ${params.ws}`}>
      <p>
        <Link to="/admin/workspaces">All workspaces</Link>
      </p>
      <Alert error={workspace.error || members.error || teams.error} />
      {workspace.loading && !w ? <Loading /> : null}
      {w ? (
        <dl className="facts">
          <dt>Slug</dt>
          <dd>{w.slug}</dd>
          <dt>Description</dt>
          <dd>{w.description || "—"}</dd>
          <dt>Your role</dt>
          <dd>{role ?? "—"}</dd>
          <dt>Created</dt>
          <dd>
            <When at={w.created_at} />
          </dd>
        </dl>
      ) : null}
      {w && admin ? <EditWorkspace key={w.id} base={base} workspace={w} onSaved={saved} /> : null}
      {members.data ? (
        <Members
          base={base}
          members={members.data}
          admin={admin}
          users={users.data?.data ?? []}
          onChanged={membersChanged}
        />
      ) : null}
      {teams.data && members.data ? (
        <Teams
          base={base}
          teams={teams.data}
          members={members.data}
          canCreate={(role === "admin" || role === "member") && can(me, "workspaces:write")}
          onChanged={teams.reload}
        />
      ) : null}
      {w && admin ? <DeleteWorkspace base={base} workspace={w} onDeleted={deleted} /> : null}
    </Page>
  );
}
