// The package's size target: the .wasm at most 200 KiB gzipped, measured as
// the issue measures it (`gzip -9 -c pkg/e2ee_wasm_bg.wasm | wc -c`).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { test } from "node:test";

const wasm = new URL("../pkg/e2ee_wasm_bg.wasm", import.meta.url).pathname;

test("the .wasm is at most 200 KiB gzipped (gzip -9)", () => {
  const gzipped = execFileSync("gzip", ["-9", "-c", wasm]).length;
  console.log(`e2ee_wasm_bg.wasm: ${statSync(wasm).size} B, gzip -9 ${gzipped} B (limit ${200 * 1024} B)`);
  assert.ok(gzipped <= 200 * 1024, `${gzipped} B gzipped, over 200 KiB`);
});
