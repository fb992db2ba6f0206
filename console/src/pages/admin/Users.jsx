import { useState } from "react";
import { api, query, seg, tenantPath } from "../../api.js";
import { Alert, Loading, Notice } from "../../components/ErrorCard.jsx";
import { CheckboxGroup, ConfirmButton, Field, Pager } from "../../components/Field.jsx";
import { When } from "../../components/format.jsx";
import { FormCard } from "../../components/FormCard.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useAction, useForm, useResource } from "../../hooks.js";
import { can } from "../../session.jsx";

/** Checkboxes for a set of tenant roles. */
function RolePicker({ legend, roles, value, onChange }) {
  const options = roles.map((r) => ({ value: r.name, label: r.name }));
  return <CheckboxGroup legend={legend} options={options} value={value} onChange={onChange} />;
}

/** Create a user; without a password one is generated and shown once (the invite to pass on). */
function CreateUser({ tenant, roles, onCreated }) {
  const create = useAction();
  const { form, setForm, bind, reset } = useForm({ email: "", name: "", password: "", roles: ["member"] }, create);
  const submit = async () => {
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
      reset();
      onCreated();
    }
  };
  return (
    <FormCard
      title="Add a user"
      action={create}
      fields={["email", "name", "password"]}
      onSubmit={submit}
      submitLabel="Add user"
    >
      <div className="form-grid">
        <Field label="Email" type="email" required autoComplete="off" {...bind("email")} />
        <Field label="Name" hint="Default: the email's local part" {...bind("name")} />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          hint="At least 8 characters; leave empty to generate one"
          {...bind("password")}
        />
      </div>
      {roles.length > 0 ? (
        <RolePicker legend="Roles" roles={roles} value={form.roles} onChange={(r) => setForm({ ...form, roles: r })} />
      ) : null}
    </FormCard>
  );
}

/**
 * Change a user's name or set them a new password (which ends their other sessions).
 * `onSaved(user, notice)` gets the user as the API saved them.
 */
function EditUser({ user, path, self, onSaved, onCancel }) {
  const save = useAction();
  const { form, bind } = useForm({ name: user.name, password: "" }, save);
  const field = save.error?.details?.field;
  const name = form.name.trim();
  const changed = name !== user.name || form.password !== "";
  const submit = async (event) => {
    event.preventDefault();
    const body = { name: name !== user.name ? name : undefined, password: form.password || undefined };
    const saved = await save.run(() => api.patch(path, body));
    if (!saved) return;
    const { credentials_revoked: revoked, ...record } = saved;
    const whose = self ? "your other" : "their";
    onSaved(
      record,
      revoked
        ? `${saved.email} was saved with a new password: ${whose} sessions and API tokens were revoked.`
        : `${saved.email} was saved.`,
    );
  };
  return (
    <form onSubmit={submit} noValidate aria-label={`Edit ${user.email}`}>
      <Alert error={save.error && field !== "name" && field !== "password" ? save.error : null} />
      <Field label="Name" required autoComplete="off" {...bind("name")} />
      <Field
        label="New password"
        type="password"
        autoComplete="new-password"
        hint="At least 8 characters; leave empty to keep the current one"
        {...bind("password")}
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

/**
 * One user's row: editing their name, password and roles, and deletion. A saved edit is
 * `onSaved(user)`; a change of roles or a deletion is `onChanged()`.
 */
function UserRow({ user, roles, tenant, me, onSaved, onChanged }) {
  const [editing, setEditing] = useState(null);
  const [editingUser, setEditingUser] = useState(false);
  const [saved, setSaved] = useState(null);
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
  const userSaved = (record, notice) => {
    setEditingUser(false);
    setSaved(notice);
    onSaved(record);
  };
  return (
    <tr>
      <td>
        {editingUser ? null : user.name}
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
  /** A user as the API saved them, in place of their row's (no reload for an edit). */
  const saved = (user) =>
    users.update((page) => ({ ...page, data: page.data.map((u) => (u.id === user.id ? user : u)) }));
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
                  <UserRow
                    key={u.id}
                    user={u}
                    roles={roleList}
                    tenant={tenant.slug}
                    me={me}
                    onSaved={saved}
                    onChanged={users.reload}
                  />
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
