import { Suspense } from "react";
import { ErrorBoundary } from "../components/ErrorBoundary.jsx";
import { Alert, ErrorCard, Loading } from "../components/ErrorCard.jsx";
import { useConsole } from "../console.jsx";
import { Dashboard } from "../pages/Dashboard.jsx";
import { NotFound } from "../pages/NotFound.jsx";
import { PluginPage } from "../pages/PluginPage.jsx";
import { consoleRoutes, findPluginPage } from "../routes.js";
import { match, useLocation } from "../router.jsx";

/** The page for the current path: the console's own pages first, then plugin pages. */
export function Main() {
  const { path } = useLocation();
  const { me, plugins, pluginsLoading, pluginsError } = useConsole();
  const problem = pluginsError ? (
    <Alert>{`Plugin modules could not be loaded: ${pluginsError.message}`}</Alert>
  ) : null;

  if (path === "/") {
    return (
      <>
        {problem}
        <Dashboard />
      </>
    );
  }
  for (const route of consoleRoutes) {
    const params = match(route.path, path);
    if (!params) continue;
    if (!route.allowed(me)) return <NotFound />;
    const Page = route.page;
    return (
      <ErrorBoundary
        key={path}
        fallback={(error) => <ErrorCard title="This page could not be shown" message={error.message} />}
      >
        <Suspense fallback={<Loading />}>
          <Page params={params} />
        </Suspense>
      </ErrorBoundary>
    );
  }
  const hit = findPluginPage(plugins, path);
  if (hit) return <PluginPage key={`${hit[0].id}/${hit[1].name}`} plugin={hit[0]} module={hit[1]} />;
  if (pluginsLoading) return <Loading />;
  return (
    <>
      {problem}
      <NotFound />
    </>
  );
}
