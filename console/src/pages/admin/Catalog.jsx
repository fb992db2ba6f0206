import { useId, useState } from "react";
import { api, query, tenantPath } from "../../api.js";
import { Alert, Loading } from "../../components/ErrorCard.jsx";
import { Pager } from "../../components/Field.jsx";
import { Page } from "../../components/Page.jsx";
import { useConsole } from "../../console.jsx";
import { useResource } from "../../hooks.js";
import { Link } from "../../router.jsx";

/** The registry's plugin categories (manifest.md). */
const CATEGORIES = [
  "analytics", "automation", "billing", "communication", "crm", "ecommerce", "finance", "hr",
  "integration", "marketing", "productivity", "reporting", "security", "storage", "utility", "other",
];

/** `/admin/catalog`: search the registry's catalog (`GET /api/v1/plugins`). */
export default function Catalog() {
  const { tenant } = useConsole();
  const [search, setSearch] = useState({ q: "", category: "", page: 1 });
  const [draft, setDraft] = useState({ q: "", category: "" });
  const qId = useId();
  const categoryId = useId();
  const catalog = useResource(JSON.stringify(search), (signal) =>
    api.get(`/api/v1/plugins${query({ ...search, per_page: 20 })}`, { signal }),
  );
  const installed = useResource(`installed:${tenant.slug}`, (signal) =>
    api.get(tenantPath(tenant.slug, "/plugins"), { signal }),
  );
  const isInstalled = (id) => (installed.data ?? []).some((p) => p.id === id);

  return (
    <Page title="Plugin catalog">
      <form
        className="row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch({ ...draft, page: 1 });
        }}
      >
        <label htmlFor={qId}>Search</label>
        <input id={qId} type="search" value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
        <label htmlFor={categoryId}>Category</label>
        <select
          id={categoryId}
          value={draft.category}
          onChange={(e) => setDraft({ ...draft, category: e.target.value })}
        >
          <option value="">Any</option>
          {CATEGORIES.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <button type="submit" className="button button-primary">
          Search
        </button>
      </form>
      <Alert error={catalog.error} />
      {catalog.loading && !catalog.data ? <Loading /> : null}
      {catalog.data ? (
        <>
          <p className="muted" role="status">
            {catalog.data.total === 1 ? "1 plugin" : `${catalog.data.total} plugins`}
          </p>
          <ul className="catalog">
            {catalog.data.plugins.map((p) => (
              <li key={p.id} className="card">
                <h2 className="catalog-name">
                  <Link to={`/admin/catalog/${encodeURIComponent(p.id)}`}>{p.name}</Link>
                </h2>
                <p className="muted">
                  {p.id}
                  {p.latest ? ` · ${p.latest}` : " · no release yet"} · {p.downloads} downloads
                  {p.categories.length ? ` · ${p.categories.join(", ")}` : ""}
                </p>
                <p>{p.description}</p>
                <p className="row">
                  {p.deprecated ? <span className="badge badge-failed">deprecated</span> : null}
                  {isInstalled(p.id) ? (
                    <Link to={`/admin/plugins/${encodeURIComponent(p.id)}`}>Installed: manage</Link>
                  ) : null}
                </p>
              </li>
            ))}
          </ul>
          <Pager page={catalog.data} onPage={(page) => setSearch({ ...search, page })} />
        </>
      ) : null}
    </Page>
  );
}
