import { useState } from "react";
import { api, query, seg, tenantPath } from "../../api.js";
import { Alert, Loading } from "../../components/ErrorCard.jsx";
import { ExternalLink, When } from "../../components/format.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useAction, useResource } from "../../hooks.js";
import { Link, navigate } from "../../router.jsx";
import { ConfigForm } from "./ConfigForm.jsx";
import { VersionFinder } from "./VersionFinder.jsx";

/** What a manifest says the plugin is and will do once installed. */
function ManifestFacts({ detail }) {
  const { manifest } = detail;
  const info = manifest.plugin;
  const required = Object.entries(manifest.dependencies?.required ?? {});
  const modules = manifest.frontend?.modules ?? [];
  return (
    <>
      <p>{info.description}</p>
      <dl className="facts">
        <dt>Plugin id</dt>
        <dd>{detail.id}</dd>
        <dt>Version</dt>
        <dd>
          {detail.version}
          {detail.yanked ? ` (yanked: ${detail.yank_reason || "no reason given"})` : ""}
        </dd>
        <dt>Published</dt>
        <dd>
          <When at={detail.published_at} /> by {detail.published_by}
        </dd>
        <dt>Signed</dt>
        <dd>{detail.signature ? `yes, key ${detail.key_id ?? "unknown"}` : "no"}</dd>
        <dt>Authors</dt>
        <dd>{(info.authors ?? []).join(", ") || "—"}</dd>
        <dt>License</dt>
        <dd>{info.license}</dd>
        {info.homepage ? (
          <>
            <dt>Home page</dt>
            <dd>
              <ExternalLink href={info.homepage} />
            </dd>
          </>
        ) : null}
        {info.repository ? (
          <>
            <dt>Repository</dt>
            <dd>
              <ExternalLink href={info.repository} />
            </dd>
          </>
        ) : null}
        <dt>Requires</dt>
        <dd>{required.length ? required.map(([id, req]) => `${id} ${req}`).join(", ") : "no other plugin"}</dd>
        <dt>Adds to the console</dt>
        <dd>{modules.length ? modules.map((m) => `${m.name} (${m["extension-point"]})`).join(", ") : "nothing"}</dd>
      </dl>
      {manifest.permissions?.length ? (
        <>
          <h2>Permissions it declares</h2>
          <ul>
            {manifest.permissions.map((p) => (
              <li key={p.key}>
                <code>{p.key}</code>: {p.description}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </>
  );
}

/** `/admin/catalog/:plugin`: a registry plugin's version, and the install form its manifest makes. */
export default function Offer({ params }) {
  const { tenant, reloadPlugins } = useConsole();
  const [versionReq, setVersionReq] = useState("");
  const [activate, setActivate] = useState(true);
  const offer = useResource(`${params.plugin}@${versionReq}`, (signal) =>
    api.get(`/api/v1/plugins/${seg(params.plugin)}${query({ version_req: versionReq })}`, { signal }),
  );
  const install = useAction();
  const detail = offer.data;

  const submit = async (config) => {
    const body = { id: detail.id, version_req: `=${detail.version}`, config, activate };
    const done = await install.run(() => api.post(tenantPath(tenant.slug, "/plugins"), body));
    if (done) {
      reloadPlugins();
      navigate(`/admin/plugins/${encodeURIComponent(done.id)}`);
    }
  };

  return (
    <Page title={detail ? `Install ${detail.manifest.plugin.name}` : `Install ${params.plugin}`}>
      <p>
        <Link to="/admin/catalog">Back to the catalog</Link>
      </p>
      <VersionFinder value={versionReq} onChange={setVersionReq} />
      <Alert error={offer.error} />
      {offer.loading && !detail ? <Loading /> : null}
      {detail ? (
        <>
          <ManifestFacts detail={detail} />
          <h2>Settings</h2>
          <ConfigForm
            key={`${detail.id}@${detail.version}`}
            fields={detail.manifest.config ?? []}
            values={Object.fromEntries((detail.manifest.config ?? []).map((f) => [f.key, f.default]))}
            mode="install"
            error={install.error}
            busy={install.busy}
            submitLabel={`Install ${detail.version}`}
            onSubmit={submit}
          >
            <div className="field field-check">
              <input id="install-activate" type="checkbox" checked={activate} onChange={(e) => setActivate(e.target.checked)} />
              <label htmlFor="install-activate">Activate right after installing</label>
            </div>
          </ConfigForm>
        </>
      ) : null}
    </Page>
  );
}
