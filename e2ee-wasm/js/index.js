// Entry for browsers, Web Workers and bundlers: the glue fetches
// e2ee_wasm_bg.wasm from beside this file (new URL(..., import.meta.url)).
// Top-level await: importing the package is enough, no init() call needed.
import init from "./e2ee_wasm.js";

await init();

export { Client, Group, defaultGroupOptions, version } from "./e2ee_wasm.js";
