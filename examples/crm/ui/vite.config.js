// The Module Federation remote: named after the plugin id, exposing every
// `[[frontend.modules]]` of plexica.toml, with React shared with the Plexica console (the host).
// Run through `node ui/build.mjs` (npm run build), which also records what it was built from.

import { federation } from "@module-federation/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

import { exposes, readPlugin } from "./plugin.mjs";

const plugin = readPlugin();

// Module Federation derives file names and internal keys from the remote's name. The bundle is
// made under a fixed name, kept out of the file names, and the plugin id is written in where
// the name is, after the file names are hashed: the output is the same for every plugin id but
// for the id itself, so the prebuilt ui/dist of a plugin made from the template is byte for
// byte what its own build gives. (Letters only: Module Federation writes it unencoded.)
const BUILD_NAME = "plexicaremotename";

/** Writes the plugin id where the bundle names the remote. */
const remoteName = {
  name: "plexica:remote-name",
  enforce: "post",
  generateBundle(_, bundle) {
    for (const file of Object.values(bundle)) {
      if (file.type === "chunk") {
        file.code = file.code.replaceAll(BUILD_NAME, plugin.id);
      }
    }
  },
};

export default defineConfig({
  root: import.meta.dirname,
  // The console serves the files under /plugins/<id>/<version>/: every URL stays relative.
  base: "./",
  plugins: [
    react(),
    federation({
      name: BUILD_NAME,
      filename: "remoteEntry.js",
      exposes: exposes(plugin.modules),
      // The console provides React; the copy bundled here is loaded only by a host that does not.
      shared: { react: { singleton: true, requiredVersion: "^19.0.0" } },
      dts: false,
      // A plugin's remote loads no remotes itself: the runtime's support for remotes and
      // snapshots is left out (24 kB of the 108 kB the browser would load).
      disableRemote: true,
      disableSnapshot: true,
    }),
    remoteName,
  ],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No HTML page: the remote entry is the only entry.
    rolldownOptions: {
      input: {},
      output: {
        chunkFileNames: (chunk) => `assets/${chunk.name.replaceAll(BUILD_NAME, "remote")}-[hash].js`,
      },
    },
  },
});
