import { useEffect, useState } from "react";
import { api, query, seg, tenantPath } from "../../api.js";
import { Alert, Loading, Notice } from "../../components/ErrorCard.jsx";
import { ConfirmButton, Field, Pager } from "../../components/Field.jsx";
import { When } from "../../components/format.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useAction, useResource } from "../../hooks.js";
import { can } from "../../session.jsx";

/** Checkboxes for a set of tenant roles. */
function RolePicker({ legend, roles, value, onChange }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {roles.map((r) => (
        <label className="check" key={r.name}>
          <input
            type="checkbox"
            checked={value.includes(r.name)}
            onChange={(e) => onChange(e.target.checked ? [...value, r.name] : value.filter((n) => n !== r.name))}
          />
          {r.name}
        </label>
      ))}
    </fieldset>
  );
}

/** Create a user; without a password one is generated and shown once (the invite to pass on). */
function CreateUser({ tenant, roles, onCreated }) {
  const empty = { email: "", name: "", password: "", roles: ["member"] };
  const [form, setForm] = useState(empty);
  const create = useAction();
  const field = create.error?.details?.field;
  const submit = async (event) => {
    event.preventDefault();
    const body = {
      email: form.email.trim(),
      name: form.name.trim() || undefined,
      password: form.password || undefined,
      roles: form.roles,
    };
    const user = await create.run(() => api.post(tenantPath(tenant, "/users"), body), (u) =>
      u.initial_password
        ? `${u.email} was created. Their password, shown this once: ${u.initial_password}`
        : `${u.email} was created.`,
    );
    if (user) {
      setForm(empty);
      onCreated();
    }
  };
  return (
    <section aria-labelledby="create-user-heading" className="card">
      <h2 id="create-user-heading">Add a user</h2>
      <Notice>{create.notice}</Notice>
      <form onSubmit={submit} noValidate>
        <Alert error={create.error && !field ? create.error : null} />
        <div className="form-grid">
          <Field
            label="Email"
            type="email"
            required
            autoComplete="off"
            value={form.email}
            error={field === "email" ? create.error.message : null}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
          />
          <Field
            label="Name"
            hint="Default: the email's local part"
            value={form.name}
            error={field === "name" ? create.error.message : null}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
          />
          <Field
            label="Password"
            type="password"
            autoComplete="new-password"
            hint="At least 8 characters; leave empty to generate one"
            value={form.password}
            error={field === "password" ? create.error.message : null}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
        </div>
        {roles.length > 0 ? (
          <RolePicker legend="Roles" roles={roles} value={form.roles} onChange={(r) => setForm({ ...form, roles: r })} />
        ) : null}
        <button type="submit" className="button button-primary" disabled={create.busy}>
          Add user
        </button>
      </form>
    </section>
  );
}

