// The built remote in ui/dist, as `plexica plugin build` packages it, checked against
// plexica.toml. Runs without `npm install`: `node --test ui/test` (or `npm test`).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { dist, staleness } from "../build.mjs";
import { readPlugin } from "../plugin.mjs";

const plugin = readPlugin();
const entry = join(dist, "remoteEntry.js");

test("ui/dist is built from the current sources, for this plugin", () => {
  assert.equal(staleness(plugin), null, "run `npm run build`");
});

test("remoteEntry.js is an ES module container named after the plugin", async () => {
  const container = await import(pathToFileURL(entry).href);
  assert.equal(typeof container.init, "function");
  assert.equal(typeof container.get, "function");
  // The Module Federation runtime keeps the container's name as a string literal.
  assert.ok(readFileSync(entry, "utf8").includes(`\`${plugin.id}\``), `named ${plugin.id}`);
});

test("every module of plexica.toml is exposed and default-exports a component", async () => {
  assert.ok(plugin.modules.length > 0, "plexica.toml declares [[frontend.modules]]");
  const container = await import(pathToFileURL(entry).href);
  // An empty share scope: the remote falls back to the React bundled with it.
  await container.init({});
  for (const name of plugin.modules) {
    const factory = await container.get(`./${name}`);
    const component = factory().default;
    assert.equal(typeof component, "function", `./${name} default-exports a function`);
  }
  await assert.rejects(container.get("./NotAModule"));
});
