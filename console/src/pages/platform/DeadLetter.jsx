import { api, seg } from "../../api.js";
import { Alert, Loading, Notice } from "../../components/ErrorCard.jsx";
import { ConfirmButton } from "../../components/Field.jsx";
import { StateBadge, When } from "../../components/format.jsx";
import { Page } from "../../components/Page.jsx";
import { useAction, useResource } from "../../hooks.js";
import { Link, navigate } from "../../router.jsx";

/** `/platform/dead-letters/:id` (super admin): one dead letter with its event; retry or discard. */
export default function DeadLetter({ params }) {
  const path = `/api/v1/admin/dlq/${seg(params.id)}`;
  const letter = useResource(path, (signal) => api.get(path, { signal }));
  const act = useAction();
  const d = letter.data;
  const retry = async () => {
    if (await act.run(() => api.post(`${path}/retry`), "Queued for delivery again.")) letter.reload();
  };
  const discard = async () => {
    if (await act.run(() => api.del(path).then(() => true))) navigate("/platform/dead-letters");
  };
  return (
    <Page title={d ? `Dead letter: ${d.event_type}` : "Dead letter"}>
      <p>
        <Link to="/platform/dead-letters">All dead letters</Link>
      </p>
      <Alert error={letter.error || act.error} />
      <Notice>{act.notice}</Notice>
      {letter.loading && !d ? <Loading /> : null}
      {d ? (
        <>
          <div className="row">
            <button type="button" className="button button-primary" disabled={act.busy} onClick={retry}>
              Retry
            </button>
            <ConfirmButton label="Discard" confirm="Discard this dead letter?" disabled={act.busy} onConfirm={discard} />
          </div>
          <dl className="facts">
            <dt>State</dt>
            <dd>
              <StateBadge state={d.state} />
            </dd>
            <dt>Tenant</dt>
            <dd>{d.tenant}</dd>
            <dt>Subscriber</dt>
            <dd>{d.plugin_id}</dd>
            <dt>Attempts</dt>
            <dd>{d.attempts}</dd>
            <dt>First attempt</dt>
            <dd>
              <When at={d.first_attempt_at} />
            </dd>
            <dt>Last failure</dt>
            <dd>
              <When at={d.failed_at} />
            </dd>
            <dt>Event id</dt>
            <dd>
              <code>{d.event_id}</code>
            </dd>
          </dl>
          <h2>Last error</h2>
          <pre>{d.error}</pre>
          {d.event ? (
            <>
              <h2>Event</h2>
              <pre>{JSON.stringify(d.event, null, 2)}</pre>
            </>
          ) : null}
        </>
      ) : null}
    </Page>
  );
}
