import { useId, useState } from "react";
import { api, query } from "../../api.js";
import { Alert, Loading, Notice } from "../../components/ErrorCard.jsx";
import { Pager } from "../../components/Field.jsx";
import { StateBadge, When } from "../../components/format.jsx";
import { Page } from "../../components/Page.jsx";
import { useAction, useResource } from "../../hooks.js";
import { Link } from "../../router.jsx";

const DLQ_STATES = ["PENDING", "RETRYING", "RESOLVED", "DISCARDED"];

/** `/platform/dead-letters` (super admin): deliveries that failed every attempt. */
export default function DeadLetters() {
  const [filter, setFilter] = useState({ state: "PENDING", page: 1 });
  const stateId = useId();
  const letters = useResource(JSON.stringify(filter), (signal) =>
    api.get(`/api/v1/admin/dlq${query({ ...filter, per_page: 50 })}`, { signal }),
  );
  const retryAll = useAction();
  const retry = async () => {
    if (await retryAll.run(() => api.post("/api/v1/admin/dlq/retry"), (r) => `${r.retried} dead letters queued again.`)) {
      letters.reload();
    }
  };
  return (
    <Page
      title="Dead letters"
      actions={
        <button type="button" className="button" disabled={retryAll.busy} onClick={retry}>
          Retry every pending one
        </button>
      }
    >
      <Alert error={retryAll.error} />
      <Notice>{retryAll.notice}</Notice>
      <div className="row field">
        <label htmlFor={stateId}>State</label>
        <select id={stateId} value={filter.state} onChange={(e) => setFilter({ state: e.target.value, page: 1 })}>
          <option value="">Any</option>
          {DLQ_STATES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
      </div>
      <Alert error={letters.error} />
      {letters.loading && !letters.data ? <Loading /> : null}
      {letters.data && letters.data.data.length === 0 ? <p>No dead letter here.</p> : null}
      {letters.data && letters.data.data.length > 0 ? (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Subscriber</th>
                  <th scope="col">State</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last failure</th>
                </tr>
              </thead>
              <tbody>
                {letters.data.data.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <Link to={`/platform/dead-letters/${encodeURIComponent(d.id)}`}>{d.event_type}</Link>
                      <div className="muted clip">{d.error}</div>
                    </td>
                    <td>{d.tenant}</td>
                    <td>{d.plugin_id}</td>
                    <td>
                      <StateBadge state={d.state} />
                    </td>
                    <td>{d.attempts}</td>
                    <td>
                      <When at={d.failed_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={letters.data} onPage={(page) => setFilter({ ...filter, page })} />
        </>
      ) : null}
    </Page>
  );
}
