// What the frontend build needs from plexica.toml: the plugin id (the Module Federation name)
// and the `[[frontend.modules]]` names (each exposed as `./<name>` from `ui/src/<name>.jsx`).
// Read with two patterns instead of a TOML parser, so that it works without `npm install`.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The plugin directory (the one holding plexica.toml). */
export const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** `{ id, modules }` of the manifest in `dir`. */
export function readPlugin(dir = root) {
  const manifest = readFileSync(join(dir, "plexica.toml"), "utf8");
  // Each table's text, from its header line to the next header line.
  const tables = manifest.split(/^(?=\[)/m);
  const header = (table) => table.split("\n")[0].trim();
  const plugin = tables.find((t) => header(t) === "[plugin]");
  const id = plugin?.match(/^id\s*=\s*"([^"]+)"/m)?.[1];
  if (!id) {
    throw new Error("plexica.toml has no [plugin] id");
  }
  const modules = tables.filter((t) => header(t) === "[[frontend.modules]]");
  const names = modules.map((table, i) => {
    const name = table.match(/^name\s*=\s*"([^"]+)"/m)?.[1];
    if (!name) {
      throw new Error(`[[frontend.modules]] #${i + 1} of plexica.toml has no name`);
    }
    return name;
  });
  return { id, modules: names };
}

/** The exposes of the remote: `./<name>` → its source, relative to `ui/`. */
export function exposes(modules) {
  return Object.fromEntries(modules.map((name) => [`./${name}`, `./src/${name}.jsx`]));
}
