// Entry for Node (the "node" export condition): Node's fetch cannot read
// file: URLs, so the module is read from disk and handed to the glue.
import { readFile } from "node:fs/promises";
import init from "./e2ee_wasm.js";

await init({ module_or_path: await readFile(new URL("./e2ee_wasm_bg.wasm", import.meta.url)) });

export { Client, Group, defaultGroupOptions, version } from "./e2ee_wasm.js";
