// The plugin's page: routed by the console at the `route` of its [[frontend.modules]] entry,
// with a sidebar menu entry. The console renders it as `<HomePage host={host} />` under a
// heading of its own (the menu label), so the page's headings start at h2.

import { useEffect, useState } from "react";

import { fetchGreeting } from "./backend.js";

export default function HomePage({ host }) {
  const [greeting, setGreeting] = useState({ state: "loading" });
  const [clicks, setClicks] = useState(0);

  // Asked again when the console shows the page for another tenant or workspace (not on
  // every render: `host` need not be the same object each time).
  const workspace = host.workspace?.slug;
  useEffect(() => {
    let current = true;
    fetchGreeting(host).then((answer) => current && setGreeting(answer));
    return () => {
      current = false;
    };
  }, [host.tenant.slug, workspace]);

  return (
    <section data-plugin={host.plugin.id}>
      <h2>Hello, {host.user.name}</h2>
      <p>
        This page belongs to the <code>{host.plugin.id}</code> plugin ({host.plugin.version}),
        shown in {host.tenant.name}
        {host.workspace ? `, workspace ${host.workspace.name}` : ""}.
      </p>
      <p data-testid="greeting">{describe(greeting)}</p>
      <button type="button" onClick={() => setClicks((n) => n + 1)}>
        Clicked {clicks} {clicks === 1 ? "time" : "times"}
      </button>{" "}
      <button type="button" onClick={() => host.navigate("/")}>
        Back to the dashboard
      </button>
    </section>
  );
}

function describe(greeting) {
  switch (greeting.state) {
    case "loading":
      return "Asking the backend…";
    case "ok":
      return `The backend says: ${greeting.message}`;
    case "none":
      return "This plugin has no backend (no greetings service).";
    default:
      return `The backend could not be reached: ${greeting.message}`;
  }
}
