import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// @e2ee/core initialises itself with top-level await (es2022) and finds its
// .wasm with new URL(..., import.meta.url), which pre-bundling would break.
export default defineConfig({
  plugins: [svelte()],
  build: { target: "es2022" },
  optimizeDeps: { exclude: ["@e2ee/core"] },
  server: {
    // The package is linked from e2ee-wasm/pkg, outside this directory; the
    // dev server must be allowed to serve its .wasm from there.
    fs: { allow: [".", "../../e2ee-wasm/pkg"] },
    // `npm run dev` talks to a reference server on :8080 (see README).
    proxy: { "/v1": { target: "http://127.0.0.1:8080", ws: true } },
  },
});
