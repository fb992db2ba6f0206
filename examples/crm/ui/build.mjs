// Builds the plugin's Module Federation remote into ui/dist.
//
//   node ui/build.mjs            (npm run build)     what `plexica plugin build` runs
//   node ui/build.mjs --check    (npm run check-dist) rebuilds into a temporary directory and
//                                                     fails unless it is ui/dist, byte for byte
//
// ui/dist is kept in version control, with what it was built from in ui/dist/.source-hash, so
// that the plugin builds and packages without `npm install` and without network: when vite is
// not installed, ui/dist is used as it is if it was built from the current sources, and the
// build fails, saying to run `npm install`, if it was not.

import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";

import { readPlugin, root } from "./plugin.mjs";

/** Where the remote is built (plexica.toml's `frontend.dist`). */
export const dist = join(root, "ui", "dist");

/** The record of what a dist was built from, inside it (dotfiles are not packaged). */
const RECORD = ".source-hash";

/** An error to show as `error:` and `help:` lines. */
class Failure extends Error {
  constructor(message, help) {
    super(message);
    this.help = help;
  }
}

/** Every file under `dir`, as sorted `/`-separated relative paths. */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
}

/**
 * The hash of everything a build of the plugin depends on except the plugin id:
 * ui/src, the build configuration, the locked dependencies (without the lockfile's root
 * entry, which holds the package name) and the manifest's module names. None of it holds the
 * plugin's name or id, so a plugin made from a template hashes as the template does.
 */
function sourceHash() {
  const hash = createHash("sha256");
  const add = (label, text) => {
    // Line endings as git may check them out on Windows do not make the sources different.
    const bytes = Buffer.from(text.replaceAll("\r\n", "\n"));
    hash.update(`${label}\0${bytes.length}\0`).update(bytes);
  };
  const read = (path) => readFileSync(join(root, path), "utf8");
  for (const file of filesUnder(join(root, "ui", "src"))) {
    add(`ui/src/${file}`, read(join("ui", "src", file)));
  }
  add("ui/vite.config.js", read(join("ui", "vite.config.js")));
  add("ui/plugin.mjs", read(join("ui", "plugin.mjs")));
  const lock = existsSync(join(root, "package-lock.json"))
    ? JSON.parse(read("package-lock.json")).packages
    : null;
  delete lock?.[""];
  add("package-lock.json", JSON.stringify(lock));
  add("modules", JSON.stringify(readPlugin().modules));
  return `sha256:${hash.digest("hex")}`;
}

/** The record of ui/dist, or null when it has none. */
function readRecord() {
  const path = join(dist, RECORD);
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : null;
}

function writeRecord(distDir, plugin) {
  const record = { plugin: plugin.id, sources: sourceHash() };
  writeFileSync(join(distDir, RECORD), `${JSON.stringify(record, null, 2)}\n`);
}

/** Why the prebuilt ui/dist is not what the sources build to, or null when it is. */
export function staleness(plugin) {
  if (!existsSync(join(dist, "remoteEntry.js"))) {
    return "ui/dist has no remoteEntry.js";
  }
  const record = readRecord();
  if (!record) {
    return `ui/dist has no ${RECORD} saying what it was built from`;
  }
  if (record.plugin !== plugin.id) {
    return `ui/dist was built for the plugin id \`${record.plugin}\`, not \`${plugin.id}\``;
  }
  if (record.sources !== sourceHash()) {
    return "ui/src, the build configuration, the dependencies or the frontend modules of plexica.toml changed since ui/dist was built";
  }
  return null;
}

function viteInstalled() {
  return existsSync(join(root, "node_modules", "vite", "package.json"));
}

async function viteBuild(outDir, plugin) {
  const { build } = await import("vite");
  await build({
    configFile: join(root, "ui", "vite.config.js"),
    logLevel: "warn",
    build: { outDir },
  });
  writeRecord(outDir, plugin);
}

/** The paths that differ between two built remotes. */
function differences(a, b) {
  const left = filesUnder(a);
  const right = filesUnder(b);
  const all = [...new Set([...left, ...right])].sort();
  return all.filter((file) => {
    if (!left.includes(file) || !right.includes(file)) {
      return true;
    }
    return !readFileSync(join(a, file)).equals(readFileSync(join(b, file)));
  });
}

async function check(plugin) {
  if (!viteInstalled()) {
    throw new Failure("--check rebuilds the remote, and vite is not installed", "run `npm ci`");
  }
  const out = mkdtempSync(join(tmpdir(), "plexica-ui-"));
  try {
    await viteBuild(out, plugin);
    const changed = differences(dist, out);
    if (changed.length > 0) {
      throw new Failure(
        `ui/dist is not what ui/src builds to; these differ:\n${changed.map((f) => `  ${f}`).join("\n")}`,
        "run `npm run build` and keep the new ui/dist",
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  console.error("ui/dist is what ui/src builds to");
}

async function main(args) {
  const plugin = readPlugin();
  if (args.includes("--check")) {
    return check(plugin);
  }
  if (viteInstalled()) {
    await viteBuild(dist, plugin);
    console.error(`built ui/dist (Module Federation remote \`${plugin.id}\`)`);
    return;
  }
  const problem = staleness(plugin);
  if (problem) {
    throw new Failure(`${problem}, and vite is not installed to rebuild it`, "run `npm install`, then build again");
  }
  console.error("using the prebuilt ui/dist; run npm install to rebuild from ui/src");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`error: ${e.message}`);
    if (e.help) {
      console.error(`help: ${e.help}`);
    }
    process.exitCode = 1;
  });
}
