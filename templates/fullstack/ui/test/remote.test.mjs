// Builds the remote into a temporary directory and loads it the way a host does.
// Run with `node --test ui/test` (or `npm test`).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";

import { build, exposes } from "../build.mjs";

let out;
let container;

before(async () => {
  out = mkdtempSync(join(tmpdir(), "{{plugin_id}}-ui-"));
  container = await import(pathToFileURL(build(out)).href);
  await container.init({});
});

after(() => rmSync(out, { recursive: true, force: true }));

/** Just enough of the DOM for a module to render into. */
function fakeDocument() {
  const doc = {
    createElement(tagName) {
      const node = {
        tagName: tagName.toUpperCase(),
        ownerDocument: doc,
        textContent: "",
        children: [],
        parent: null,
        append(...children) {
          for (const child of children) {
            child.parent = node;
            node.children.push(child);
          }
        },
        remove() {
          if (node.parent) {
            node.parent.children = node.parent.children.filter((c) => c !== node);
          }
        },
      };
      return node;
    },
  };
  return doc;
}

test("the container exposes every module of the manifest", async () => {
  const manifest = readFileSync(new URL("../../plexica.toml", import.meta.url), "utf8");
  const names = manifest
    .split("[[frontend.modules]]")
    .slice(1)
    .map((section) => section.match(/^name\s*=\s*"([^"]+)"/m)?.[1]);
  assert.ok(names.length > 0, "plexica.toml declares frontend modules");
  for (const name of names) {
    assert.ok(Object.hasOwn(exposes, `./${name}`), `${name} is in exposes of ui/build.mjs`);
    const factory = await container.get(`./${name}`);
    assert.equal(typeof factory, "function");
    assert.equal(typeof factory().default, "function", `${name} has a default export`);
  }
});

test("the page mounts and unmounts", async () => {
  const { mount } = (await container.get("HomePage"))();
  const root = fakeDocument().createElement("div");
  const unmount = mount(root, { tenant: "acme", workspace: "sales" });
  const [section] = root.children;
  assert.equal(section.children[0].textContent, "{{plugin_name}}");
  assert.match(section.children[1].textContent, /workspace sales/);
  unmount();
  assert.equal(root.children.length, 0);
});

test("unknown modules and bad share scopes are rejected", async () => {
  await assert.rejects(container.get("./Missing"), /not exposed/);
  await assert.rejects(container.init(null), TypeError);
});
