import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The console is served by the core server from its embedded copy of `dist/`:
// `index.html` at every console route, hashed files under `/_console/`.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    assetsDir: "_console",
    // Every supported browser preloads modules natively; the polyfill would only add bytes.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