/** Change a user's name or set them a new password (which ends their other sessions). */
function EditUser({ user, path, self, onSaved, onCancel }) {
  const [form, setForm] = useState({ name: user.name, password: "" });
  const save = useAction();
  const field = save.error?.details?.field;
  const name = form.name.trim();
  const changed = name !== user.name || form.password !== "";
  const submit = async (event) => {
    event.preventDefault();
    const body = { name: name !== user.name ? name : undefined, password: form.password || undefined };
    const saved = await save.run(() => api.patch(path, body));
    if (!saved) return;
    const whose = self ? "your other" : "their";
    onSaved(
      saved.name,
      saved.credentials_revoked
        ? `${saved.email} was saved with a new password: ${whose} sessions and API tokens were revoked.`
        : `${saved.email} was saved.`,
    );
  };
  return (
    <form onSubmit={submit} noValidate aria-label={`Edit ${user.email}`}>
      <Alert error={save.error && field !== "name" && field !== "password" ? save.error : null} />
      <Field
        label="Name"
        required
        autoComplete="off"
        value={form.name}
        error={field === "name" ? save.error.message : null}
        onChange={(e) => setForm({ ...form, name: e.target.value })}
      />
      <Field
        label="New password"
        type="password"
        autoComplete="new-password"
        hint="At least 8 characters; leave empty to keep the current one"
        value={form.password}
        error={field === "password" ? save.error.message : null}
        onChange={(e) => setForm({ ...form, password: e.target.value })}
      />
      <div className="row">
        <button type="submit" className="button button-primary" disabled={save.busy || !changed || !name}>
          Save
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** One user's row: editing their name, password and roles, and deletion. */
function UserRow({ user, roles, tenant, me, onChanged }) {
  const [editing, setEditing] = useState(null);
  const [editingUser, setEditingUser] = useState(false);
  const [saved, setSaved] = useState(null);
  // The name just saved, shown with its notice until the reloaded list brings it.
  const [savedName, setSavedName] = useState(null);
  useEffect(() => setSavedName(null), [user.name]);
  const act = useAction();
  const path = tenantPath(tenant, `/users/${seg(user.id)}`);
  const saveRoles = async () => {
    if (await act.run(() => api.put(`${path}/roles`, { roles: editing }))) {
      setEditing(null);
      onChanged();
    }
  };
  const remove = async () => {
    if (await act.run(() => api.del(path).then(() => true))) onChanged();
  };
  const userSaved = (name, notice) => {
    setEditingUser(false);
    setSavedName(name);
    setSaved(notice);
    onChanged();
  };
  return (
    <tr>
      <td>
        {editingUser ? null : (savedName ?? user.name)}
        <div className="muted">{user.email}</div>
        {editingUser ? (
          <EditUser
            user={user}
            path={path}
            self={user.id === me.id}
            onSaved={userSaved}
            onCancel={() => setEditingUser(false)}
          />
        ) : null}
        <Notice>{saved}</Notice>
      </td>
      <td>
        {editing ? (
          <>
            <RolePicker legend={`Roles of ${user.email}`} roles={roles} value={editing} onChange={setEditing} />
            <div className="row">
              <button type="button" className="button button-primary" disabled={act.busy} onClick={saveRoles}>
                Save roles
              </button>
              <button type="button" className="button" onClick={() => setEditing(null)}>
                Cancel
              </button>
            </div>
          </>
        ) : (
          user.roles.join(", ") || "none"
        )}
        <Alert error={act.error} />
      </td>
      <td>
        <When at={user.created_at} />
      </td>
      <td>
        <div className="row">
          {can(me, "users:write") && !editingUser ? (
            <button
              type="button"
              className="button"
              onClick={() => {
                setSaved(null);
                setEditingUser(true);
              }}
            >
              Edit<span className="visually-hidden"> {user.email}</span>
            </button>
          ) : null}
          {can(me, "roles:write") && roles.length > 0 && !editing ? (
            <button type="button" className="button" onClick={() => setEditing(user.roles)}>
              Edit roles<span className="visually-hidden"> of {user.email}</span>
            </button>
          ) : null}
          {can(me, "users:write") && user.id !== me.id ? (
            <ConfirmButton label="Delete" confirm={`Delete ${user.email}?`} disabled={act.busy} onConfirm={remove} />
          ) : null}
        </div>
      </td>
    </tr>
  );
}

/** `/admin/users`: the tenant's users, adding, editing and deleting them, their roles. */
export default function Users() {
  const { me, tenant } = useConsole();
  const [page, setPage] = useState(1);
  const users = useResource(`users:${page}`, (signal) =>
    api.get(tenantPath(tenant.slug, `/users${query({ page, per_page: 50 })}`), { signal }),
  );
  const roles = useResource(can(me, "roles:read") ? "roles" : null, (signal) =>
    api.get(tenantPath(tenant.slug, "/roles"), { signal }),
  );
  const roleList = roles.data ?? [];
  return (
    <Page title="Users">
      {can(me, "users:write") ? <CreateUser tenant={tenant.slug} roles={roleList} onCreated={users.reload} /> : null}
      <Alert error={users.error} />
      {users.loading && !users.data ? <Loading /> : null}
      {users.data ? (
        <>
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Users of the tenant</caption>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Created</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {users.data.data.map((u) => (
                  <UserRow key={u.id} user={u} roles={roleList} tenant={tenant.slug} me={me} onChanged={users.reload} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={users.data} onPage={setPage} />
        </>
      ) : null}
    </Page>
  );
}
