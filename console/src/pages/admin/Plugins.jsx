import { api, tenantPath } from "../../api.js";
import { Alert, Loading } from "../../components/ErrorCard.jsx";
import { StateBadge, When } from "../../components/format.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useResource } from "../../hooks.js";
import { Link } from "../../router.jsx";
import { can } from "../../session.jsx";

/** `/admin/plugins`: the plugins installed in the tenant, failed ones with their reason. */
export default function Plugins() {
  const { me, tenant } = useConsole();
  const installed = useResource(`plugins:${tenant.slug}`, (signal) =>
    api.get(tenantPath(tenant.slug, "/plugins"), { signal }),
  );
  return (
    <Page
      title="Plugins"
      actions={can(me, "plugins:write") ? <Link to="/admin/catalog">Install from the catalog</Link> : null}
    >
      <Alert error={installed.error} />
      {installed.loading && !installed.data ? <Loading /> : null}
      {installed.data && installed.data.length === 0 ? <p>No plugin is installed yet.</p> : null}
      {installed.data && installed.data.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Plugin</th>
                <th scope="col">Version</th>
                <th scope="col">State</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {installed.data.map((p) => (
                <tr key={p.id}>
                  <td>
                    <Link to={`/admin/plugins/${encodeURIComponent(p.id)}`}>{p.name}</Link>
                    <div className="muted">{p.id}</div>
                  </td>
                  <td>{p.version}</td>
                  <td>
                    <StateBadge state={p.state} />
                    {p.error ? <div className="field-error">{p.error}</div> : null}
                  </td>
                  <td>
                    <When at={p.updated_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Page>
  );
}
