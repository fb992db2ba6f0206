import { Page } from "../components/Page.jsx";
import { Link } from "../router.jsx";

/** No page here, or none this user may open. */
export function NotFound() {
  return (
    <Page title="Page not found">
      <p>There is no page at this address, or you may not open it.</p>
      <p>
        <Link to="/">Back to the dashboard</Link>
      </p>
    </Page>
  );
}
