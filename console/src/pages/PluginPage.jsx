import { ModuleSlot } from "../components/ModuleSlot.jsx";
import { Page } from "../components/Page.jsx";

/** A plugin's page (`kind = "page"`) at its route, titled with its menu label. */
export function PluginPage({ plugin, module }) {
  return (
    <Page title={module.menu?.label || module.name}>
      <div className="plugin-page">
        <ModuleSlot plugin={plugin} module={module} />
      </div>
    </Page>
  );
}
