import { useState } from "react";
import { api, query, seg } from "../../api.js";
import { Alert, Loading } from "../../components/ErrorCard.jsx";
import { ConfirmButton, Field, Pager } from "../../components/Field.jsx";
import { StateBadge, When } from "../../components/format.jsx";
import { FormCard } from "../../components/FormCard.jsx";
import { Page } from "../../components/Page.jsx";
import { useAction, useForm, useResource } from "../../hooks.js";

/** Provision a tenant; the answer carries its first admin's password, shown once. */
function CreateTenant({ onCreated }) {
  const create = useAction();
  const { form, bind, reset } = useForm({ slug: "", name: "", admin_email: "" }, create);
  const submit = async () => {
    const body = { slug: form.slug.trim(), name: form.name.trim(), admin_email: form.admin_email.trim() || undefined };
    const made = await create.run(
      () => api.post("/api/v1/tenants", body),
      (t) =>
        t.initial_admin
          ? `Tenant ${t.name} created (${t.status.toLowerCase()}). Its admin signs in as ${t.initial_admin.email} with the password ${t.initial_admin.password}, shown this once.`
          : `Tenant ${t.name} created (${t.status.toLowerCase()}).`,
    );
    if (made) {
      reset();
      onCreated();
    }
  };
  return (
    <FormCard
      title="Create a tenant"
      action={create}
      fields={["slug", "name", "admin_email"]}
      onSubmit={submit}
      submitLabel="Create tenant"
    >
      <div className="form-grid">
        <Field label="Slug" required hint="3 to 51 lowercase letters, digits and -" {...bind("slug")} />
        <Field label="Name" required {...bind("name")} />
        <Field label="First admin's email" type="email" hint="Default: admin@<slug>.local" {...bind("admin_email")} />
      </div>
    </FormCard>
  );
}

/** A tenant's row: suspend, re-activate, delete. */
function TenantRow({ tenant, onChanged }) {
  const act = useAction();
  const [hard, setHard] = useState(false);
  const path = `/api/v1/tenants/${seg(tenant.slug)}`;
  const run = async (fn) => {
    if (await act.run(() => fn().then(() => true))) onChanged();
  };
  const status = tenant.status;
  return (
    <tr>
      <td>
        {tenant.name}
        <div className="muted">{tenant.slug}</div>
      </td>
      <td>
        <StateBadge state={status} />
      </td>
      <td>
        <When at={tenant.created_at} />
      </td>
      <td>
        <div className="row">
          {status === "ACTIVE" ? (
            <button type="button" className="button" disabled={act.busy} onClick={() => run(() => api.post(`${path}/suspend`))}>
              Suspend<span className="visually-hidden"> {tenant.slug}</span>
            </button>
          ) : null}
          {status === "SUSPENDED" || status === "PENDING_DELETION" ? (
            <button type="button" className="button" disabled={act.busy} onClick={() => run(() => api.post(`${path}/activate`))}>
              Activate<span className="visually-hidden"> {tenant.slug}</span>
            </button>
          ) : null}
          {status !== "DELETED" ? (
            <>
              <ConfirmButton
                label="Delete"
                confirm={hard ? `Delete ${tenant.slug} and drop its data?` : `Delete ${tenant.slug}?`}
                disabled={act.busy}
                onConfirm={() => run(() => api.del(path + query({ hard: hard ? "true" : "" })))}
              />
              <label className="check">
                <input type="checkbox" checked={hard} onChange={(e) => setHard(e.target.checked)} />
                Drop its data<span className="visually-hidden"> ({tenant.slug})</span>
              </label>
            </>
          ) : null}
        </div>
        <Alert error={act.error} />
      </td>
    </tr>
  );
}

/** `/platform/tenants` (super admin): every tenant and its lifecycle. */
export default function Tenants() {
  const [page, setPage] = useState(1);
  const tenants = useResource(`tenants:${page}`, (signal) =>
    api.get(`/api/v1/tenants${query({ page, per_page: 50 })}`, { signal }),
  );
  return (
    <Page title="Tenants">
      <CreateTenant onCreated={tenants.reload} />
      <Alert error={tenants.error} />
      {tenants.loading && !tenants.data ? <Loading /> : null}
      {tenants.data ? (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {tenants.data.data.map((t) => (
                  <TenantRow key={t.id} tenant={t} onChanged={tenants.reload} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={tenants.data} onPage={setPage} />
        </>
      ) : null}
    </Page>
  );
}
