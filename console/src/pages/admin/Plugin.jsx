import { useState } from "react";
import { api, query, seg, tenantPath } from "../../api.js";
import { Alert, ErrorCard, Loading, Notice } from "../../components/ErrorCard.jsx";
import { ConfirmButton } from "../../components/Field.jsx";
import { StateBadge, When } from "../../components/format.jsx";
import { Page } from "../../components/Page.jsx";
import { isFailed, useConsole } from "../../console.jsx";
import { useAction, useResource } from "../../hooks.js";
import { Link, navigate } from "../../router.jsx";
import { can } from "../../session.jsx";
import { ConfigForm } from "./ConfigForm.jsx";
import { VersionFinder } from "./VersionFinder.jsx";

/** Settings as a read-only list (secrets arrive redacted). */
function Values({ fields, values }) {
  if (fields.length === 0) return <p className="muted">This plugin has no settings.</p>;
  return (
    <dl className="facts">
      {fields.map((f) => (
        <div key={f.key} className="facts-row">
          <dt>{f.label || f.key}</dt>
          <dd>{values[f.key] === undefined ? "—" : typeof values[f.key] === "string" ? values[f.key] : JSON.stringify(values[f.key])}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Upgrade: find the target version, give what its manifest newly requires, upgrade. */
function Upgrade({ plugin, path, onDone }) {
  const [versionReq, setVersionReq] = useState(null);
  const offer = useResource(versionReq === null ? null : `${plugin.id}@${versionReq}`, (signal) =>
    api.get(`/api/v1/plugins/${seg(plugin.id)}${query({ version_req: versionReq })}`, { signal }),
  );
  const upgrade = useAction();
  const target = offer.data;
  const submit = async (config) => {
    const body = { version_req: `=${target.version}`, config };
    if (await upgrade.run(() => api.post(`${path}/upgrade`, body), `Upgraded to ${target.version}.`)) onDone();
  };
  return (
    <section aria-labelledby="upgrade-heading">
      <h2 id="upgrade-heading">Upgrade</h2>
      <VersionFinder value="" onChange={setVersionReq} label="Upgrade to" action="Find the version" />
      <Alert error={offer.error} />
      <Notice>{upgrade.notice}</Notice>
      {offer.loading ? <Loading /> : null}
      {target && target.version === plugin.version ? <p>Version {target.version} is the one installed.</p> : null}
      {target && target.version !== plugin.version ? (
        <>
          <p>
            From {plugin.version} to {target.version}. The settings are carried over; change them here if the new
            version needs it.
          </p>
          <ConfigForm
            key={target.version}
            fields={target.manifest.config ?? []}
            values={plugin.config}
            mode="update"
            error={upgrade.error}
            busy={upgrade.busy}
            submitLabel={`Upgrade to ${target.version}`}
            onSubmit={submit}
          />
        </>
      ) : null}
    </section>
  );
}

/** The active workspace's overrides of the settings marked `workspace-override`. */
function WorkspaceSettings({ plugin, tenant, workspace }) {
  const path = tenantPath(
    tenant.slug,
    `/workspaces/${seg(workspace.slug)}/plugins/${seg(plugin.id)}/settings`,
  );
  const settings = useResource(path, (signal) => api.get(path, { signal }));
  const save = useAction();
  const fields = plugin.config_fields.filter((f) => f["workspace-override"]);
  if (fields.length === 0) return null;
  const submit = async (overrides) => {
    if (await save.run(() => api.put(path, { overrides }), "Workspace settings saved.")) settings.reload();
  };
  return (
    <section aria-labelledby="ws-settings-heading">
      <h2 id="ws-settings-heading">Settings in the workspace {workspace.name}</h2>
      <Alert error={settings.error} />
      <Notice>{save.notice}</Notice>
      {settings.data ? (
        <>
          <h3>In effect</h3>
          <Values fields={fields} values={settings.data.effective} />
          {workspace.role === "admin" ? (
            <>
              <h3>Overrides</h3>
              <ConfigForm
                key={JSON.stringify(settings.data.overrides)}
                fields={fields}
                values={settings.data.overrides}
                mode="override"
                error={save.error}
                busy={save.busy}
                submitLabel="Save workspace settings"
                onSubmit={submit}
              />
            </>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

/** `/admin/plugins/:id`: an installed plugin: state, lifecycle, settings, upgrade. */
export default function Plugin({ params }) {
  const { me, tenant, workspace, reloadPlugins } = useConsole();
  const path = tenantPath(tenant.slug, `/plugins/${seg(params.id)}`);
  const plugin = useResource(path, (signal) => api.get(path, { signal }));
  const lifecycle = useAction();
  const configure = useAction();
  const [purge, setPurge] = useState(false);
  const writable = can(me, "plugins:write");
  const p = plugin.data;

  const changed = () => {
    plugin.reload();
    reloadPlugins();
  };
  const transition = async (verb, done) => {
    if (await lifecycle.run(() => api.post(`${path}/${verb}`), done)) changed();
  };
  const uninstall = async () => {
    if (await lifecycle.run(() => api.del(path + query({ purge: purge ? "true" : "" })).then(() => true))) {
      reloadPlugins();
      navigate("/admin/plugins");
    }
  };
  const saveConfig = async (config) => {
    if (Object.keys(config).length === 0) return;
    if (await configure.run(() => api.patch(`${path}/config`, { config }), "Settings saved.")) changed();
  };

  return (
    <Page title={p ? p.name : params.id}>
      <p>
        <Link to="/admin/plugins">All plugins</Link>
      </p>
      <Alert error={plugin.error} />
      {plugin.loading && !p ? <Loading /> : null}
      {p ? (
        <>
          {isFailed(p) ? <ErrorCard title="This plugin has failed" message={p.error || "No reason was given."} /> : null}
          <dl className="facts">
            <dt>Plugin id</dt>
            <dd>{p.id}</dd>
            <dt>Version</dt>
            <dd>{p.version}</dd>
            <dt>State</dt>
            <dd>
              <StateBadge state={p.state} />
            </dd>
            <dt>Installed</dt>
            <dd>
              <When at={p.installed_at} />
            </dd>
            <dt>Updated</dt>
            <dd>
              <When at={p.updated_at} />
            </dd>
            <dt>Permissions</dt>
            <dd>{p.permissions.join(", ") || "none"}</dd>
            <dt>Migrations</dt>
            <dd>{p.migrations.join(", ") || "none"}</dd>
            <dt>Package digest</dt>
            <dd>
              <code>{p.digest}</code>
            </dd>
          </dl>

          {writable ? (
            <section aria-labelledby="lifecycle-heading">
              <h2 id="lifecycle-heading">Lifecycle</h2>
              <Alert error={lifecycle.error} />
              <Notice>{lifecycle.notice}</Notice>
              <div className="row">
                {p.state !== "ACTIVE" ? (
                  <button
                    type="button"
                    className="button button-primary"
                    disabled={lifecycle.busy}
                    onClick={() => transition("activate", `${p.name} is active.`)}
                  >
                    Activate
                  </button>
                ) : (
                  <button
                    type="button"
                    className="button"
                    disabled={lifecycle.busy}
                    onClick={() => transition("deactivate", `${p.name} is deactivated.`)}
                  >
                    Deactivate
                  </button>
                )}
                <ConfirmButton
                  label="Uninstall"
                  confirm={purge ? `Uninstall ${p.name} and drop its data?` : `Uninstall ${p.name}?`}
                  disabled={lifecycle.busy}
                  onConfirm={uninstall}
                />
                <label className="check">
                  <input type="checkbox" checked={purge} onChange={(e) => setPurge(e.target.checked)} />
                  Also drop its tables (purge)
                </label>
              </div>
            </section>
          ) : null}

          <section aria-labelledby="settings-heading">
            <h2 id="settings-heading">Settings</h2>
            <Notice>{configure.notice}</Notice>
            {writable && p.config_fields.length > 0 ? (
              <ConfigForm
                key={p.updated_at}
                fields={p.config_fields}
                values={p.config}
                mode="update"
                error={configure.error}
                busy={configure.busy}
                submitLabel="Save settings"
                onSubmit={saveConfig}
              />
            ) : (
              <Values fields={p.config_fields} values={p.config} />
            )}
          </section>

          {writable ? <Upgrade plugin={p} path={path} onDone={changed} /> : null}
          {workspace ? (
            <WorkspaceSettings key={workspace.slug} plugin={p} tenant={tenant} workspace={workspace} />
          ) : null}
        </>
      ) : null}
    </Page>
  );
}
